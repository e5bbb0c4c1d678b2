import { ApiObject, Chart, Lazy } from 'cdk8s';
import { ApiResource, type IApiResource, type k8s } from 'cdk8s-plus-27';
import { Construct } from 'constructs';
import { IMAGE_GROUP, IMAGE_PLURAL, type ImageVerification } from '../controller/src/api/image.js';
import {
  ClusterConfigTemplate,
  ClusterImageTemplate,
  ClusterSupplyChain,
  ClusterSupplyChainSpecResources,
  ClusterSupplyChainSpecResourcesTemplateRefKind as TemplateKind,
  ClusterTemplate,
  type ClusterTemplateSpec,
} from '../imports/carto.run.js';
import { checkNameCollisions, nameSetBy } from './collision-check.js';
import { appsPrefix } from './local-registry.js';
import { unprovidedPlaceholderErrors } from './placeholder-check.js';
import { writeNumberPlaceholders } from './placeholders.js';
import { IMAGE_INPUT, IMAGE_PREFIX_PARAM, IMAGE_SEMVER_PARAM, imageYtt, seedDeployment, type DeploymentTemplateProps } from './seed-templates.js';
import {
  addressLabelsIn,
  paramPlaceholders,
  replaceAddressLabels,
  SupplyChainResource,
  type ParamPlaceholders,
  type Params,
  type ResourceOutput,
  type SupplyChainResourceProps,
} from './supply-chain-resource.js';
import { apiResourceOf, stampRules, unpermittedStampErrors } from './workload-rules.js';

/** The seed's resource that stamps the Image. */
const IMAGE_RESOURCE = 'image-builder';
/** The seed's resource that stamps the Deployment. */
const DEPLOYER_RESOURCE = 'deployer';

export interface ImageResourceProps<P extends Params, I extends string, C extends string> extends SupplyChainResourceProps<P, I, C> {
  /** Where the stamped object holds the image later resources read, e.g. `.status.latestImage`. */
  readonly imagePath: string;
}

export interface ConfigResourceProps<P extends Params, I extends string, C extends string> extends SupplyChainResourceProps<P, I, C> {
  /** Where the stamped object holds the config later resources read, e.g. `.data`. */
  readonly configPath: string;
}

export interface SupplyChainProps<CP extends Params = {}> {
  /**
   * Name of the ClusterSupplyChain.
   * @default 'supply-chain'
   */
  readonly name?: string;

  /**
   * Params every resource's template can read, as `chain.params.<name>` (a number where the default is
   * a number), with their defaults; a Workload overrides one with a param of the same name.
   * @default none
   */
  readonly params?: CP;

  /**
   * Workload labels that select this supply chain.
   * @default { 'app.tanzu.vmware.com/workload-type': 'web' }
   */
  readonly selector?: Record<string, string>;

  /**
   * Name of the ClusterImageTemplate that stamps an Image per Workload.
   * @default 'image'
   */
  readonly imageTemplateName?: string;

  /**
   * Signatures every Image this chain stamps requires (the Image's `spec.verification`): the admin's
   * way to deploy only signed images for every Workload of the chain. Key and trust-root Secrets are
   * read from each Workload's namespace; a Workload cannot turn it off.
   * @default none: Images follow their tag unverified, as the seed did
   */
  readonly imageVerification?: ImageVerification;

  /**
   * Default of the `image_prefix` param, for a Workload that sets neither it nor `spec.image`.
   * @default 'localhost:5000/apps/' (the seed's registry)
   */
  readonly defaultImagePrefix?: string;

  /**
   * Whether the chain has the seed's `deployer` resource after `image-builder`; without it, add your own
   * resources with `addResource`.
   * @default true
   */
  readonly deployer?: boolean;

  /**
   * Name of the seed's ClusterTemplate that stamps a Deployment per Workload.
   * @default 'deployment'
   */
  readonly deploymentTemplateName?: string;

  /**
   * The seed's Deployment, stamped for each Workload by the `deployer` resource.
   * @default the seed's bare Deployment: 1 replica, one container, no ports, env, resources or probes
   */
  readonly deployment?: DeploymentTemplateProps;
}

/**
 * A Cartographer supply chain and its templates. By default it is the seed's: each Workload selected by
 * `selector` gets an Image (`image-builder`, watched by the image controller) and a Deployment running
 * the Image's `status.latestImage` (`deployer`), so a moved tag redeploys. Add resources in order with
 * `addResource`, `addImageResource` and `addConfigResource`, each authoring its object in its own scope.
 * Synthesis fails when Cartographer could not stamp the chain: a placeholder its resource is not given,
 * an object outside a resource, a Workload whose ServiceAccount may not stamp a kind (`workloadRules()`).
 */
