import { App } from 'cdk8s';
import { DemoWorkload } from './charts/demo-workload.js';
import { ImageController } from './charts/image-controller.js';
import { ImageCrd } from './charts/image-crd.js';
import { SupplyChain } from './charts/supply-chain.js';

// The demo's cluster with the seed's defaults, one chart per file in dist/. Configuration is decided
// here and nowhere else: pass props to the charts to change it (see the README's Customizing).
const app = new App();
const crd = new ImageCrd(app, 'image-crd');
const controller = new ImageController(app, 'image-controller');
const supplyChain = new SupplyChain(app, 'supply-chain');
const workload = new DemoWorkload(app, 'demo-workload');

// Chart dependencies number the files (0000-image-crd.k8s.yaml, 0001-…) in the order
// `kubectl apply -f dist/` must create them: the CRD, the controller, the supply chain, the Workload.
controller.addDependency(crd);
supplyChain.addDependency(controller);
workload.addDependency(supplyChain);

app.synth();
