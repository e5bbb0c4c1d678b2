// policy/: choosing which of a repository's tags to deploy: exclusions, the include pattern and its extracted key (RE2), and the semver, alphabetical and numerical orders.
//   tag-policy.ts        an Image's policy, compiled once: candidates newest first, or what was left out
//   tag-filter.ts        exclusions, filterTags.pattern and extract, on re2js (linear time)
//   tag-order.ts         the semver, alphabetical and numerical orders, after Flux's
//   spec-error.ts        a pattern or range the controller cannot run
export { PolicySpecError } from './spec-error.js';
export { DEFAULT_EXCLUSIONS } from './tag-filter.js';
export { TagPolicy, type TagPolicySpec, type TagSelection } from './tag-policy.js';
