// policy/: choosing which of a repository's tags to deploy: exclusions, the include pattern and its extracted key (RE2), and the semver, alphabetical and numerical orders.
export { PolicySpecError } from './spec-error.js';
export { DEFAULT_EXCLUSIONS } from './tag-filter.js';
export { TagPolicy, type TagPolicySpec, type TagSelection } from './tag-policy.js';
