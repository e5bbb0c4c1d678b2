// The package's entry point: the supply-chain constructs a cdk8s app installs (`simple-supply-chain`).
export { DemoWorkload, type DemoWorkloadProps } from './demo-workload.js';
export { ImageController, type ImageControllerProps } from './image-controller.js';
export { ImageCrd } from './image-crd.js';
export { type DeploymentTemplateProps } from './seed-templates.js';
export { addSeedCharts, type SeedCharts, type SeedChartsProps } from './seed.js';
export { configPlaceholder, imagePlaceholder, numberPlaceholder, paramPlaceholder, placeholder, workload } from './placeholders.js';
export {
  SupplyChain,
  type ConfigResourceProps,
  type ImageResourceProps,
  type SupplyChainProps,
} from './supply-chain.js';
export {
  SupplyChainResource,
  type ParamDefault,
  type ParamPlaceholders,
  type Params,
  type ResourceOutput,
  type ResourceWithOutput,
  type SupplyChainResourceProps,
} from './supply-chain-resource.js';
export * as carto from '../imports/carto.run.js';
// The Image API the controller owns: its names, and its types (written out in the package's .d.ts).
export { IMAGE_API_VERSION, IMAGE_GROUP, IMAGE_KIND, IMAGE_PLURAL } from '../controller/src/api/image.js';
export type { Image, ImageSpec, ImageStatus, ImageVerification, VerificationAuthority } from '../controller/src/api/image.js';
