// Bundles the controller into one ESM file that runs with plain `node`, as the Dockerfile ships it.
import { build } from 'esbuild';

await build({
  entryPoints: ['src/main.ts'],
  outfile: 'dist/image-controller.js',
  bundle: true,
  platform: 'node',
  format: 'esm',
  target: 'node20.18',
  // Node keeps the bundle's source text in the heap: minified it is a third of the size, and ASCII-only
  // (non-ASCII escaped) it is stored one byte per character instead of two. Names are kept, since some
  // dependencies name their errors after their classes (`this.name = this.constructor.name`).
  minify: true,
  keepNames: true,
  charset: 'ascii',
  // Stack traces are mapped back to controller/src (--enable-source-maps): the map needs the mappings,
  // not a copy of every source file, which node would otherwise hold in memory too.
  sourcemap: 'linked',
  sourcesContent: false,
  legalComments: 'none',
  logLevel: 'warning',
  // Some of client-node's dependencies are CommonJS and call require(); give the ESM bundle one.
  banner: { js: "import { createRequire as __createRequire } from 'node:module'; const require = __createRequire(import.meta.url);" },
});
