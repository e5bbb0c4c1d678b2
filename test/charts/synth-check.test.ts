// The placeholder check as a user meets it: the real `cdk8s synth` on an app (fixtures/misspelled-placeholder)
// whose template misspells a placeholder fails, writes nothing, and says what is wrong.
import { execFile } from 'node:child_process';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect, it } from 'vitest';
import { repoRoot } from './manifests.js';

it('`cdk8s synth` fails on a misspelt placeholder, naming the template, the placeholder and what is available', async () => {
  const outdir = await mkdtemp(join(tmpdir(), 'synth-misspelt-'));
  try {
    const result = await new Promise<{ code: number | null; output: string }>((resolve) => {
      const child = execFile(
        join(repoRoot, 'node_modules/.bin/cdk8s'),
        ['synth', '--output', outdir, '--no-check-upgrade'],
        { cwd: join(repoRoot, 'test/charts/fixtures/misspelled-placeholder') },
        (_, stdout, stderr) => resolve({ code: child.exitCode, output: stdout + stderr }),
      );
    });
    expect(result.code, result.output).not.toBe(0);
    expect(result.output).toContain(
      '[supply-chain] ClusterTemplate "web-deployment" (resource "deployer" of supply chain "supply-chain") uses $(workload.metadata.nmae)$, ' +
        'which no resource or param provides (did you mean $(workload.metadata.name)$?); available: images.app.image (or image), workload.metadata.{name, namespace',
    );
    expect(await readdir(outdir)).toEqual([]);
  } finally {
    await rm(outdir, { recursive: true, force: true });
  }
}, 120_000);
