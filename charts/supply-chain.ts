import { ApiObject, Chart, Lazy } from 'cdk8s';
import { k8s } from 'cdk8s-plus-27';
import { Construct } from 'constructs';
import { IMAGE_API_VERSION, IMAGE_KIND, type ImageVerification } from '../controller/src/api/image.js';
import {
  ClusterConfigTemplate,
  ClusterImageTemplate,
  ClusterSupplyChain,
  ClusterSupplyChainSpecResources,
  ClusterSupplyChainSpecResourcesTemplateRefKind as TemplateKind,
  ClusterTemplate,
  type ClusterTemplateSpec,
} from '../imports/carto.run.js';
import { unprovidedPlaceholderErrors } from './placeholder-check.js';
import { workload } from './placeholders.js';
import {
  addressLabelsIn,
  replaceAddressLabels,
  SupplyChainResource,
  type ResourceOutput,
  type SupplyChainResourceProps,
} from './supply-chain-resource.js';

/** The seed's resource that stamps the Image. */
const IMAGE_RESOURCE = 'image-builder';
/** The seed's resource that stamps the Deployment. */
const DEPLOYER_RESOURCE = 'deployer';
/** The name the seed's deployer gives the image-builder's output in its `images` inputs. */
const IMAGE_INPUT = 'image';
/** The Workload param the image reference is built from (the seed's). */
const IMAGE_PREFIX_PARAM = 'image_prefix';

/** What the stamped Deployment looks like; everything else comes from the Workload. */
export interface DeploymentTemplateProps {
  /**
   * Pod replicas.
   * @default 1
   */
  readonly replicas?: number;

  /**
   * Container ports.
   * @default none (the seed's Deployment exposes no ports)
   */
  readonly ports?: k8s.ContainerPort[];

  /**
   * Container environment; values may be placeholders, e.g. `workload.name` (charts/placeholders.ts).
   * @default none
   */
  readonly env?: k8s.EnvVar[];

  /**
   * Container resources.
   * @default none
   */
  readonly resources?: k8s.ResourceRequirements;

  /**
   * Container liveness probe.
   * @default none
   */
  readonly livenessProbe?: k8s.Probe;

  /**
   * Container readiness probe.
   * @default none
   */
  readonly readinessProbe?: k8s.Probe;
}


export interface ImageResourceProps<P extends string, I extends string, C extends string> extends SupplyChainResourceProps<P, I, C> {
  /** Where the stamped object holds the image later resources read, e.g. `.status.latestImage`. */
  readonly imagePath: string;
}

export interface ConfigResourceProps<P extends string, I extends string, C extends string> extends SupplyChainResourceProps<P, I, C> {
  /** Where the stamped object holds the config later resources read, e.g. `.data`. */
  readonly configPath: string;
}

export interface SupplyChainProps {
  /**
   * Name of the ClusterSupplyChain.
   * @default 'supply-chain'
   */
  readonly name?: string;

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
 * Synthesis fails when a template uses a placeholder its resource is not given.
 */
export class SupplyChain extends Chart {
  /** The resource that stamps an Image per Workload; its output is the Image's resolved digest. */
  readonly imageBuilder: SupplyChainResource<'image', typeof IMAGE_PREFIX_PARAM, never, never>;
  /** The seed's resource that stamps the Deployment, unless `deployer` is false. */
  readonly deployer?: SupplyChainResource<'none', never, typeof IMAGE_INPUT, never>;
  readonly #supplyChain: ClusterSupplyChain;
  readonly #resources: SupplyChainResource[] = [];

