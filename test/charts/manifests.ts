// Helpers shared by the chart tests: a fresh `cdk8s synth` of the app exactly as a user runs it,
// and typed access to the objects it writes.
import { execFile } from 'node:child_process';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { parseAllDocuments } from 'yaml';

export const repoRoot = fileURLToPath(new URL('../..', import.meta.url));

/** A Kubernetes object as written to YAML. */
export type Manifest = {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; labels?: Record<string, string>; annotations?: Record<string, string> };
  // Tests reach into specs freely; the schema tests are what check their shape.
  [field: string]: any;
};

export interface Synthesis {
  /** File name → file contents, in the order `kubectl apply -f` reads them. */
  files: Map<string, string>;
  /** Every object, in file order. */
  manifests: Manifest[];
}

/** Runs `cdk8s synth` (cdk8s.yaml's app, i.e. main.ts) into a temporary directory. */
export async function synthesize(): Promise<Synthesis> {
  const outdir = await mkdtemp(join(tmpdir(), 'synth-'));
  try {
    await promisify(execFile)('npx', ['cdk8s', 'synth', '--output', outdir, '--no-check-upgrade'], {
      cwd: repoRoot,
    });
    return await readManifests(outdir);
  } finally {
    await rm(outdir, { recursive: true, force: true });
  }
}

/** Reads every YAML file of a directory like dist/. */
export async function readManifests(dir: string): Promise<Synthesis> {
  const names = (await readdir(dir)).filter((name) => name.endsWith('.yaml')).sort();
  const files = new Map<string, string>();
  for (const name of names) files.set(name, await readFile(join(dir, name), 'utf8'));
  return { files, manifests: [...files.values()].flatMap(parseManifests) };
}

export function parseManifests(text: string): Manifest[] {
  return parseAllDocuments(text).map((document) => document.toJS() as Manifest);
}

/** The one object of a kind and name; fails the test when there is not exactly one. */
export function findOne(manifests: Manifest[], kind: string, name: string): Manifest {
  const found = manifests.filter((manifest) => manifest.kind === kind && manifest.metadata.name === name);
  if (found.length !== 1) throw new Error(`expected one ${kind} ${name}, found ${found.length}`);
  return found[0];
}
