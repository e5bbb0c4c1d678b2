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

/** A number param's value, where a field wants a number: written as the whole-field `$(params.<name>)$`. */
export function numberParamPlaceholder(name: string): number {
  return numberPlaceholder(`params${keyStep(name)}`);
}

/** The output of the resource a template reads as its image input `name` (Cartographer's `images.<name>.image`). */
export function imagePlaceholder(inputName: string): string {
  return placeholder(`images${keyStep(inputName)}.image`);
}

/** The output of the resource a template reads as its config input `name` (Cartographer's `configs.<name>.config`). */
export function configPlaceholder(inputName: string): string {
  return placeholder(`configs${keyStep(inputName)}.config`);
}

/** The first number placeholder; the ones after it count down. No count, port or size in a manifest is that large. */
const FIRST_NUMBER_PLACEHOLDER = Number.MAX_SAFE_INTEGER;
/** Below this, a number is an ordinary number; at or above it, a number placeholder or arithmetic on one. */
const NUMBER_PLACEHOLDER_FLOOR = 2 ** 52;
const numberPlaceholders = new Map<number, string>();
const numbersOfPlaceholders = new Map<string, number>();

/**
 * A placeholder where a field wants a number (`replicas`, a port): a number that stands for `$(path)$`.
 * In a template it is written as the whole-field placeholder, `replicas: $(params.replicas)$`, which
 * Cartographer replaces with the value at the value's own type; inside a string, as the placeholder's text.
 */
export function numberPlaceholder(path: string): number {
  const tag = placeholder(path);
  let number = numbersOfPlaceholders.get(tag);
  if (number === undefined) {
    number = FIRST_NUMBER_PLACEHOLDER - numbersOfPlaceholders.size;
    numbersOfPlaceholders.set(tag, number);
    numberPlaceholders.set(number, tag);
  }
  return number;
}

/**
 * The value with each number placeholder written as its `$(…)$`, and the numbers it holds that no
 * placeholder can become: NaN (`Number()` of a placeholder string) and arithmetic on a number placeholder.
 */
export function writeNumberPlaceholders(value: unknown): { value: unknown; unsubstitutable: number[] } {
  const unsubstitutable: number[] = [];
  const write = (node: unknown): unknown => {
    if (typeof node === 'number') {
      const tag = numberPlaceholders.get(node);
      if (tag !== undefined) return tag;
      if (Number.isNaN(node) || Math.abs(node) >= NUMBER_PLACEHOLDER_FLOOR) unsubstitutable.push(node);
      return node;
    }
    if (typeof node === 'string') return node.replace(/(?<!\d)\d{16}(?!\d)/g, (digits) => numberPlaceholders.get(Number(digits)) ?? digits);
    if (Array.isArray(node)) return node.map(write);
    if (node !== null && typeof node === 'object') return Object.fromEntries(Object.entries(node).map(([key, item]) => [key, write(item)]));
    return node;
  };
  return { value: write(value), unsubstitutable };
}
