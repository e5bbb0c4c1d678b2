/**
 * Which listed tags an Image considers, and the value each is ordered by: tags matching an exclusion
 * pattern are dropped, then tags must match `filterTags.pattern`, and `filterTags.extract` (Go's
 * template syntax, as Flux uses it: `$1`, `$name`, `${name}`) turns each into its sort key.
 *
 * The patterns are a tenant's and run over thousands of tags on the event loop every Image shares, so
 * they run on re2js, a port of RE2: matching takes time linear in the tag, whatever the pattern (no
 * catastrophic backtracking). The price is RE2's syntax: no backreferences and no lookaround, which
 * are refused with the parser's reason.
 */
import { RE2JS } from 're2js';
import { PolicySpecError } from './spec-error.js';

/**
 * Cosign's signature, attestation and SBOM tags (`sha256-<digest>.sig`, `.att`, `.sbom`): never a
 * release. Flux excludes `^.*\.sig$` by default; this is narrower, so a release tag that merely ends in
 * `.sig` is still considered.
 */
export const DEFAULT_EXCLUSIONS: readonly string[] = ['^sha256-[a-f0-9]{64}\\.(?:sig|att|sbom)$'];

/** A tag that passed the filter, with the value the policy orders it by. */
export interface FilteredTag {
  tag: string;
  key: string;
}

export interface FilterResult {
  kept: FilteredTag[];
  /** Tags dropped by an exclusion pattern. */
  excluded: number;
  /** Tags that do not match `filterTags.pattern`. */
  unmatched: number;
}

export interface TagFilterSpec {
  exclusionList?: readonly string[];
  pattern?: string;
  extract?: string;
}

/** Throws a PolicySpecError, naming the field and the parser's reason, for a pattern the engine refuses. */
export class TagFilter {
  readonly #exclusions: RE2JS[];
  readonly #pattern?: RE2JS;
  readonly #extract?: string;

  constructor(spec: TagFilterSpec) {
    this.#exclusions = (spec.exclusionList ?? DEFAULT_EXCLUSIONS).map((pattern, i) => compile(pattern, `spec.exclusionList[${i}]`));
    this.#pattern = spec.pattern === undefined ? undefined : compile(spec.pattern, 'spec.filterTags.pattern');
    this.#extract = spec.extract;
  }

  apply(tags: readonly string[]): FilterResult {
    const result: FilterResult = { kept: [], excluded: 0, unmatched: 0 };
    for (const tag of tags) {
      if (this.#exclusions.some((exclusion) => exclusion.test(tag))) {
        result.excluded++;
        continue;
      }
      if (this.#pattern === undefined) {
        result.kept.push({ tag, key: tag });
        continue;
      }
      const matcher = this.#pattern.matcher(tag);
      if (!matcher.find()) {
        result.unmatched++;
        continue;
      }
      result.kept.push({ tag, key: this.#extract === undefined ? tag : expand(this.#extract, (group) => groupValue(this.#pattern!, matcher, group)) });
    }
    return result;
  }
}

function compile(pattern: string, field: string): RE2JS {
  try {
    return RE2JS.compile(pattern);
  } catch (error) {
    throw new PolicySpecError(`${field} ${JSON.stringify(pattern)} is not a pattern the controller can run (RE2 syntax: no backreferences or lookaround): ${(error as Error).message}`);
  }
}

type Matcher = ReturnType<RE2JS['matcher']>;

/** The text of group `name` (a number or a group's name), or '' when there is no such group or it did not take part. */
function groupValue(pattern: RE2JS, matcher: Matcher, name: string): string {
  const index = /^\d+$/.test(name) ? Number(name) : pattern.namedGroups()[name];
  if (index === undefined || index > pattern.groupCount()) return '';
  return matcher.group(index) ?? '';
}

/**
 * Go's `Regexp.Expand` template: `$$` is a `$`; `$name` takes the longest run of letters, digits and
 * `_` as the name, `${name}` delimits it; a name that is all digits is a group's number.
 */
export function expand(template: string, group: (name: string) => string): string {
  return template.replace(/\$(?:\$|\{(\w+)\}|(\w+))/g, (whole, braced: string | undefined, bare: string | undefined) =>
    whole === '$$' ? '$' : group((braced ?? bare)!),
  );
}
