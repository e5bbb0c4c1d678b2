// The package as a user gets it: `npm pack` here, then a fresh cdk8s TypeScript app outside the repository
// (the tsconfig.json `cdk8s init typescript-app` writes: CommonJS, no skipLibCheck) installs the tarball
// beside cdk8s, cdk8s-plus-27, constructs and typescript from the npm registry, compiles with its own tsc,
// and synthesizes with the cdk8s CLI. What it writes must be this repository's dist/ and the example's
// snapshot, byte for byte. Its constructs is one patch off ours, which broke a copied package before.
import { cp, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { repoRoot } from '../charts/manifests.js';
import { run } from '../support/processes.js';

/** A constructs release one patch below the repository's pin, inside the package's peer range. */
const USER_CONSTRUCTS = '10.8.0';
const CDK8S = join(repoRoot, 'node_modules/.bin/cdk8s');

/** The environment without what an enclosing `npm run` sets, so npm in the app acts as in a user's shell. */
const env = Object.fromEntries(Object.entries(process.env).filter(([name]) => !name.toLowerCase().startsWith('npm_')));

const versionOf = async (name: string) => JSON.parse(await readFile(join(repoRoot, 'node_modules', name, 'package.json'), 'utf8')).version as string;

let work: string;
let app: string;

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'supply-chain-package-'));
  app = join(work, 'app');
  // `npm pack` runs prepack, which compiles lib/ afresh.
  await run('npm', ['pack', '--pack-destination', work], { cwd: repoRoot, env });
  const [tarball] = (await readdir(work)).filter((name) => name.endsWith('.tgz'));

  await cp(join(repoRoot, 'node_modules/cdk8s-cli/templates/typescript-app/tsconfig.json'), join(app, 'tsconfig.json'));
  await writeFile(join(app, 'package.json'), JSON.stringify({ name: 'user-app', version: '1.0.0', private: true }, null, 2));
  // The README's three lines, this repository's main.ts, as the app's; and its customized chain, the
  // example file as it is, in an app of its own.
  await cp(join(repoRoot, 'main.ts'), join(app, 'main.ts'));
  await cp(join(repoRoot, 'examples/web-service.ts'), join(app, 'web-service.ts'));
  await writeFile(
    join(app, 'web-service-main.ts'),
    ["import { App } from 'cdk8s';", "import { webServiceSupplyChain } from './web-service';", '', 'const app = new App();', 'webServiceSupplyChain(app);', 'app.synth();', ''].join('\n'),
  );
  // A mistake the package catches at synth: a second chain reusing the seed's template names.
  await writeFile(
    join(app, 'mistake-main.ts'),
    [
      "import { App } from 'cdk8s';",
      "import { addSeedCharts, SupplyChain } from 'simple-supply-chain';",
      '',
      'const app = new App();',
      'addSeedCharts(app);',
      "new SupplyChain(app, 'team', { name: 'team', selector: { team: 'a' }, defaultImagePrefix: 'ghcr.io/team/' });",
      'app.synth();',
      '',
    ].join('\n'),
  );
  const install = [
    join(work, tarball),
    `cdk8s@${await versionOf('cdk8s')}`,
    `cdk8s-plus-27@${await versionOf('cdk8s-plus-27')}`,
    `constructs@${USER_CONSTRUCTS}`,
    `typescript@${await versionOf('typescript')}`,
  ];
  await run('npm', ['install', '--no-audit', '--no-fund', '--prefer-offline', ...install], { cwd: app, env });
  await run(join(app, 'node_modules/.bin/tsc'), ['-p', app], { cwd: app, env });
}, 600_000);

afterAll(async () => {
  if (work) await rm(work, { recursive: true, force: true });
});

/** Runs `cdk8s synth` in the app with `entry` as its app; resolves with the files it wrote. */
async function synth(entry: string): Promise<Map<string, string>> {
  const output = join(work, `out-${entry}`);
  await run(CDK8S, ['synth', '--app', `node ${entry}`, '--output', output, '--no-check-upgrade'], { cwd: app, env });
  const files = new Map<string, string>();
  for (const name of (await readdir(output)).sort()) files.set(name, await readFile(join(output, name), 'utf8'));
  return files;
}

describe('the packed package in a fresh cdk8s TypeScript app', () => {
  it("installs with no runtime dependencies of its own and the user's constructs, and its types need nothing more", async () => {
    const manifest = JSON.parse(await readFile(join(app, 'node_modules/simple-supply-chain/package.json'), 'utf8'));
    expect(manifest.dependencies).toBeUndefined();
    expect(Object.keys(manifest.peerDependencies).sort()).toEqual(['cdk8s', 'cdk8s-plus-27', 'constructs']);
    expect(await versionOf('constructs')).not.toBe(USER_CONSTRUCTS);
    expect(JSON.parse(await readFile(join(app, 'node_modules/constructs/package.json'), 'utf8')).version).toBe(USER_CONSTRUCTS);
    // No second constructs under the package, and no type-only dependency of the controller in the app:
    // the app's tsc (beforeAll) compiled against the package's .d.ts without them.
    expect(existsSync(join(app, 'node_modules/simple-supply-chain/node_modules'))).toBe(false);
    expect(existsSync(join(app, 'node_modules/json-schema-to-ts'))).toBe(false);
  });

  it("synthesizes the seed's cluster in three lines, exactly this repository's dist/", async () => {
    const files = await synth('main.js');
    const dist = (await readdir(join(repoRoot, 'dist'))).sort();
    expect([...files.keys()]).toEqual(dist);
    for (const name of dist) expect(files.get(name), name).toBe(await readFile(join(repoRoot, 'dist', name), 'utf8'));
  });

  it("synthesizes the README's customized chain, exactly the example's snapshot", async () => {
    const files = await synth('web-service-main.js');
    expect([...files.keys()]).toEqual(['web-service.k8s.yaml']);
    expect(files.get('web-service.k8s.yaml')).toBe(await readFile(join(repoRoot, 'examples/__snapshots__/web-service.yaml'), 'utf8'));
  });

  it("fails synthesis on a mistake, with the package's message", async () => {
    const error = await synth('mistake-main.js').then(
      () => 'synthesis succeeded',
      (failure: Error) => failure.message,
    );
    expect(error).toContain(
      '[team] ClusterImageTemplate "image" is written by charts "supply-chain" and "team", with different contents: applied together, ' +
        'the later replaces the earlier and breaks what relies on it; give one of them another name (SupplyChain imageTemplateName)',
    );
  });

  it('imports by name from an ES module as well', async () => {
    const names = ['SupplyChain', 'SupplyChainResource', 'ImageController', 'ImageCrd', 'DemoWorkload', 'addSeedCharts', 'workload', 'carto', 'IMAGE_KIND'];
    const script = `import * as library from 'simple-supply-chain'; console.log(JSON.stringify(${JSON.stringify(names)}.filter((name) => library[name] === undefined)));`;
    expect(JSON.parse(await run('node', ['--input-type=module', '-e', script], { cwd: app, env }))).toEqual([]);
  });
});
