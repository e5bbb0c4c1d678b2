// Cartographer's `$(…)$` placeholders as values: templates use these instead of typing the syntax, and
// SupplyChain checks at synth that each placeholder a template uses is one the chain provides.

/**
 * Cartographer's placeholder for a path of its templating context (a JSONPath without the leading
 * `.`): `$(workload.metadata.name)$`. Cartographer substitutes it in every string of a template's
 * object when it stamps the object for a Workload.
 */
export function placeholder(path: string): string {
  return `$(${path})$`;
}

/** A JSONPath step for a map key: `.app`, or `['app.kubernetes.io/name']` for a key with dots or slashes. */
function keyStep(key: string): string {
  return /^[A-Za-z0-9_-]+$/.test(key) ? `.${key}` : `['${key}']`;
}

/** The Workload being stamped. */
export const workload = {
  /** The Workload's name, which stamped objects are named after by default. */
  name: placeholder('workload.metadata.name'),
  /** The Workload's namespace, where Cartographer stamps every object. */
  namespace: placeholder('workload.metadata.namespace'),
  /** The value of one of the Workload's labels (the Workload must have it, or stamping fails). */
  label: (key: string): string => placeholder(`workload.metadata.labels${keyStep(key)}`),
  /** The value of one of the Workload's annotations (the Workload must have it, or stamping fails). */
  annotation: (key: string): string => placeholder(`workload.metadata.annotations${keyStep(key)}`),
  /** A field of the Workload's spec, e.g. `workload.spec('serviceAccountName')`. */
  spec: (field: string): string => placeholder(`workload.spec.${field}`),
} as const;

/** A template param's value: the Workload's param of that name, else the template's default. */
export function paramPlaceholder(name: string): string {
  return placeholder(`params${keyStep(name)}`);
}

/** The output of the resource a template reads as its image input `name` (Cartographer's `images.<name>.image`). */
export function imagePlaceholder(inputName: string): string {
  return placeholder(`images${keyStep(inputName)}.image`);
}

/** The output of the resource a template reads as its config input `name` (Cartographer's `configs.<name>.config`). */
export function configPlaceholder(inputName: string): string {
  return placeholder(`configs${keyStep(inputName)}.config`);
}
