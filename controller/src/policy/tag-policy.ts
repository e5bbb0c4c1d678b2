/**
 * An Image's tag policy, compiled once per generation: the listed tags go through the filter
 * (exclusions, then `filterTags.pattern` and `extract`) and the order, and come out as candidates,
 * newest first, or as a summary of why none qualified.
 */
import { TagFilter, type TagFilterSpec } from './tag-filter.js';
import { TagOrder, type OrderSpec } from './tag-order.js';

export interface TagPolicySpec {
  policy: OrderSpec;
  filterTags?: Omit<TagFilterSpec, 'exclusionList'>;
  exclusionList?: readonly string[];
}

export interface TagSelection {
  /** Tags to deploy, newest first. */
  candidates: string[];
  /** What was seen, for a condition: `120 tags listed: 3 excluded, 10 not matching filterTags.pattern, 107 outside semver range >=1.0.0 <2`. */
  summary: string;
}

export class TagPolicy {
  readonly #filter: TagFilter;
  readonly #order: TagOrder;

  /** Throws a PolicySpecError for a pattern or range that cannot be run. */
  constructor(spec: TagPolicySpec) {
    this.#filter = new TagFilter({ ...spec.filterTags, exclusionList: spec.exclusionList });
    this.#order = new TagOrder(spec.policy);
  }

  /** What the policy asks for, for messages. */
  describe(): string {
    return this.#order.describe();
  }

  select(tags: readonly string[]): TagSelection {
    const filtered = this.#filter.apply(tags);
    const ordered = this.#order.order(filtered.kept);
    const parts = [
      filtered.excluded && `${filtered.excluded} excluded`,
      filtered.unmatched && `${filtered.unmatched} not matching filterTags.pattern`,
      ordered.rejected && `${ordered.rejected} outside ${this.describe()}`,
    ].filter(Boolean);
    return {
      candidates: ordered.newestFirst.map((entry) => entry.tag),
      summary: `${tags.length} tags listed${parts.length ? `: ${parts.join(', ')}` : ''}`,
    };
  }
}
