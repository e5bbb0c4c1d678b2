// Each folder's index.ts says in its first line what the folder owns, and then names each of its files
// with what that file owns, one line each: a file added without its line fails here.
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const src = fileURLToPath(new URL('.', import.meta.url));
const folders = readdirSync(src, { withFileTypes: true })
  .filter((entry) => entry.isDirectory() && readdirSync(join(src, entry.name)).includes('index.ts'))
  .map((entry) => entry.name);

describe('folder indexes', () => {
  it.each(folders)('%s/index.ts names what the folder and each of its files own', (folder) => {
    const header = readFileSync(join(src, folder, 'index.ts'), 'utf8').split('\n').filter((line) => line.startsWith('//'));
    expect(header[0]).toMatch(new RegExp(`^// ${folder}/: \\S`));
    const named = new Map(header.slice(1).map((line) => /^\/\/ {3}(\S+\.ts) +(\S.*)$/.exec(line)).filter((m) => m !== null).map((m) => [m[1]!, m[2]!]));
    const files = readdirSync(join(src, folder)).filter((file) => file.endsWith('.ts') && !file.endsWith('.test.ts') && file !== 'index.ts');
    expect([...named.keys()].sort()).toEqual(files.sort());
  });
});