export class SupplyChain<CP extends Params = {}> extends Chart {
  /** The ClusterSupplyChain's name. */
  readonly supplyChainName: string;
  /** The Workload labels that select the chain. */
  readonly selector: Readonly<Record<string, string>>;
  /** Each chain param's value, as a placeholder any resource's object can use. */
  readonly params: ParamPlaceholders<CP>;
  /** The resource that stamps an Image per Workload; its output is the Image's resolved digest. */
  readonly imageBuilder: SupplyChainResource<'image', { [IMAGE_PREFIX_PARAM]: string; [IMAGE_SEMVER_PARAM]: string }, never, never>;
  /** The seed's resource that stamps the Deployment, unless `deployer` is false. */
  readonly deployer?: SupplyChainResource<'none', {}, typeof IMAGE_INPUT, never>;
  readonly #chainParams: CP;
  readonly #supplyChain: ClusterSupplyChain;
  readonly #resources: SupplyChainResource[] = [];
  /** The objects the chain writes itself: the ClusterSupplyChain and one template per resource. */
  readonly #ownObjects = new Set<ApiObject>();

  constructor(scope: Construct, id: string, props: SupplyChainProps<CP> = {}) {
    super(scope, id);

    const name = props.name ?? 'supply-chain';
    const selector = props.selector ?? { 'app.tanzu.vmware.com/workload-type': 'web' };
    const chainParams = props.params ?? ({} as CP);
    const imageTemplateName = props.imageTemplateName ?? 'image';
    const defaultImagePrefix = props.defaultImagePrefix ?? appsPrefix();
    const deployer = props.deployer ?? true;
    const deploymentTemplateName = props.deploymentTemplateName ?? 'deployment';
    const deployment = props.deployment ?? {};

    this.supplyChainName = name;
    this.selector = selector;
    this.#chainParams = chainParams;
    this.params = paramPlaceholders(chainParams);
    this.#supplyChain = new ClusterSupplyChain(this, 'SupplyChain', {
      metadata: { name },
      spec: {
        selector,
        params: paramList(chainParams),
        resources: Lazy.any({ produce: () => this.#resources.map(chainEntry) }),
      },
    });
    this.#ownObjects.add(this.#supplyChain);
    nameSetBy(this.#supplyChain, 'SupplyChain name');

    this.imageBuilder = this.addImageResource(IMAGE_RESOURCE, {
      templateName: imageTemplateName,
      params: { [IMAGE_PREFIX_PARAM]: defaultImagePrefix, [IMAGE_SEMVER_PARAM]: '' },
      // The seed's contract: the controller writes repo@sha256:… here.
      imagePath: '.status.latestImage',
      // The Workload stays unready until the controller has resolved the tag.
      healthRule: { singleConditionType: 'Ready' },
      ytt: imageYtt(props.imageVerification),
      apiResource: ApiResource.custom({ apiGroup: IMAGE_GROUP, resourceType: IMAGE_PLURAL }),
    });
    if (deployer) {
      this.deployer = this.addResource(DEPLOYER_RESOURCE, {
        templateName: deploymentTemplateName,
        images: { [IMAGE_INPUT]: this.imageBuilder },
      });
      seedDeployment(this.deployer, deployment);
    }

    this.node.addValidation({ validate: () => this.#errors() });
    checkNameCollisions(this);
  }

  /**
   * The RBAC rules a Workload's ServiceAccount needs for Cartographer to stamp this chain's objects:
   * get, create and patch on each kind a resource stamps. Grant them in the Workload's namespace, as
   * DemoWorkload does; a resource added later is granted too when the rules are read at synthesis.
   */
  workloadRules(): k8s.PolicyRule[] {
    return stampRules(this.#stamped());
  }

  /** Adds a resource stamping a ClusterTemplate: an object with no output, such as a Deployment or a Service. */
  addResource<P extends Params = {}, I extends string = never, C extends string = never>(
    name: string,
    props: SupplyChainResourceProps<P, I, C> = {},
  ): SupplyChainResource<'none', P, I, C> {
    const resource = new SupplyChainResource(name, 'none', props);
    this.#addTemplate(resource, (id, metadata) => new ClusterTemplate(this, id, { metadata, spec: this.#templateSpec(resource) }));
    return resource;
  }

  /** Adds a resource stamping a ClusterImageTemplate, whose output later resources take as an image input. */
  addImageResource<P extends Params = {}, I extends string = never, C extends string = never>(
    name: string,
    props: ImageResourceProps<P, I, C>,
  ): SupplyChainResource<'image', P, I, C> {
    const resource = new SupplyChainResource(name, 'image', props);
    this.#addTemplate(
      resource,
      (id, metadata) => new ClusterImageTemplate(this, id, { metadata, spec: { ...this.#templateSpec(resource), imagePath: props.imagePath } }),
    );
    return resource;
  }

  /** Adds a resource stamping a ClusterConfigTemplate, whose output later resources take as a config input. */
  addConfigResource<P extends Params = {}, I extends string = never, C extends string = never>(
    name: string,
    props: ConfigResourceProps<P, I, C>,
  ): SupplyChainResource<'config', P, I, C> {
    const resource = new SupplyChainResource(name, 'config', props);
    this.#addTemplate(
      resource,
      (id, metadata) => new ClusterConfigTemplate(this, id, { metadata, spec: { ...this.#templateSpec(resource), configPath: props.configPath } }),
    );
    return resource;
  }

  #addTemplate(resource: SupplyChainResource, create: (id: string, metadata: { name: string }) => ApiObject): void {
    if (this.#resources.some((other) => other.resourceName === resource.resourceName)) {
      throw new Error(`supply chain "${this.supplyChainName}" already has a resource named "${resource.resourceName}"`);
    }
    this.#resources.push(resource);
    const template = create(`${resource.resourceName}-template`, { name: resource.templateName });
    this.#ownObjects.add(template);
    nameSetBy(template, SEED_TEMPLATE_NAME_PROPS[resource.resourceName] ?? `templateName of resource "${resource.resourceName}"`);
    // The ClusterSupplyChain is written after the templates it references.
    this.#supplyChain.addDependency(template);
  }

  /** What the three kinds of template share. */
  #templateSpec(resource: SupplyChainResource): Pick<ClusterTemplateSpec, 'params' | 'ytt' | 'template'> & { healthRule?: any } {
    const { params, healthRule, ytt } = resource.props;
    return {
      params: paramList(params),
      // The generated healthRule types of the three kinds differ only in their enums' names.
      healthRule: healthRule as any,
      ytt,
      template: ytt === undefined ? Lazy.any({ produce: () => this.#objectOf(resource) }) : undefined,
    };
  }

  /** The API resource of each object the chain stamps (a ytt template that does not say is left out). */
  #stamped(): IApiResource[] {
    return this.#resources.flatMap((resource) => {
      const [object] = resource.props.ytt === undefined ? resource.toJson() : [];
      return resource.props.apiResource ?? (object ? [apiResourceOf(object)] : []);
    });
  }

  /** Everything wrong with the chain, checked at synth. */
  #errors(): string[] {
    const who = `supply chain "${this.supplyChainName}"`;
    const errors = this.node
      .findAll()
      .filter((object) => ApiObject.isApiObject(object) && !this.#ownObjects.has(object) && Chart.of(object) === this)
      .map(
        (object) =>
          `${who} holds a ${(object as ApiObject).kind} outside its resources (${object.node.path}), which would be written once, as it is, ` +
          "instead of stamped for each Workload: create it in a resource's scope, e.g. `new kplus.Deployment(chain.addResource('deployer'), …)`",
      );
    // Reported by the later chain of the two. (`instanceof` is no test here: cdk8s makes it true of every Chart.)
    const constructs = this.node.root.node.findAll();
    const rival = constructs
      .slice(0, constructs.indexOf(this))
      .find((other): other is SupplyChain => #resources in other && other.supplyChainName !== this.supplyChainName && sameLabels(other.selector, this.selector));
    if (rival) {
      errors.push(
        `${who} and supply chain "${rival.supplyChainName}" have the same selector, so Cartographer stamps neither for the Workloads ` +
          'they select (MultipleSupplyChainMatches): give one of them a selector of its own',
      );
    }
    errors.push(...unpermittedStampErrors(this.node.root, { name: this.supplyChainName, selector: this.selector, stamped: this.#stamped() }));
    // Two resources stamping the same kind and name would fight over one object per Workload.
    const stampedBy = new Map<string, string>();
    for (const resource of this.#resources) {
      const declaredTwice = Object.keys(resource.props.params ?? {}).filter((param) => param in this.#chainParams);
      if (declaredTwice.length > 0) {
        errors.push(`resource "${resource.resourceName}" of ${who} declares param(s) ${declaredTwice.join(', ')}, which the chain declares too: Cartographer uses the chain's default, never the resource's; declare each once`);
      }
      if (resource.props.ytt !== undefined && !resource.props.apiResource) {
        errors.push(`resource "${resource.resourceName}" of ${who} has a ytt template, so what it stamps cannot be read: set its apiResource, which workloadRules() grants`);
      }
      const { object, errors: resourceErrors } = this.#synthesize(resource);
      errors.push(...resourceErrors);
      const { apiVersion = '', kind, metadata } = (object ?? {}) as { apiVersion?: string; kind?: string; metadata?: { name?: string } };
      if (!kind) continue;
      const key = `${apiVersion.includes('/') ? apiVersion.split('/')[0] : ''}/${kind}/${metadata?.name}`;
      const earlier = stampedBy.get(key);
      if (earlier === undefined) stampedBy.set(key, resource.resourceName);
      else {
        errors.push(
          `resources "${earlier}" and "${resource.resourceName}" of ${who} both stamp a ${kind} named ` +
            `${metadata?.name} for each Workload: give one another metadata.name, e.g. \`\${workload.name}-${resource.resourceName}\``,
        );
      }
    }
    return errors;
  }

  #objectOf(resource: SupplyChainResource): unknown {
    const { object, errors } = this.#synthesize(resource);
    if (errors.length > 0) throw new Error(errors.join('\n'));
    return object;
  }

  /**
   * The resource's object as its template holds it, with cdk8s-plus's address labels replaced by the
   * Workload's, or what is wrong with it.
   */
  #synthesize(resource: SupplyChainResource): { object?: unknown; errors: string[] } {
    const kind = templateKind(resource.output);
    const who = `${kind} "${resource.templateName}" (resource "${resource.resourceName}")`;
    const objects = resource.toJson();
    if (resource.props.ytt !== undefined) {
      return { errors: objects.length === 0 ? [] : [`${who} has both ytt and ${objects.length} object(s) in its scope: use one`] };
    }
    if (objects.length !== 1) {
      const kinds = objects.map((object) => object.kind).join(', ');
      return {
        errors: [
          `${who} must hold exactly one object, as a Cartographer template stamps one, but holds ${objects.length}${kinds ? ` (${kinds})` : ''}: ` +
            'create each object in a resource of its own (chain.addResource)',
        ],
      };
    }
    const errors: string[] = [];
    for (const [inputs, output] of [[resource.props.images, 'image'], [resource.props.configs, 'config']] as const) {
      for (const [input, source] of Object.entries(inputs ?? {})) {
        if (!this.#resources.includes(source as SupplyChainResource) || source.output !== output) {
          errors.push(`${who} takes ${output} input "${input}" from resource "${source.resourceName}", which is no ${output} resource of supply chain "${this.supplyChainName}"`);
        }
      }
    }
    const owner = (address: string) => this.#resources.find((candidate) => candidate.hasAddress(address));
    for (const address of addressLabelsIn(objects[0])) {
      if (!owner(address)) errors.push(`${who} selects pods labelled cdk8s.io/metadata.addr=${address}, which is the label of no resource's object in supply chain "${this.supplyChainName}"`);
    }
    const { value: object, unsubstitutable } = writeNumberPlaceholders(replaceAddressLabels(objects[0], (address) => owner(address)?.podSelectorLabels ?? {}));
    for (const number of unsubstitutable) {
      errors.push(
        `${who} holds the number ${number}, which no placeholder can become: Cartographer substitutes a number placeholder as it stands, ` +
          'so compute nothing from it and do not Number() a string placeholder; declare the param with a number default and use it as it is',
      );
    }
    errors.push(
      ...unprovidedPlaceholderErrors(
        object,
        { params: [...Object.keys(resource.params), ...Object.keys(this.params)], images: Object.keys(resource.images), configs: Object.keys(resource.configs) },
        { kind, template: resource.templateName, resource: resource.resourceName, supplyChain: this.supplyChainName },
      ),
    );
    return { object, errors };
  }
}

/** The names of the seed's templates come from SupplyChain props of their own, which a message names. */
const SEED_TEMPLATE_NAME_PROPS: Record<string, string> = { [IMAGE_RESOURCE]: 'SupplyChain imageTemplateName', [DEPLOYER_RESOURCE]: 'SupplyChain deploymentTemplateName' };

function sameLabels(a: Readonly<Record<string, string>>, b: Readonly<Record<string, string>>): boolean {
  return Object.keys(a).length === Object.keys(b).length && Object.entries(a).every(([key, value]) => b[key] === value);
}

/** Params as Cartographer lists them, each with its default. */
function paramList(params: Params | undefined): { name: string; default: Params[string] }[] | undefined {
  const entries = Object.entries(params ?? {});
  return entries.length === 0 ? undefined : entries.map(([name, value]) => ({ name, default: value }));
}

function templateKind(output: ResourceOutput): TemplateKind {
  return { image: TemplateKind.CLUSTER_IMAGE_TEMPLATE, config: TemplateKind.CLUSTER_CONFIG_TEMPLATE, none: TemplateKind.CLUSTER_TEMPLATE }[output];
}

/** The resource as the ClusterSupplyChain lists it: its template and the resources its inputs come from. */
function chainEntry(resource: SupplyChainResource): ClusterSupplyChainSpecResources {
  const inputs = (record: Record<string, { resourceName: string }> | undefined) =>
    record && Object.entries(record).map(([name, source]) => ({ resource: source.resourceName, name }));
  return {
    name: resource.resourceName,
    templateRef: { kind: templateKind(resource.output), name: resource.templateName },
    images: inputs(resource.props.images),
    configs: inputs(resource.props.configs),
  };
}
