import { ApiObject, App, Chart, Names } from 'cdk8s';
import { type IApiResource } from 'cdk8s-plus-27';
import { ClusterTemplateSpecHealthRule } from '../imports/carto.run.js';
import { configPlaceholder, imagePlaceholder, numberParamPlaceholder, paramPlaceholder, workload } from './placeholders.js';

/** What a resource's template outputs for later resources: an image, a config, or nothing. */
export type ResourceOutput = 'image' | 'config' | 'none';

/** A resource whose output another resource can take as an input. */
export interface ResourceWithOutput<O extends ResourceOutput> {
  readonly resourceName: string;
  readonly output: O;
}

/** A param's default: any JSON value. */
export type ParamDefault = string | number | boolean | null | ParamDefault[] | { [key: string]: ParamDefault };

/** Params by name, with their defaults. */
export type Params = Record<string, ParamDefault>;

/**
 * Each param's placeholder, typed for where it can stand: a number where its default is a number
 * (`replicas: resource.params.replicas`), which is written as the whole field `$(params.replicas)$`;
 * otherwise a string.
 */
export type ParamPlaceholders<P extends Params> = { readonly [K in keyof P]: P[K] extends number ? number : string };

export interface SupplyChainResourceProps<P extends Params, I extends string, C extends string> {
  /**
   * Name of the Cartographer template the resource stamps; templates are cluster-scoped.
   * @default the resource's name
   */
  readonly templateName?: string;

  /**
   * Params the template declares, with their defaults; a Workload overrides one with a param of the same
   * name. The template reads them as `resource.params.<name>`, a number where the default is a number.
   * @default none
   */
  readonly params?: P;

  /**
   * Earlier resources whose image the template reads, by input name (`resource.images.<name>`).
   * @default none
   */
  readonly images?: Record<I, ResourceWithOutput<'image'>>;

  /**
   * Earlier resources whose config the template reads, by input name (`resource.configs.<name>`).
   * @default none
   */
  readonly configs?: Record<C, ResourceWithOutput<'config'>>;

  /**
   * The object as a ytt template instead of a construct in the resource's scope. Cartographer expands no
   * `$(…)$` placeholders in ytt (it passes the Workload and params as data values), so none are checked.
   * @default none: the object is the one construct created in this resource's scope
   */
  readonly ytt?: string;

  /**
   * When Cartographer considers the stamped object healthy.
   * @default Cartographer's default: always healthy
   */
  readonly healthRule?: ClusterTemplateSpecHealthRule;

  /**
   * The API resource (group and plural) of the object the template stamps, which the Workload's
   * ServiceAccount must be allowed to stamp (`SupplyChain.workloadRules()` grants it).
   * @default the object's: its apiVersion's group, and its kind pluralized as Kubernetes does by default
   * (`Ingress` → `ingresses`); a ytt template must set it
   */
  readonly apiResource?: IApiResource;
}

/**
 * The label cdk8s-plus puts on the pods of each workload it creates and selects them by: the construct's
 * address, which is the same for every Workload the template is stamped for.
 */
const ADDRESS_LABEL = 'cdk8s.io/metadata.addr';

/**
 * One resource of a supply chain, and the scope its template's object is authored in: create exactly one
 * Kubernetes object here, with cdk8s-plus or the `k8s` API objects, using placeholders for what varies
 * per Workload. Objects are named after the Workload unless they set a name. The scope is a chart of its
 * own that no app synthesizes: its object becomes the `template` of the resource's Cartographer template,
 * written in the supply chain's chart.
 */
export class SupplyChainResource<O extends ResourceOutput = ResourceOutput, P extends Params = Params, I extends string = string, C extends string = string>
  extends Chart
  implements ResourceWithOutput<O>
{
  /** The resource's name in the supply chain. */
  readonly resourceName: string;
  /** The name of the Cartographer template it stamps. */
  readonly templateName: string;
  /** Each declared param's value, as a placeholder: a number where the param's default is a number. */
  readonly params: ParamPlaceholders<P>;
  /** Each image input's image, as a placeholder. */
  readonly images: Readonly<Record<I, string>>;
  /** Each config input's config, as a placeholder. */
  readonly configs: Readonly<Record<C, string>>;
  /** The props it was declared with. */
  readonly props: SupplyChainResourceProps<P, I, C>;

  constructor(
    name: string,
    readonly output: O,
    props: SupplyChainResourceProps<P, I, C> = {},
  ) {
    // A chart in an app of its own: its objects are the template's, never synthesized beside it.
    super(new App(), name);
    this.resourceName = name;
    this.templateName = props.templateName ?? name;
    this.props = props;
    this.params = paramPlaceholders(props.params ?? ({} as P));
    this.images = placeholders(props.images, imagePlaceholder);
    this.configs = placeholders(props.configs, configPlaceholder);
  }

  /** An object in a template is stamped once per Workload, so by default it is named after the Workload. */
  override generateObjectName(_apiObject: ApiObject): string {
    return workload.name;
  }

  /**
   * The labels that select the pods of this resource's workload object for one Workload. They replace
   * cdk8s-plus's address label, and are the labels Cartographer itself puts on the objects it stamps.
   */
  get podSelectorLabels(): Record<string, string> {
    return { 'carto.run/workload-name': workload.name, 'carto.run/resource-name': this.resourceName };
  }

  /** Whether `address` is the cdk8s-plus address label of a construct in this resource's scope. */
  hasAddress(address: string): boolean {
    return this.node.findAll().some((construct) => Names.toLabelValue(construct) === address);
  }
}

/** The placeholders of params declared with these defaults. */
export function paramPlaceholders<P extends Params>(params: P): ParamPlaceholders<P> {
  return Object.fromEntries(
    Object.entries(params).map(([name, value]) => [name, typeof value === 'number' ? numberParamPlaceholder(name) : paramPlaceholder(name)]),
  ) as ParamPlaceholders<P>;
}

function placeholders<K extends string>(record: Partial<Record<K, unknown>> | undefined, placeholder: (name: string) => string): Record<K, string> {
  return Object.fromEntries(Object.keys(record ?? {}).map((name) => [name, placeholder(name)])) as Record<K, string>;
}

/**
 * The object with every cdk8s-plus address label (in labels, selectors and affinity terms alike)
 * replaced by the labels `labelsFor` gives for that address.
 */
export function replaceAddressLabels(value: unknown, labelsFor: (address: string) => Record<string, string>): unknown {
  if (Array.isArray(value)) return value.map((item) => replaceAddressLabels(item, labelsFor));
  if (value === null || typeof value !== 'object') return value;
  return Object.fromEntries(
    Object.entries(value).flatMap(([key, item]) =>
      key === ADDRESS_LABEL && typeof item === 'string' ? Object.entries(labelsFor(item)) : [[key, replaceAddressLabels(item, labelsFor)]],
    ),
  );
}

/** The cdk8s-plus address labels in an object, so a check can say which belong to no resource. */
export function addressLabelsIn(value: unknown): string[] {
  const found: string[] = [];
  replaceAddressLabels(value, (address) => (found.push(address), {}));
  return [...new Set(found)];
}
