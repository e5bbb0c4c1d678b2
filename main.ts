import { App } from 'cdk8s';
import { addSeedCharts } from './charts/seed.js';

// The demo's cluster with the seed's defaults, one chart per file in dist/. Configuration is decided
// here and nowhere else: pass props to the charts to change it (see the README's Customizing).
const app = new App();
addSeedCharts(app);
app.synth();
