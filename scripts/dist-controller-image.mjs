#!/usr/bin/env node
// Prints the image dist/'s controller Deployment runs (`localhost:5000/apps/controller:latest` by
// default): what `npm run image` builds and pushes, and, before its first `/`, the registry
// scripts/kind-with-registry.sh runs. So the address is set once, in main.ts (addSeedCharts' `registry`),
// and whatever dist/ was last synthesized with is what all three use.
//
//   node scripts/dist-controller-image.mjs [dist-directory]     (default: the repository's dist/)
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const dist = process.argv[2] ?? join(dirname(fileURLToPath(import.meta.url)), '..', 'dist');
const manifest = join(dist, '0001-image-controller.k8s.yaml');
// The chart writes the Deployment's one container as `image: <reference>`; no YAML parser is needed for it.
const images = [...readFileSync(manifest, 'utf8').matchAll(/^\s+image: (\S+)$/gm)].map(([, image]) => image);
if (images.length !== 1) {
  console.error(`${manifest}: expected the controller Deployment's one image, found ${images.length}; run \`npx cdk8s synth\``);
  process.exit(1);
}
console.log(images[0]);