  constructor(scope: Construct, id: string, props: SupplyChainProps = {}) {
    super(scope, id);

    const name = props.name ?? 'supply-chain';
    const selector = props.selector ?? { 'app.tanzu.vmware.com/workload-type': 'web' };
    const imageTemplateName = props.imageTemplateName ?? 'image';
    const defaultImagePrefix = props.defaultImagePrefix ?? 'localhost:5000/apps/';
    const deployer = props.deployer ?? true;
    const deploymentTemplateName = props.deploymentTemplateName ?? 'deployment';
    const deployment = props.deployment ?? {};

    this.#supplyChain = new ClusterSupplyChain(this, 'SupplyChain', {
      metadata: { name },
      spec: { selector, resources: Lazy.any({ produce: () => this.#resources.map(chainEntry) }) },
    });

    this.imageBuilder = this.addImageResource(IMAGE_RESOURCE, {
      templateName: imageTemplateName,
      params: { [IMAGE_PREFIX_PARAM]: defaultImagePrefix },
      // The seed's contract: the controller writes repo@sha256:… here.
      imagePath: '.status.latestImage',
      // The Workload stays unready until the controller has resolved the tag.
      healthRule: { singleConditionType: 'Ready' },
      ytt: imageYtt(props.imageVerification),
    });
    if (deployer) {
      this.deployer = this.addResource(DEPLOYER_RESOURCE, {
        templateName: deploymentTemplateName,
        images: { [IMAGE_INPUT]: this.imageBuilder },
      });
      seedDeployment(this.deployer, { ...deployment, replicas: deployment.replicas ?? 1 });
    }

    this.node.addValidation({ validate: () => this.#errors() });
  }

  /** Adds a resource stamping a ClusterTemplate: an object with no output, such as a Deployment or a Service. */
  addResource<P extends string = never, I extends string = never, C extends string = never>(
    name: string,
    props: SupplyChainResourceProps<P, I, C> = {},
  ): SupplyChainResource<'none', P, I, C> {
    const resource = new SupplyChainResource(name, 'none', props);
    this.#addTemplate(resource, (id, metadata) => new ClusterTemplate(this, id, { metadata, spec: this.#templateSpec(resource) }));
    return resource;
  }

  /** Adds a resource stamping a ClusterImageTemplate, whose output later resources take as an image input. */
  addImageResource<P extends string = never, I extends string = never, C extends string = never>(
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
  addConfigResource<P extends string = never, I extends string = never, C extends string = never>(
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
      throw new Error(`supply chain "${this.#supplyChain.name}" already has a resource named "${resource.resourceName}"`);
    }
    this.#resources.push(resource);
    // The ClusterSupplyChain is written after the templates it references.
    this.#supplyChain.addDependency(create(`${resource.resourceName}-template`, { name: resource.templateName }));
  }

  /** What the three kinds of template share. */
  #templateSpec(resource: SupplyChainResource): Pick<ClusterTemplateSpec, 'params' | 'ytt' | 'template'> & { healthRule?: any } {
    const { params, healthRule, ytt } = resource.props;
    return {
      params: params && Object.entries(params).map(([name, value]) => ({ name, default: value })),
      // The generated healthRule types of the three kinds differ only in their enums' names.
      healthRule: healthRule as any,
      ytt,
      template: ytt === undefined ? Lazy.any({ produce: () => this.#objectOf(resource) }) : undefined,
    };
  }

  /** Everything wrong with the chain's templates, checked at synth. */
  #errors(): string[] {
    const errors: string[] = [];
    // Two resources stamping the same kind and name would fight over one object per Workload.
    const stampedBy = new Map<string, string>();
    for (const resource of this.#resources) {
      const { object, errors: resourceErrors } = this.#synthesize(resource);
      errors.push(...resourceErrors);
      const { apiVersion = '', kind, metadata } = (object ?? {}) as { apiVersion?: string; kind?: string; metadata?: { name?: string } };
      if (!kind) continue;
      const key = `${apiVersion.includes('/') ? apiVersion.split('/')[0] : ''}/${kind}/${metadata?.name}`;
      const earlier = stampedBy.get(key);
      if (earlier === undefined) stampedBy.set(key, resource.resourceName);
      else {
        errors.push(
          `resources "${earlier}" and "${resource.resourceName}" of supply chain "${this.#supplyChain.name}" both stamp a ${kind} named ` +
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
          errors.push(`${who} takes ${output} input "${input}" from resource "${source.resourceName}", which is no ${output} resource of supply chain "${this.#supplyChain.name}"`);
        }
      }
    }
    const owner = (address: string) => this.#resources.find((candidate) => candidate.hasAddress(address));
    for (const address of addressLabelsIn(objects[0])) {
      if (!owner(address)) errors.push(`${who} selects pods labelled cdk8s.io/metadata.addr=${address}, which is the label of no resource's object in supply chain "${this.#supplyChain.name}"`);
    }
    const object = replaceAddressLabels(objects[0], (address) => owner(address)?.podSelectorLabels ?? {});
    errors.push(
      ...unprovidedPlaceholderErrors(
        object,
        { params: Object.keys(resource.params), images: Object.keys(resource.images), configs: Object.keys(resource.configs) },
        { kind, template: resource.templateName, resource: resource.resourceName, supplyChain: this.#supplyChain.name },
      ),
    );
    return { object, errors };
  }
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

/**
 * The Image to stamp, as ytt (Cartographer runs `ytt -f -` with the Workload and the params as data
 * values; `$(…)$` placeholders are not expanded in ytt templates). The seed's template read
 * `workload.spec.source.image`, which its Workload never set; instead a Workload's own `spec.image`
 * wins and otherwise the reference is `$(params.image_prefix)$$(workload.metadata.name)$`, a choice
 * plain `$(…)$` templates cannot express. ytt accepts only `#!` comments here.
 */
function imageYtt(verification: ImageVerification | undefined): string {
  return [
    '#@ load("@ytt:data", "data")',
    '#@ workload = data.values.workload',
    '#! A Workload that names its image in spec.image gets that; otherwise the prefix param plus its name.',
    `#@ image = workload.spec.image if hasattr(workload.spec, "image") else data.values.params.${IMAGE_PREFIX_PARAM} + workload.metadata.name`,
    '---',
    `apiVersion: ${IMAGE_API_VERSION}`,
    `kind: ${IMAGE_KIND}`,
    'metadata:',
    '  name: #@ workload.metadata.name',
    'spec:',
    '  image: #@ image',
    // JSON is YAML: the block as the admin wrote it, the same for every Workload.
    ...(verification ? [`  verification: ${JSON.stringify(verification)}`] : []),
    '',
  ].join('\n');
}

/** The seed's Deployment: named, labelled and selected by the Workload's name, running the resolved digest. */
function seedDeployment(resource: SupplyChainResource<'none', never, typeof IMAGE_INPUT>, props: DeploymentTemplateProps): void {
  const labels = { app: workload.name };
  new k8s.KubeDeployment(resource, 'Deployment', {
    metadata: { name: workload.name, labels },
    spec: {
      replicas: props.replicas,
      selector: { matchLabels: labels },
      template: {
        metadata: { labels },
        spec: {
          containers: [
            {
              name: workload.name,
              image: resource.images[IMAGE_INPUT],
              ports: props.ports,
              env: props.env,
              resources: props.resources,
              livenessProbe: props.livenessProbe,
              readinessProbe: props.readinessProbe,
            },
          ],
        },
      },
    },
  });
}
