/**
 * How tags are ordered to find the newest, following Flux image-reflector-controller's three policies:
 *
 * - semver: strict semantic versions, a leading `v` allowed (`1.2.3`, `v1.2.3-rc.1`; not `1.2`), kept
 *   when in the range, newest first by semver precedence. Ranges are the `semver` package's (npm's),
 *   with a comma read as a space (Flux's Masterminds/semver reads `>=1.0, <2` as both).
 * - alphabetical: by the tag's characters; `asc` (the default) takes the last, `desc` the first.
 * - numerical: tags that are decimal numbers (`42`, `1.5`, `1e3`), by value; `asc` takes the largest.
 *   Flux fails the whole policy on one tag that is not a number; here such tags are left out and
 *   counted, so one stray `latest` does not stop every update.
 *
 * Ties (`1.0.0` and `v1.0.0`, `1` and `1.0`) go to the tag that sorts last alphabetically, so the
 * choice never depends on the order the registry listed them in.
 */
import semver from 'semver';
import { PolicySpecError } from './spec-error.js';
import type { FilteredTag } from './tag-filter.js';

export type Order = 'asc' | 'desc';

/** `spec.policy`: exactly one of the three (the CRD's CEL rule says so at apply time; checked again here). */
export interface OrderSpec {
  semver?: { range: string };
  alphabetical?: { order?: Order };
  numerical?: { order?: Order };
}

type OneOrder = { semver: { range: string } } | { alphabetical: { order?: Order } } | { numerical: { order?: Order } };

export interface Ordered {
  /** Tags in order, newest first. */
  newestFirst: FilteredTag[];
  /** Tags whose key the policy cannot order (not a version, not a number), or outside the range. */
  rejected: number;
}

const DECIMAL = /^(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?$/;

/** Throws a PolicySpecError for a range the semver package cannot read. */
export class TagOrder {
  readonly #spec: OneOrder;
  readonly #range?: semver.Range;

  constructor(policy: OrderSpec) {
    const chosen = (['semver', 'alphabetical', 'numerical'] as const).filter((name) => policy[name] !== undefined);
    if (chosen.length !== 1) throw new PolicySpecError(`spec.policy must choose exactly one of semver, alphabetical or numerical (it has ${chosen.join(', ') || 'none'})`);
    const spec = { [chosen[0]!]: policy[chosen[0]!] } as OneOrder;
    this.#spec = spec;
    if ('semver' in spec) {
      try {
        this.#range = new semver.Range(spec.semver.range.replace(/,/g, ' '));
      } catch (error) {
        throw new PolicySpecError(`spec.policy.semver.range ${JSON.stringify(spec.semver.range)} is not a semver range: ${(error as Error).message}`);
      }
    }
  }

  /** What the policy asks for, for messages: `semver range >=1.0.0 <2`. */
  describe(): string {
    if ('semver' in this.#spec) return `semver range ${this.#spec.semver.range}`;
    if ('alphabetical' in this.#spec) return `alphabetical order ${this.#spec.alphabetical.order ?? 'asc'}`;
    return `numerical order ${this.#spec.numerical.order ?? 'asc'}`;
  }

  order(tags: readonly FilteredTag[]): Ordered {
    const byTag = (a: FilteredTag, b: FilteredTag) => (a.tag < b.tag ? 1 : a.tag > b.tag ? -1 : 0);
    if ('semver' in this.#spec) {
      const kept = tags.flatMap((entry) => {
        const version = semver.parse(entry.key);
        return version !== null && this.#range!.test(version) ? [{ entry, version }] : [];
      });
      kept.sort((a, b) => semver.rcompare(a.version, b.version) || byTag(a.entry, b.entry));
      return { newestFirst: kept.map(({ entry }) => entry), rejected: tags.length - kept.length };
    }
    if ('alphabetical' in this.#spec) {
      const direction = this.#spec.alphabetical.order === 'desc' ? -1 : 1;
      const sorted = [...tags].sort((a, b) => direction * (a.key < b.key ? 1 : a.key > b.key ? -1 : 0) || byTag(a, b));
      return { newestFirst: sorted, rejected: 0 };
    }
    const direction = this.#spec.numerical.order === 'desc' ? -1 : 1;
    const kept = tags.flatMap((entry) => (DECIMAL.test(entry.key) && Number.isFinite(Number(entry.key)) ? [{ entry, value: Number(entry.key) }] : []));
    kept.sort((a, b) => direction * (b.value - a.value) || byTag(a.entry, b.entry));
    return { newestFirst: kept.map(({ entry }) => entry), rejected: tags.length - kept.length };
  }
}
