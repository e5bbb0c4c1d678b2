import { describe, expect, it } from 'vitest';
import { PolicySpecError } from './spec-error.js';
import { expand } from './tag-filter.js';
import { TagPolicy, type TagPolicySpec } from './tag-policy.js';

const cosign = `sha256-${'a'.repeat(64)}`;
const newest = (spec: TagPolicySpec, tags: string[]) => new TagPolicy(spec).select(tags).candidates;

// Flux image-reflector-controller's policy tests are the reference for these orders.
describe('semver', () => {
  it.each<[string, string[], string[]]>([
    ['>=1.0.0 <2', ['1.2.0', '1.3.0', '2.0.0', '0.9.0'], ['1.3.0', '1.2.0']],
    ['5.1.x', ['5.0.3', '5.1.0', '5.1.7', '5.2.0'], ['5.1.7', '5.1.0']],
    ['^1.2.3', ['1.2.2', '1.2.3', '1.9.0', '2.0.0'], ['1.9.0', '1.2.3']],
    ['~1.2.3', ['1.2.3', '1.2.9', '1.3.0'], ['1.2.9', '1.2.3']],
    // A leading v is a version; partial versions, leading zeros and other tags are not.
    ['>=1.0.0', ['v1.4.0', '1.3.0', '1.5', 'latest', '01.9.0', 'v1.4.1-rc.1'], ['v1.4.0', '1.3.0']],
    // Pre-releases only when the range names one for the same version (npm's semver; see README).
    ['>=1.4.0-rc.0 <2', ['1.4.0-rc.1', '1.4.0-rc.2', '1.5.0-rc.1', '1.3.0'], ['1.4.0-rc.2', '1.4.0-rc.1']],
    // Build metadata does not order; ties go to the tag that sorts last.
    ['>=1', ['1.0.0', '1.0.0+build.2', 'v1.0.0'], ['v1.0.0', '1.0.0+build.2', '1.0.0']],
    // Masterminds/semver's comma means "and", as in Flux.
    ['>=1.0.0, <2.0.0', ['1.9.9', '2.0.0'], ['1.9.9']],
    ['>=3', ['1.0.0', '2.0.0'], []],
  ])('range %s over %j → %j', (range, tags, expected) => {
    expect(newest({ policy: { semver: { range } } }, tags)).toEqual(expected);
  });

  it('refuses a range npm semver cannot read, with its reason', () => {
    expect(() => new TagPolicy({ policy: { semver: { range: '>=1.0.0 <<2' } } })).toThrow(PolicySpecError);
    expect(() => new TagPolicy({ policy: { semver: { range: 'not a range' } } })).toThrow(/spec\.policy\.semver\.range "not a range" is not a semver range/);
  });
});

describe('alphabetical and numerical', () => {
  it.each<[TagPolicySpec['policy'], string[], string[]]>([
    [{ alphabetical: {} }, ['a', 'c', 'b'], ['c', 'b', 'a']],
    [{ alphabetical: { order: 'asc' } }, ['RELEASE.2023-01-31', 'RELEASE.2024-06-01', 'RELEASE.2023-12-24'], ['RELEASE.2024-06-01', 'RELEASE.2023-12-24', 'RELEASE.2023-01-31']],
    [{ alphabetical: { order: 'desc' } }, ['a', 'c', 'b'], ['a', 'b', 'c']],
    // Byte order, as Go's sort.Strings: upper case before lower case, "10" before "9".
    [{ alphabetical: {} }, ['B', 'a', '10', '9'], ['a', 'B', '9', '10']],
    [{ numerical: {} }, ['9', '10', '1.5', '100'], ['100', '10', '9', '1.5']],
    [{ numerical: { order: 'desc' } }, ['9', '10', '1.5'], ['1.5', '9', '10']],
    // Not numbers: left out (Flux fails the policy), so `latest` does not stop updates.
    [{ numerical: {} }, ['latest', '3', '1e3', 'NaN', 'Infinity', '0x10', '12'], ['1e3', '12', '3']],
    [{ numerical: {} }, ['1', '1.0', '01'], ['1.0', '1', '01']],
  ])('%j over %j → %j', (policy, tags, expected) => {
    expect(newest({ policy }, tags)).toEqual(expected);
  });
});

