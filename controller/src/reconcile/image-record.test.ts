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
    [{ image: 'localhost:5000/apps/demo:1.0.0', policy: { semver: { range: '>=1' } } }, expect.stringContaining('names a tag, but spec.policy chooses the tag')],
    [{ policy: { semver: { range: '>=1 <<2' } } }, expect.stringContaining('is not a semver range')],
    [{ policy: { alphabetical: {} }, filterTags: { pattern: '(?<=x)y' } }, expect.stringContaining('spec.filterTags.pattern')],
    [{ policy: { alphabetical: {}, numerical: {} } }, 'spec.policy must choose exactly one of semver, alphabetical or numerical (it has alphabetical, numerical)'],
  ])('an invalid spec %o says why', (spec, invalid) => {
    expect(parseSpec(makeImage('demo', spec), 10_000)).toMatchObject({ valid: false, invalid, intervalMs: 10_000 });
  });

  it('compiles a policy once, with the repository as the reference and spec.maxTags kept for the resolver', () => {
    const spec = parseSpec(makeImage('demo', { image: 'localhost:5000/apps/demo', policy: { semver: { range: '>=1' } }, maxTags: 50 }), 10_000);
    expect(spec).toMatchObject({ valid: true, maxTags: 50 });
    expect(spec.valid && spec.policy?.describe()).toBe('semver range >=1');
    expect(parseSpec(makeImage('demo'), 10_000)).not.toHaveProperty('policy');
  });

  it('keys by namespace/name, reading a missing namespace as default everywhere', () => {
    const image = makeImage('demo');
    delete image.metadata.namespace;
    expect(imageKey(image)).toBe('default/demo');
  });
});
