// The seed's cluster, one chart per file in dist/, as a user's cdk8s app writes it (the README's three
// lines): configuration is decided here and nowhere else, by the props addSeedCharts passes to each chart.
import { App } from 'cdk8s';
import { addSeedCharts } from 'simple-supply-chain';

const app = new App();
addSeedCharts(app);
app.synth();