describe('filters', () => {
  it("excludes cosign's signature, attestation and SBOM tags by default, and nothing else", () => {
    const tags = [`${cosign}.sig`, `${cosign}.att`, `${cosign}.sbom`, 'release.sig', '1.0.0'];
    expect(newest({ policy: { alphabetical: {} } }, tags)).toEqual(['release.sig', '1.0.0']);
    expect(new TagPolicy({ policy: { alphabetical: {} } }).select(tags).summary).toBe('5 tags listed: 3 excluded');
  });

  it('an exclusion list replaces the default', () => {
    expect(newest({ policy: { alphabetical: {} }, exclusionList: ['^dev-'] }, ['dev-9', `${cosign}.sig`, 'main-1'])).toEqual([`${cosign}.sig`, 'main-1']);
  });

  it.each<[TagPolicySpec, string[], string[]]>([
    // Flux's documented use: the newest main-<sha>-<timestamp> build by its timestamp.
    [
      { policy: { numerical: {} }, filterTags: { pattern: '^main-[a-f0-9]+-(?P<ts>[0-9]+)$', extract: '$ts' } },
      ['main-abc123-1700000200', 'main-def456-1700000100', 'feature-x-1800000000', 'main-9-170'],
      ['main-abc123-1700000200', 'main-def456-1700000100', 'main-9-170'],
    ],
    [{ policy: { semver: { range: '>=1' } }, filterTags: { pattern: '^app-(v.*)$', extract: '$1' } }, ['app-v1.2.0', 'app-v1.10.0', 'v9.0.0'], ['app-v1.10.0', 'app-v1.2.0']],
    [{ policy: { alphabetical: {} }, filterTags: { pattern: '^(?<stage>rc|ga)-(?<n>\\d+)$', extract: '${n}' } }, ['rc-2', 'ga-1', 'x'], ['rc-2', 'ga-1']],
    // No extract: the pattern filters and the whole tag orders.
    [{ policy: { alphabetical: {} }, filterTags: { pattern: 'stable' } }, ['1-stable', '2-beta', '0-stable'], ['1-stable', '0-stable']],
  ])('%j', (spec, tags, expected) => {
    expect(newest(spec, tags)).toEqual(expected);
  });

  it('summarizes what was left out and why', () => {
    const policy = new TagPolicy({ policy: { semver: { range: '>=1.0.0 <2' } }, filterTags: { pattern: '^v?\\d' } });
    expect(policy.select([`${cosign}.sig`, 'latest', '2.0.0', '0.1.0', '1.1.0']).summary).toBe(
      '5 tags listed: 1 excluded, 1 not matching filterTags.pattern, 2 outside semver range >=1.0.0 <2',
    );
  });

  it.each([
    ['(a)\\1', 'spec.filterTags.pattern', 'invalid escape sequence'],
    ['(?=lookahead)', 'spec.filterTags.pattern', 'Perl syntax'],
    ['a{1001}', 'spec.filterTags.pattern', 'invalid repeat count'],
  ])('refuses %s, which RE2 cannot run, naming the field and the reason', (pattern, field, reason) => {
    const build = () => new TagPolicy({ policy: { alphabetical: {} }, filterTags: { pattern } });
    expect(build).toThrow(PolicySpecError);
    expect(build).toThrow(field);
    expect(build).toThrow(reason);
  });

  it('refuses a bad exclusion, naming which', () => {
    expect(() => new TagPolicy({ policy: { alphabetical: {} }, exclusionList: ['ok', '(unclosed'] })).toThrow('spec.exclusionList[1]');
  });

  it('runs a catastrophic-backtracking pattern over long tags to the end (a backtracking engine would not finish)', () => {
    const tags = Array.from({ length: 200 }, (_, i) => `${'a'.repeat(100 + i)}!`);
    const selection = new TagPolicy({ policy: { alphabetical: {} }, filterTags: { pattern: '^(a+)+$' } }).select(tags);
    expect(selection.candidates).toEqual([]);
    expect(selection.summary).toBe('200 tags listed: 200 not matching filterTags.pattern');
  });
});

describe('expand (Go template syntax)', () => {
  const groups: Record<string, string> = { 1: 'one', ts: '17', name_2: 'n2' };
  it.each([
    ['$1', 'one'],
    ['${1}x', 'onex'],
    ['$1x', ''], // Go takes "1x" as the name, which no group has
    ['$ts-$name_2', '17-n2'],
    ['$$1', '$1'],
    ['$missing', ''],
    ['plain', 'plain'],
  ])('%s → %s', (template, expected) => {
    expect(expand(template, (name) => groups[name] ?? '')).toBe(expected);
  });
});
