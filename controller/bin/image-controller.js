#!/usr/bin/env -S MALLOC_ARENA_MAX=2 node --max-semi-space-size=1 --max-old-space-size=128
// Runs the bundled controller; the bundle is built by `npm run build` (it is not committed). The bundle
// runs in this process, so the heap options of CONTROLLER_NODE_OPTIONS and the environment of
// CONTROLLER_ENV (src/node-options.ts) are given on the line above: they cannot be set once node has started.
import { existsSync } from 'node:fs';

const bundle = new URL('../dist/image-controller.js', import.meta.url);
if (!existsSync(bundle)) {
  console.error('NotBuilt: the image controller bundle is missing; run `npm run build` first');
  process.exit(2);
}
await import(bundle.href);
