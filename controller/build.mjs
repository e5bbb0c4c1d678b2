// Bundles the controller into one ESM file that runs with plain `node`, as the Dockerfile ships it.
import { dirname, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

/**
 * Declares client-node's modules free of side effects, so the bundle keeps only what the controller
 * reaches (KubeConfig, Watch, RequestContext) and drops the generated API classes and models that its
 * index re-exports: about 1 MB of bundle and 10 MiB of RSS (src/kube/rest.ts). Its polyfill module is
 * the one with a side effect (a global `File` for Node 18), and keeps it.
 */
const clientNodeWithoutSideEffects = {
  name: 'client-node-without-side-effects',
  setup(build) {
    const withoutSideEffects = (path) => ({ path, sideEffects: path.endsWith(`${sep}polyfill.js`) });
    // The package itself, as the controller imports it.
    build.onResolve({ filter: /^@kubernetes\/client-node$/ }, async (args) => {
      if (args.pluginData?.resolving) return undefined;
      const resolved = await build.resolve(args.path, { kind: args.kind, resolveDir: args.resolveDir, pluginData: { resolving: true } });
      return resolved.errors.length > 0 ? resolved : withoutSideEffects(resolved.path);
    });
    // Its modules' relative imports of each other, all spelt with their file name.
    build.onResolve({ filter: /^\.\.?\// }, (args) =>
      args.importer.includes(`${sep}@kubernetes${sep}client-node${sep}dist${sep}`) ? withoutSideEffects(resolve(args.resolveDir, args.path)) : undefined,
    );
  },
};

/** The bundle's options, exported for src/bundle.test.ts, which checks what goes into it. */
export const bundleOptions = {
  absWorkingDir: dirname(fileURLToPath(import.meta.url)),
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
  plugins: [clientNodeWithoutSideEffects],
  banner: { js: "import { createRequire as __createRequire } from 'node:module'; const require = __createRequire(import.meta.url);" },
};

if (process.argv[1] === fileURLToPath(import.meta.url)) await build(bundleOptions);
