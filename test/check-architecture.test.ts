/**
 * The architecture check (scripts/check-architecture.mjs) on a fixture tree built to break each
 * rule once: it must name every offending edge and file, and pass the files that follow them.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';

const SCRIPT = fileURLToPath(new URL('../scripts/check-architecture.mjs', import.meta.url));

const manifest = (name: string) =>
  JSON.stringify({
    name,
    type: 'module',
    exports: { '.': { types: './dist/index.d.ts', import: './dist/index.js' } },
  });

const lines = (count: number) =>
  Array.from({ length: count }, (_, i) => `export const v${i} = ${i};`).join('\n');

/** Relative path -> contents. */
const FIXTURE: Record<string, string> = {
  'packages/core/package.json': manifest('@httpauth/core'),
  'packages/core/src/index.ts': "export { a } from './loop/a.js';\n",
  // An upward edge, type-only: a primitive naming a type of the loop.
  'packages/core/src/crypto/low.ts':
    "import type { A } from '../loop/a.js';\nexport const low = (x: A) => x;\n",
  // A cycle closed by a type-only import.
  'packages/core/src/loop/a.ts':
    "import { b } from './b.js';\nexport type A = number;\nexport const a = b;\n",
  'packages/core/src/loop/b.ts':
    "import type { A } from './a.js';\nexport const b: A = 1;\n// import { c } from './c.js' (a comment, not an import)\n",
  // A file in no layer of the table.
  'packages/core/src/mystery/x.ts': 'export const x = 1;\n',
  // An upward edge to another package through an import type, which resolves to its src.
  'packages/core/src/node/glue.ts': "export type K = import('@httpauth/koa').K;\n",
  // Too long without a reason, and too long with one.
  'packages/core/src/store/long.ts': `${lines(401)}\n`,
  'packages/core/src/store/table.ts': `// size: one generated table, split it and it reads worse\n${lines(401)}\n`,
  'packages/core/src/store/short.ts': `${lines(400)}\n`,
  'packages/koa/package.json': manifest('@httpauth/koa'),
  'packages/koa/src/index.ts': "import { a } from '@httpauth/core';\nexport type K = typeof a;\n",
};

describe('scripts/check-architecture.mjs', () => {
  let root: string;
  before(() => {
    root = mkdtempSync(join(tmpdir(), 'httpauth-architecture-'));
    for (const [path, text] of Object.entries(FIXTURE)) {
      mkdirSync(dirname(join(root, path)), { recursive: true });
      writeFileSync(join(root, path), text);
    }
  });
  after(() => rmSync(root, { recursive: true, force: true }));

  const run = () => {
    const result = spawnSync(process.execPath, [SCRIPT, '--root', root], { encoding: 'utf8' });
    const findings = result.stderr
      .split('\n')
      .filter((line) => /^(size|layer|cycle|unmapped) /.test(line))
      .map((line) => line.replace(/ {2}\(.*\)$/, ''));
    return { status: result.status, findings };
  };

  it('fails and names each cycle, upward edge, unmapped file and long file, nothing else', () => {
    const { status, findings } = run();
    assert.equal(status, 1);
    assert.deepEqual(findings.sort(), [
      'cycle packages/core/src/loop/a.ts -> packages/core/src/loop/b.ts -> packages/core/src/loop/a.ts',
      'layer packages/core/src/crypto/low.ts -> packages/core/src/loop/a.ts',
      'layer packages/core/src/node/glue.ts -> packages/koa/src/index.ts',
      'size packages/core/src/store/long.ts',
      'unmapped packages/core/src/mystery/x.ts',
    ]);
  });

  it('passes once the fixture follows the rules', () => {
    writeFileSync(join(root, 'packages/core/src/crypto/low.ts'), 'export const low = 1;\n');
    writeFileSync(join(root, 'packages/core/src/loop/b.ts'), 'export const b = 1;\n');
    rmSync(join(root, 'packages/core/src/mystery'), { recursive: true });
    rmSync(join(root, 'packages/core/src/node/glue.ts'));
    writeFileSync(join(root, 'packages/core/src/store/long.ts'), `${lines(400)}\n`);
    const { status, findings } = run();
    assert.deepEqual(findings, []);
    assert.equal(status, 0);
  });
});
