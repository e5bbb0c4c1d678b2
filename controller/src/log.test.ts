import { describe, expect, it } from 'vitest';
import { isLogLevel } from './defaults.js';
import { createLogger } from './log.js';

describe('createLogger', () => {
  const lines = (level?: 'debug' | 'info' | 'warn' | 'error') => {
    const written: string[] = [];
    const log = createLogger({ level, write: (line) => void written.push(line), now: () => new Date('2025-01-01T00:00:00Z') });
    return { log, read: () => written.map((line) => JSON.parse(line)) };
  };

  it('writes one JSON object per line with level, time, msg, bound fields and the call fields', () => {
    const { log, read } = lines();
    log.with({ namespace: 'default', image: 'demo' }).warn('could not patch Image status', { code: 403 });
    expect(read()).toEqual([{ level: 'warn', time: '2025-01-01T00:00:00.000Z', msg: 'could not patch Image status', namespace: 'default', image: 'demo', code: 403 }]);
  });

  it('drops lines below its level', () => {
    const { log, read } = lines('warn');
    log.debug('a');
    log.info('b');
    log.warn('c');
    log.error('d');
    expect(read().map((line) => line.msg)).toEqual(['c', 'd']);
  });

  it.each([
    ['info', true],
    ['error', true],
    ['toString', false],
    ['constructor', false],
    ['trace', false],
  ])('isLogLevel(%s) is %s', (value, expected) => expect(isLogLevel(value)).toBe(expected));
});
