// What the README shows is what the tests run. The customization example is the real example: each code
// block the README marks with `<!-- examples/… -->` (or `<!-- main.ts -->`) is that file, byte for byte, so
// what readers copy compiles (typecheck), synthesizes and is snapshot-tested (examples/web-service.test.ts)
// and applied to real Cartographer (test/e2e/web-service); main.ts and web-service.ts are what the package
// test runs in a fresh user's app (test/integration/package). The kind walkthrough is the node walkthrough
// test's steps.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect, it } from 'vitest';
import { readmeWalkthroughCommands, WALKTHROUGH } from '../e2e/walkthrough.js';
import { repoRoot } from './manifests.js';

const readme = readFileSync(join(repoRoot, 'README.md'), 'utf8');
const blocks = [...readme.matchAll(/^<!-- ((?:examples\/)?\S+\.ts) -->\n```ts\n([\s\S]*?)^```$/gm)].map(([, path, code]) => ({ path, code }));

it('marks the example and its test in Customizing', () => {
  expect(blocks.map(({ path }) => path)).toEqual(['main.ts', 'examples/web-service.ts', 'examples/web-service.test.ts']);
});

it.each(blocks)('shows $path exactly as it is', ({ path, code }) => {
  expect(code).toBe(readFileSync(join(repoRoot, path), 'utf8'));
});

// The node walkthrough test (test/e2e/node-walkthrough) runs the README's kind walkthrough step by step:
// the same commands, in the same order, each as written or with a stand-in that says why.
it("lists the kind walkthrough's commands in the order the node test runs them", () => {
  expect(readmeWalkthroughCommands(readme)).toEqual(WALKTHROUGH.map(({ command }) => command));
});
