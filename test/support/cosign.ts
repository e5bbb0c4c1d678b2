/**
 * cosign for the signature tests, built from its Go module by scripts/e2e-setup.sh: it signs images in
 * the test registry with keys and certificates made in the test, and its `cosign verify` is the verdict
 * the controller's must agree with. Nothing here reaches public Sigstore: no transparency-log upload,
 * no TUF, no Fulcio (see the flags below).
 */
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { TestChain, TestKeyPair } from '../../controller/src/testing/signing.js';
import { assetDir, readPinnedVersions } from './assets.js';

/**
 * What keeps `cosign sign` (3.0) offline: no signing config (it would be fetched through TUF) and no
 * transparency-log upload. Without `--new-bundle-format=false` it attaches a sigstore bundle as an OCI
 * referrer (the referrers tag `sha256-<hex>` on a registry without the referrers API); with it, it writes
 * the tag scheme `sha256-<hex>.sig`.
 */
export const OFFLINE_SIGN = ['--use-signing-config=false', '--tlog-upload=false', '--yes'];
/** What keeps `cosign verify` offline: no transparency-log lookup (and, keyless, no SCT). */
export const OFFLINE_VERIFY = ['--insecure-ignore-tlog=true'];
export const TAG_SCHEME = '--new-bundle-format=false';

export interface CosignResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** The cosign binary scripts/e2e-setup.sh built, or undefined when it has not been built. */
export async function findCosign(): Promise<string | undefined> {
  const binary = join(await assetDir(), `cosign-${readPinnedVersions().COSIGN_VERSION}`);
  return existsSync(binary) ? binary : undefined;
}

/**
 * Runs cosign with an empty key password, no TUF root of its own (a fresh home, and no network but
 * loopback), and answers "yes" to nothing: every command here is given `--yes`.
 */
export function runCosign(binary: string, args: string[], home: string, env: NodeJS.ProcessEnv = {}): Promise<CosignResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(binary, args, {
      env: { PATH: process.env.PATH, HOME: home, TUF_ROOT: join(home, 'tuf'), COSIGN_PASSWORD: '', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on('data', (chunk: Buffer) => out.push(chunk));
    child.stderr.on('data', (chunk: Buffer) => err.push(chunk));
    child.once('error', reject);
    child.once('close', (code) => resolve({ code, stdout: Buffer.concat(out).toString('utf8'), stderr: Buffer.concat(err).toString('utf8') }));
  });
}

/** Like runCosign, but a non-zero exit is an error carrying cosign's own words. */
export async function cosignOk(binary: string, args: string[], home: string, env: NodeJS.ProcessEnv = {}): Promise<string> {
  const result = await runCosign(binary, args, home, env);
  if (result.code !== 0) throw new Error(`cosign ${args.join(' ')} exited ${result.code}: ${result.stderr.trim()}`);
  return result.stdout;
}

/** A key pair as cosign keeps one: its encrypted private key (imported from PKCS#8) and the PEM public key. */
export interface CosignKey {
  keyFile: string;
  publicFile: string;
  publicPem: string;
}

/** Imports `pair` into cosign's key format with `cosign import-key-pair` (empty password). */
export async function importKeyPair(binary: string, home: string, dir: string, name: string, pair: TestKeyPair | TestChain): Promise<CosignKey> {
  const privateKey = 'privateKey' in pair ? pair.privateKey : pair.leafKey;
  const pemFile = join(dir, `${name}.pem`);
  await writeFile(pemFile, privateKey.export({ type: 'pkcs8', format: 'pem' }));
  await cosignOk(binary, ['import-key-pair', '--key', pemFile, '--output-key-prefix', join(dir, name), '--yes'], home);
  const publicPem = await readFile(join(dir, `${name}.pub`), 'utf8');
  return { keyFile: join(dir, `${name}.key`), publicFile: join(dir, `${name}.pub`), publicPem };
}
