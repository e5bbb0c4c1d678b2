// The synth-time check of a template's `$(…)$` placeholders against what Cartographer will put in its
// templating context for the resource that stamps it (pkg/realizer/context.go in Cartographer
// v0.8.11): the Workload, the params, and the outputs of the resources the chain wires in as inputs.
// Cartographer finds an unprovided placeholder only when it stamps, and then fails that Workload.

/** What a template's placeholders may refer to, as the supply chain wires its resource. */
export interface TemplatingContext {
  /** Params the template declares (each with a default a Workload's param of the same name overrides). */
  readonly params: readonly string[];
  /** Names of the resource's image inputs (`images.<name>.image`). */
  readonly images: readonly string[];
  /** Names of the resource's config inputs (`configs.<name>.config`). */
  readonly configs: readonly string[];
}

/** Who uses the placeholders, for the message. */
export interface TemplateIdentity {
  readonly kind: string;
  readonly template: string;
  readonly resource: string;
  readonly supplyChain: string;
}

/** The fields of a Workload's spec (Cartographer v0.8.11's Workload CRD; a chart test compares them). */
export const WORKLOAD_SPEC_FIELDS = ['build', 'env', 'image', 'params', 'resources', 'serviceAccountName', 'serviceClaims', 'source'] as const;

/** The fields of Kubernetes' ObjectMeta, which the Workload CRD leaves unspecified. */
const OBJECT_META_FIELDS = [
  'name', 'namespace', 'labels', 'annotations', 'uid', 'generation', 'resourceVersion', 'creationTimestamp',
  'deletionTimestamp', 'deletionGracePeriodSeconds', 'generateName', 'finalizers', 'ownerReferences', 'managedFields',
] as const;

/** Cartographer (fasttemplate) takes everything from `$(` to the next `)$` as one JSONPath. */
const PLACEHOLDER = /\$\((.*?)\)\$/gs;

/** Every distinct placeholder in the strings of a JSON value, in order of appearance. */
export function placeholdersIn(value: unknown): string[] {
  const found = new Set<string>();
  const visit = (node: unknown): void => {
    if (typeof node === 'string') for (const match of node.matchAll(PLACEHOLDER)) found.add(match[0]);
    else if (Array.isArray(node)) node.forEach(visit);
    else if (node !== null && typeof node === 'object') Object.values(node).forEach(visit);
  };
  visit(value);
  return [...found];
}

/**
 * One message per placeholder in `object` that the context does not provide, naming the template, the
 * placeholder and what is available.
 */
export function unprovidedPlaceholderErrors(object: unknown, context: TemplatingContext, who: TemplateIdentity): string[] {
  return placeholdersIn(object)
    .filter((tag) => !isProvided(pathSteps(tag.slice(2, -2)), context))
    .map((tag) => {
      const suggestion = closest(pathSteps(tag.slice(2, -2)).join('.'), candidatePaths(context));
      return (
        `${who.kind} "${who.template}" (resource "${who.resource}" of supply chain "${who.supplyChain}") uses ${tag}, ` +
        `which no resource or param provides${suggestion ? ` (did you mean $(${suggestion})$?)` : ''}; ` +
        `available: ${describeAvailable(context)}`
      );
    });
}

/**
 * The steps of a JSONPath as Cartographer evaluates it (`{.` and `}` are optional): map keys as
 * strings, `[0]`, `[*]` and filters as '[]'.
 */
function pathSteps(path: string): string[] {
  const body = path.replace(/^\{/, '').replace(/\}$/, '').replace(/^\./, '');
  const steps: string[] = [];
  const step = /\.?([^.[\]]+)|\[\s*'([^']*)'\s*\]|\[\s*"([^"]*)"\s*\]|\[[^\]]*\]/y;
  let match: RegExpExecArray | null;
  while (step.lastIndex < body.length && (match = step.exec(body))) steps.push(match[1] ?? match[2] ?? match[3] ?? '[]');
  // Anything the pattern cannot read is left as one unknown step, so it is reported rather than ignored.
  if (step.lastIndex < body.length) steps.push(body.slice(step.lastIndex));
  return steps;
}

function isProvided([root, first, second, ...rest]: string[], context: TemplatingContext): boolean {
  switch (root) {
    case 'workload':
      switch (first) {
        case undefined:
        case 'status':
          return true;
        case 'apiVersion':
        case 'kind':
          return second === undefined;
        case 'metadata':
          return second === undefined || (OBJECT_META_FIELDS as readonly string[]).includes(second);
        case 'spec':
          return second === undefined || (WORKLOAD_SPEC_FIELDS as readonly string[]).includes(second);
        default:
          return false;
      }
    case 'params':
      return first !== undefined && context.params.includes(first);
    case 'images':
      return context.images.includes(first) && (second === undefined || ['image', 'name'].includes(second)) && rest.length === 0;
    case 'configs':
      // A config output may be a map (configPath `.data`), so steps after `config` are its keys.
      return context.configs.includes(first) && (second === undefined || second === 'config' || (second === 'name' && rest.length === 0));
    // With exactly one input of a kind, Cartographer also provides its output by the singular name.
    case 'image':
      return context.images.length === 1 && first === undefined;
    case 'config':
      return context.configs.length === 1;
    default:
      return false;
  }
}

/** The concrete paths a misspelt placeholder may have meant. */
function candidatePaths(context: TemplatingContext): string[] {
  return [
    ...context.params.map((name) => `params.${name}`),
    ...context.images.map((name) => `images.${name}.image`),
    ...(context.images.length === 1 ? ['image'] : []),
    ...context.configs.map((name) => `configs.${name}.config`),
    ...(context.configs.length === 1 ? ['config'] : []),
    ...OBJECT_META_FIELDS.map((field) => `workload.metadata.${field}`),
    ...WORKLOAD_SPEC_FIELDS.map((field) => `workload.spec.${field}`),
  ];
}

function describeAvailable(context: TemplatingContext): string {
  const inputs = (kind: 'images' | 'configs', output: string, singular: string) => {
    const names = context[kind];
    return names.map((name) => `${kind}.${name}.${output}${names.length === 1 ? ` (or ${singular})` : ''}`);
  };
  return [
    ...context.params.map((name) => `params.${name}`),
    ...inputs('images', 'image', 'image'),
    ...inputs('configs', 'config', 'config'),
    `workload.metadata.{${OBJECT_META_FIELDS.slice(0, 4).join(', ')}, …}`,
    `workload.spec.{${WORKLOAD_SPEC_FIELDS.join(', ')}}`,
    'workload.status',
  ].join(', ');
}

/** The candidate within a small edit distance of `path` (a typo), if any. */
function closest(path: string, candidates: string[]): string | undefined {
  // A workload path is compared on its first three steps: `workload.metadata.labels.app` meant labels.
  const compared = path.startsWith('workload.') ? path.split('.').slice(0, 3).join('.') : path;
  let best: { candidate: string; distance: number } | undefined;
  for (const candidate of candidates) {
    const distance = editDistance(compared, candidate);
    if (distance <= Math.max(2, Math.floor(candidate.length / 5)) && (!best || distance < best.distance)) best = { candidate, distance };
  }
  return best?.candidate;
}

function editDistance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, index) => index);
  for (let i = 1; i <= a.length; i++) {
    const current = [i];
    for (let j = 1; j <= b.length; j++) {
      current[j] = Math.min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (a[i - 1] === b[j - 1] ? 0 : 1));
    }
    previous = current;
  }
  return previous[b.length];
}
