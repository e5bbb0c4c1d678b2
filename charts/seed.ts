import { App } from 'cdk8s';
import { DemoWorkload, type DemoWorkloadProps } from './demo-workload.js';
import { ImageController, type ImageControllerProps } from './image-controller.js';
import { ImageCrd } from './image-crd.js';
import { appsPrefix, controllerImage, LOCAL_REGISTRY } from './local-registry.js';
import { SupplyChain, type SupplyChainProps } from './supply-chain.js';

export interface SeedChartsProps {
  /**
   * The registry the seed's images are in, `host:port`: the controller runs `<registry>/apps/controller:latest`
   * and the apps are `<registry>/apps/<Workload name>`. `npm run image` pushes the controller to the image
   * dist/ names, and scripts/kind-with-registry.sh runs the registry there, so this is the one place to
   * change it (on macOS, where AirPlay Receiver holds port 5000: `'localhost:5001'`). An `image` or
   * image prefix in the props below wins over it.
   * @default 'localhost:5000' (kind's local registry, the seed's)
   */
  readonly registry?: string;

  /**
   * The image controller's props.
   * @default ImageController's defaults, with the image in `registry` and a NodePort Service: the seed's
   * cluster is a kind cluster, whose registry container reaches /notifications only through a node port
   * (scripts/kind-with-registry.sh --notifications)
   */
  readonly controller?: ImageControllerProps;

  /**
   * The supply chain's props.
   * @default SupplyChain's defaults: the seed's chain
   */
  readonly supplyChain?: SupplyChainProps;

  /**
   * The demo Workload's props, or false for none (your teams write their own Workloads).
   * @default DemoWorkload's defaults, for the supply chain above: the seed's Workload `demo`
   */
  readonly demoWorkload?: DemoWorkloadProps | false;
}

/** The charts `addSeedCharts` added, for a caller that adds charts of its own after them. */
export interface SeedCharts {
  readonly crd: ImageCrd;
  readonly controller: ImageController;
  readonly supplyChain: SupplyChain;
  readonly demoWorkload?: DemoWorkload;
}

/**
 * The seed's cluster, one chart per file: the Image CRD, the image controller, the supply chain and the
 * demo Workload. Chart dependencies number the files (0000-image-crd.k8s.yaml, 0001-…) in the order
 * `kubectl apply -f` must create them, so they are added to the app itself, never to a construct in it.
 */
export function addSeedCharts(app: App, props: SeedChartsProps = {}): SeedCharts {
  const registry = props.registry ?? LOCAL_REGISTRY;
  const crd = new ImageCrd(app, 'image-crd');
  const controller = new ImageController(app, 'image-controller', { image: controllerImage(registry), serviceType: 'NodePort', ...props.controller });
  controller.addDependency(crd);
  const supplyChain = new SupplyChain(app, 'supply-chain', { defaultImagePrefix: appsPrefix(registry), ...props.supplyChain });
  supplyChain.addDependency(controller);
  if (props.demoWorkload === false) return { crd, controller, supplyChain };
  const demoWorkload = new DemoWorkload(app, 'demo-workload', { supplyChain, imagePrefix: appsPrefix(registry), ...props.demoWorkload });
  demoWorkload.addDependency(supplyChain);
  return { crd, controller, supplyChain, demoWorkload };
}
