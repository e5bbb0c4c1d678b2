import { describe, expect, it } from 'vitest';
import { DIGEST_A, makeImage } from '../testing/images.js';
import { imageKey, newRecord, parseSpec, refreshRecord } from './image-record.js';

describe('ImageRecord', () => {
  it('parses the spec once per generation: a status echo keeps the parsed spec, a spec change parses again', () => {
    const image = makeImage('demo');
    const record = newRecord(image, 10_000);
    const parsed = record.spec;
    expect(parsed).toMatchObject({ valid: true, intervalMs: 10_000, suspended: false });

    const echo = { ...image, metadata: { ...image.metadata, resourceVersion: '2' }, status: { digest: DIGEST_A } };
    expect(refreshRecord(record, echo, 10_000)).toBe(false);
    expect(record.spec).toBe(parsed);
    expect(record.image).toBe(echo);

    const changed = { ...echo, metadata: { ...echo.metadata, generation: 2 }, spec: { ...echo.spec, interval: '1m' } };
    expect(refreshRecord(record, changed, 10_000)).toBe(true);
    expect(record.spec).not.toBe(parsed);
    expect(record.spec.intervalMs).toBe(60_000);
  });

  it.each([
    [{ interval: 'soon' }, 'spec.interval "soon" is not a duration; write e.g. 10s or 1m30s'],
    [{ interval: '500ms' }, 'spec.interval 500ms is outside 1s…24h; choose a value in that range'],
    [{ image: `localhost:5000/apps/demo@${DIGEST_A}` }, expect.stringContaining('digest')],
  ])('an invalid spec %o says why', (spec, invalid) => {
    expect(parseSpec(makeImage('demo', spec), 10_000)).toMatchObject({ valid: false, invalid, intervalMs: 10_000 });
  });

  it('keys by namespace/name, reading a missing namespace as default everywhere', () => {
    const image = makeImage('demo');
    delete image.metadata.namespace;
    expect(imageKey(image)).toBe('default/demo');
  });
});
