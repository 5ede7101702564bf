/**
 * Issue 15: the API reference. `npm run docs:api` (TypeDoc, typedoc.json) must build the reference
 * for every published package and every public entry point of @httpauth/core with no warning:
 * treatWarningsAsErrors turns a public signature that names a type no entry point exports
 * (validation.notExported) or a broken {@link} (validation.invalidLink) into a failure here, and
 * so does an exported function, class, interface, type alias, enum or variable without a doc
 * comment (validation.notDocumented with requiredToBeDocumented).
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('..', import.meta.url));

interface Manifest {
  readonly name: string;
  readonly private?: boolean;
  readonly exports?: Record<string, unknown>;
}

const manifests: Manifest[] = readdirSync(join(ROOT, 'packages')).map(
  (dir) =>
    JSON.parse(readFileSync(join(ROOT, 'packages', dir, 'package.json'), 'utf8')) as Manifest,
);
const published = manifests.filter((manifest) => manifest.private !== true);

/** The import specifiers of a package's code entry points (not ./package.json or a schema). */
function entryPoints(manifest: Manifest): string[] {
  return Object.entries(manifest.exports ?? {})
    .filter(([, target]) => typeof target === 'object' && target !== null && 'types' in target)
    .map(([subpath]) => (subpath === '.' ? manifest.name : `${manifest.name}/${subpath.slice(2)}`));
}

/** The visible text of an HTML page, tags dropped. */
const text = (html: string) => html.replace(/<[^>]*>/g, ' ');

describe('npm run docs:api', () => {
  const out = mkdtempSync(join(tmpdir(), 'httpauth-api-'));
  after(() => rmSync(out, { recursive: true, force: true }));

  const run = spawnSync('npm', ['run', '--silent', 'docs:api', '--', '--out', out], {
    cwd: ROOT,
    encoding: 'utf8',
    env: { ...process.env, NO_COLOR: '1', FORCE_COLOR: '0' },
  });
  // eslint-disable-next-line no-control-regex
  const output = `${run.stdout}\n${run.stderr}`.replace(/\x1b\[[0-9;]*m/g, '');

  it('exits 0 with no TypeDoc warning or error', () => {
    assert.equal(run.status, 0, output);
    assert.doesNotMatch(output, /\[(warning|error)\]/, output);
  });

  it('lists every published package on the index page', () => {
    assert.ok(published.length >= 8, `packages found: ${published.map((m) => m.name).join(', ')}`);
    const index = text(readFileSync(join(out, 'index.html'), 'utf8'));
    for (const manifest of published) assert.ok(index.includes(manifest.name), manifest.name);
  });

  it('documents every entry point of @httpauth/core as its own module', () => {
    const core = manifests.find((manifest) => manifest.name === '@httpauth/core');
    assert.ok(core !== undefined);
    const specifiers = entryPoints(core);
    assert.deepEqual([...specifiers].sort(), [
      '@httpauth/core',
      '@httpauth/core/adapter',
      '@httpauth/core/doctor',
      '@httpauth/core/node',
      '@httpauth/core/wire',
    ]);
    const page = text(readFileSync(join(out, 'modules', '_httpauth_core.html'), 'utf8'));
    for (const specifier of specifiers) assert.ok(page.includes(specifier), specifier);
  });
});
