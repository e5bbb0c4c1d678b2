#!/usr/bin/env node
// Runs the bundled controller; the bundle is built by `npm run build` (it is not committed).
import { existsSync } from 'node:fs';

const bundle = new URL('../dist/image-controller.js', import.meta.url);
if (!existsSync(bundle)) {
  console.error('NotBuilt: the image controller bundle is missing; run `npm run build` first');
  process.exit(2);
}
await import(bundle.href);
