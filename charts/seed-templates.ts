// The seed's two templates, which SupplyChain stamps by default: the Image (ytt) and the Deployment.
import { k8s } from 'cdk8s-plus-27';
import { IMAGE_API_VERSION, IMAGE_KIND, type ImageVerification } from '../controller/src/api/image.js';
import { workload } from './placeholders.js';
import type { SupplyChainResource } from './supply-chain-resource.js';

/** The Workload param the image reference is built from (the seed's). */
export const IMAGE_PREFIX_PARAM = 'image_prefix';
/** The Workload param that makes its Image deploy the newest tag in a semver range (empty: follow one tag). */
export const IMAGE_SEMVER_PARAM = 'image_semver';
/** The name the seed's deployer gives the image-builder's output in its `images` inputs. */
export const IMAGE_INPUT = 'image';

/**
 * The Image to stamp, as ytt (Cartographer runs `ytt -f -` with the Workload and the params as data
 * values; `$(…)$` placeholders are not expanded in ytt templates). The seed's template read
 * `workload.spec.source.image`, which its Workload never set; instead a Workload's own `spec.image`
 * wins and otherwise the reference is `$(params.image_prefix)$$(workload.metadata.name)$`, a choice
 * plain `$(…)$` templates cannot express. With the param `image_semver` the Image gets a semver policy
 * (the repository's newest tag in that range). ytt accepts only `#!` comments here.
 */
export function imageYtt(verification: ImageVerification | undefined): string {
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
    `  #@ if data.values.params.${IMAGE_SEMVER_PARAM}:`,
    '  #! The param image_semver: the newest tag in that range, spec.image naming the repository.',
    '  policy:',
    '    semver:',
    `      range: #@ data.values.params.${IMAGE_SEMVER_PARAM}`,
    '  #@ end',
    // JSON is YAML: the block as the admin wrote it, the same for every Workload.
    ...(verification ? [`  verification: ${JSON.stringify(verification)}`] : []),
    '',
  ].join('\n');
}


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

/**
 * The seed's Deployment, in the scope of the resource that stamps it: named, labelled and selected by
 * the Workload's name, running the digest the image controller resolved.
 */
export function seedDeployment(resource: SupplyChainResource<'none', {}, typeof IMAGE_INPUT>, props: DeploymentTemplateProps): void {
  const labels = { app: workload.name };
  new k8s.KubeDeployment(resource, 'Deployment', {
    metadata: { name: workload.name, labels },
    spec: {
      replicas: props.replicas ?? 1,
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
