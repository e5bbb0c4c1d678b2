import { Chart } from 'cdk8s';
import { k8s } from 'cdk8s-plus-27';
import { Construct } from 'constructs';
import { IMAGE_API_VERSION, IMAGE_KIND } from '../controller/src/api/image.js';
import {
  ClusterImageTemplate,
  ClusterSupplyChain,
  ClusterSupplyChainSpecResourcesTemplateRefKind as TemplateKind,
  ClusterTemplate,
} from '../imports/carto.run.js';

/** Cartographer replaces this with the name of the Workload being stamped. */
export const WORKLOAD_NAME = '$(workload.metadata.name)$';

/** The supply-chain resource that stamps the Image; the deployer reads its output under this name. */
export const IMAGE_RESOURCE = 'image-builder';
/** The supply-chain resource that stamps the Deployment. */
export const DEPLOYER_RESOURCE = 'deployer';
/** The name the deployer gives the image-builder's output in its `images` inputs. */
export const IMAGE_INPUT = 'image';
/** Cartographer replaces this with the image-builder's output: the Image's `status.latestImage`. */
export const DEPLOYED_IMAGE = `$(images.${IMAGE_INPUT}.image)$`;

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
   * Container environment; values may use Cartographer's `$(…)$` placeholders, e.g. `WORKLOAD_NAME`.
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
   * Name of the ClusterTemplate that stamps a Deployment per Workload.
   * @default 'deployment'
   */
  readonly deploymentTemplateName?: string;

  /**
   * Default of the `image_prefix` param, for a Workload that sets neither it nor `spec.image`.
   * @default 'localhost:5000/apps/' (the seed's registry)
   */
  readonly defaultImagePrefix?: string;

  /**
   * The Deployment stamped for each Workload.
   * @default the seed's bare Deployment: 1 replica, one container, no ports, env, resources or probes
   */
  readonly deployment?: DeploymentTemplateProps;
}

/**
 * The seed's supply chain: each Workload selected by `selector` gets an Image (watched by the image
 * controller) and a Deployment that runs the Image's `status.latestImage`, so a moved tag redeploys.
 */
export class SupplyChain extends Chart {
  constructor(scope: Construct, id: string, props: SupplyChainProps = {}) {
    super(scope, id);

    const name = props.name ?? 'supply-chain';
    const selector = props.selector ?? { 'app.tanzu.vmware.com/workload-type': 'web' };
    const imageTemplateName = props.imageTemplateName ?? 'image';
    const deploymentTemplateName = props.deploymentTemplateName ?? 'deployment';
    const defaultImagePrefix = props.defaultImagePrefix ?? 'localhost:5000/apps/';
    const deployment = props.deployment ?? {};
    const replicas = deployment.replicas ?? 1;

    new ClusterImageTemplate(this, 'ImageTemplate', {
      metadata: { name: imageTemplateName },
      spec: {
        params: [{ name: IMAGE_PREFIX_PARAM, default: defaultImagePrefix }],
        // The seed's contract: the controller writes repo@sha256:… here.
        imagePath: '.status.latestImage',
        // The Workload stays unready until the controller has resolved the tag.
        healthRule: { singleConditionType: 'Ready' },
        ytt: imageYtt(),
      },
    });

    new ClusterTemplate(this, 'DeploymentTemplate', {
      metadata: { name: deploymentTemplateName },
      spec: { template: deploymentManifest({ ...deployment, replicas }) },
    });

    new ClusterSupplyChain(this, 'SupplyChain', {
      metadata: { name },
      spec: {
        selector,
        resources: [
          { name: IMAGE_RESOURCE, templateRef: { kind: TemplateKind.CLUSTER_IMAGE_TEMPLATE, name: imageTemplateName } },
          {
            name: DEPLOYER_RESOURCE,
            templateRef: { kind: TemplateKind.CLUSTER_TEMPLATE, name: deploymentTemplateName },
            images: [{ resource: IMAGE_RESOURCE, name: IMAGE_INPUT }],
          },
        ],
      },
    });
  }
}

/**
 * The Image to stamp, as ytt (Cartographer runs `ytt -f -` with the Workload and the params as data
 * values; `$(…)$` placeholders are not expanded in ytt templates). The seed's template read
 * `workload.spec.source.image`, which its Workload never set; instead a Workload's own `spec.image`
 * wins and otherwise the reference is `$(params.image_prefix)$$(workload.metadata.name)$`, a choice
 * plain `$(…)$` templates cannot express. ytt accepts only `#!` comments here.
 */
function imageYtt(): string {
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
    '',
  ].join('\n');
}

/** The Deployment template: named, labelled and selected by the Workload's name, running the resolved digest. */
function deploymentManifest(props: DeploymentTemplateProps): unknown {
  const labels = { app: WORKLOAD_NAME };
  return k8s.KubeDeployment.manifest({
    metadata: { name: WORKLOAD_NAME, labels },
    spec: {
      replicas: props.replicas,
      selector: { matchLabels: labels },
      template: {
        metadata: { labels },
        spec: {
          containers: [
            {
              name: WORKLOAD_NAME,
              image: DEPLOYED_IMAGE,
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
