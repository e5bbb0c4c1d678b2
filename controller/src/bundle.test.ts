import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { build, type BuildOptions } from 'esbuild';
import { describe, expect, it } from 'vitest';

// The build script's own options, so this checks the bundle `npm run build` makes.
const buildScript: string = '../build.mjs';
const { bundleOptions } = (await import(buildScript)) as { bundleOptions: BuildOptions };

describe('the controller bundle', () => {
  // A whole build: a few seconds, more on a busy machine.
  it('leaves out client-node’s generated API classes and models (about 1 MB and 10 MiB of RSS, src/kube/rest.ts)', { timeout: 60_000 }, async () => {
    const dir = await mkdtemp(join(tmpdir(), 'bundle-'));
    try {
      const result = await build({ ...bundleOptions, outfile: join(dir, 'image-controller.js'), sourcemap: false, metafile: true, logLevel: 'silent' });
      // Every file esbuild read is an input; the ones tree-shaken away contribute no bytes.
      const [output] = Object.values(result.metafile!.outputs);
      const bundled = Object.entries(output!.inputs).filter(([, { bytesInOutput }]) => bytesInOutput > 0).map(([path]) => path);
      const clientNode = bundled.filter((path) => path.includes('@kubernetes/client-node/dist/'));
      // What the controller uses of client-node is there: the kubeconfig, its auth, the Watch.
      expect(clientNode.some((path) => path.endsWith('/dist/config.js'))).toBe(true);
      expect(clientNode.some((path) => path.endsWith('/dist/watch.js'))).toBe(true);
      expect(clientNode.filter((path) => /\/dist\/gen\/(models|apis|types)\//.test(path))).toEqual([]);
      expect(clientNode.filter((path) => /\/dist\/(cache|serializer)\.js$/.test(path))).toEqual([]);
      // About 1.0 MB before signature verification; it brought @sigstore/* (~95 KB) and re2js (~155 KB).
      expect(output!.bytes).toBeLessThan(1_350_000);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
