// A snapshot test of a customized supply chain, as the cdk8s app template's main.test.ts does with
// jest: synthesize the chain in a test app and compare its YAML with the committed snapshot. Synthesis
// checks every placeholder, so a misspelt one fails here too. `npx vitest run examples -u` rewrites it.
import { Testing, Yaml } from 'cdk8s';
import { expect, it } from 'vitest';
import { webServiceSupplyChain } from './web-service.js';

it('stamps an Image, a Deployment and a Service for each web-service Workload', async () => {
  const chain = webServiceSupplyChain(Testing.app());
  await expect(Yaml.stringify(...Testing.synth(chain))).toMatchFileSnapshot('__snapshots__/web-service.yaml');
});
