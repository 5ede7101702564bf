/**
 * The packages as a user installs them: `npm pack` of every public package (each `prepack`
 * builds first), the tarballs installed from files into a throwaway app outside the workspace
 * (no workspace links), next to Express, Fastify and Koa from the registry; then real servers
 * answering curl with Digest, `npx httpauth-gateway --help`, both module systems, and a
 * TypeScript consumer type-checked under every `moduleResolution` the README promises.
 *
 * Needs the npm registry, or an npm cache that already holds the frameworks' versions: the app
 * installs the same versions as the workspace, with --prefer-offline.
 */
import { strict as assert } from 'node:assert';
import { lstat, mkdir, mkdtemp, readFile, realpath, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, normalize } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, describe, test } from 'node:test';
import { curl } from './harness/http-clients.js';
import {
  APPS,
  CONSUMER_CTS,
  CONSUMER_TS,
  PASSWORD,
  REALM,
  RESOLUTIONS,
  USER,
  tsconfigFor,
} from './harness/pack-apps.js';
import {
  PUBLIC_PACKAGES,
  npm,
  packWorkspaces,
  run,
  startServer,
  unpack,
  type PublicPackage,
} from './harness/pack.js';

const REPO_ROOT = fileURLToPath(new URL('..', import.meta.url));
const TSC = join(REPO_ROOT, 'node_modules', 'typescript', 'bin', 'tsc');
/** The frameworks and type packages the app installs from the registry: the versions we test. */
const REGISTRY_DEPENDENCIES = [
  'express',
  'fastify',
  'koa',
  'passport',
  '@types/express',
  '@types/koa',
  '@types/node',
];
/**
 * Engine warnings the README documents: Fastify 5's own dependency light-my-request pulls
 * cookie@2, which declares `node >=22`; every Fastify user on Node 20 gets it.
 */
const DOCUMENTED_ENGINE_WARNINGS =
  Number(process.versions.node.split('.')[0]) < 22 ? [/^cookie@2\./] : [];

/** What a tarball may hold: compiled output with maps, the sources the maps point at, bin, docs. */
const SHIPPED =
  /^(dist\/.+\.(js|d\.ts|js\.map|d\.ts\.map)|src\/.+\.ts|bin\/[^/]+\.js|[a-z-]+\.schema\.json|package\.json|README\.md|LICENSE)$/;

let work: string;
let app: string;
let tarballs: Map<PublicPackage, string>;
const contents = new Map<PublicPackage, string[]>();
let installLog: string;

async function workspaceVersion(name: string): Promise<string> {
  const manifest = JSON.parse(
    await readFile(join(REPO_ROOT, 'node_modules', name, 'package.json'), 'utf8'),
  ) as { version: string };
  return manifest.version;
}

/** Where a tarball is unpacked, to read what it holds. */
function unpacked(name: PublicPackage, file = ''): string {
  return join(work, 'unpacked', name, file);
}

async function manifestOf(name: PublicPackage) {
  return JSON.parse(await readFile(unpacked(name, 'package.json'), 'utf8')) as {
    name: string;
    main?: string;
    types?: string;
    exports: Record<string, string | Record<string, string>>;
    bin?: Record<string, string>;
    typesVersions?: Record<string, Record<string, string[]>>;
    sideEffects?: unknown;
    publishConfig?: { access?: string };
    repository?: { directory?: string };
    license?: string;
  };
}

before(async () => {
  work = await realpath(await mkdtemp(join(tmpdir(), 'httpauth-pack-')));
  const packDir = join(work, 'tarballs');
  app = join(work, 'app');
  await mkdir(packDir);
  await mkdir(app);
  tarballs = await packWorkspaces(REPO_ROOT, PUBLIC_PACKAGES, packDir);
  for (const [name, tarball] of tarballs) {
    contents.set(name, await unpack(tarball, unpacked(name)));
  }

  await writeFile(
    join(app, 'package.json'),
    JSON.stringify({ name: 'httpauth-pack-consumer', private: true, type: 'module' }),
  );
  for (const [file, source] of Object.entries(APPS)) await writeFile(join(app, file), source);
  await writeFile(join(app, 'consumer.ts'), CONSUMER_TS);
  await writeFile(join(app, 'consumer-cjs.cts'), CONSUMER_CTS);
  for (const mode of Object.keys(RESOLUTIONS)) {
    await writeFile(join(app, `tsconfig.${mode}.json`), tsconfigFor(mode));
  }
  const registry = await Promise.all(
    REGISTRY_DEPENDENCIES.map(async (name) => `${name}@${await workspaceVersion(name)}`),
  );
  const { stdout, stderr } = await npm(
    ['install', '--no-audit', '--no-fund', '--prefer-offline', ...tarballs.values(), ...registry],
    app,
  );
  installLog = stdout + stderr;
});

after(async () => {
  if (work !== undefined) await rm(work, { recursive: true, force: true });
});

describe('the tarballs', () => {
  test('hold the built JavaScript, its .d.ts files, the sources, README.md and LICENSE', async () => {
    const license = await readFile(join(REPO_ROOT, 'LICENSE'), 'utf8');
    for (const name of PUBLIC_PACKAGES) {
      const files = contents.get(name)!;
      for (const required of [
        'package.json',
        'README.md',
        'LICENSE',
        'dist/index.js',
        'dist/index.d.ts',
      ]) {
        assert.ok(
          files.includes(required),
          `@httpauth/${name} lacks ${required}: ${files.join(' ')}`,
        );
      }
      assert.equal(await readFile(unpacked(name, 'LICENSE'), 'utf8'), license, `${name} LICENSE`);
      // Every compiled module comes with its declarations; nothing else (tests, configs) ships.
      for (const file of files.filter((f) => f.startsWith('dist/') && f.endsWith('.js'))) {
        assert.ok(files.includes(file.replace(/\.js$/, '.d.ts')), `${name}: ${file} has no .d.ts`);
      }
      const unexpected = files.filter((f) => !SHIPPED.test(f));
      assert.deepEqual(unexpected, [], `@httpauth/${name} ships unexpected files`);
    }
  });

  test('ship a source map only with the sources it points at', async () => {
    for (const name of PUBLIC_PACKAGES) {
      const files = contents.get(name)!;
      const maps = files.filter((f) => f.endsWith('.map'));
      assert.ok(maps.length > 0, `${name}: no source maps`);
      for (const map of maps) {
        const { sources } = JSON.parse(await readFile(unpacked(name, map), 'utf8')) as {
          sources: string[];
        };
        for (const source of sources) {
          const shipped = normalize(join(dirname(map), source));
          assert.ok(files.includes(shipped), `${name}: ${map} points at ${source}, not shipped`);
        }
      }
    }
  });

  test('point main, types, exports, typesVersions and bin at files they ship', async () => {
    for (const name of PUBLIC_PACKAGES) {
      const manifest = await manifestOf(name);
      const files = contents.get(name)!;
      const targets = [
        manifest.main,
        manifest.types,
        ...Object.values(manifest.exports).flatMap((t) =>
          typeof t === 'string' ? [t] : Object.values(t),
        ),
        ...Object.values(manifest.bin ?? {}),
        ...Object.values(manifest.typesVersions?.['*'] ?? {}).flat(),
      ];
      for (const target of targets) {
        assert.ok(target !== undefined && files.includes(normalize(target)), `${name}: ${target}`);
      }
      assert.equal(manifest.publishConfig?.access, 'public', `${name} publishConfig.access`);
      assert.equal(manifest.repository?.directory, `packages/${name}`, `${name} repository`);
      assert.equal(manifest.license, 'MIT');
    }
    assert.deepEqual(Object.keys((await manifestOf('gateway')).bin ?? {}), ['httpauth-gateway']);
  });
});

describe('installed from the tarballs into an app outside the workspace', () => {
  test('resolves every package to a copy inside the app, not a workspace link', async () => {
    for (const name of PUBLIC_PACKAGES) {
      const installed = join(app, 'node_modules', '@httpauth', name);
      assert.equal((await lstat(installed)).isSymbolicLink(), false, `${name} is a link`);
      assert.ok((await realpath(installed)).startsWith(app), `${name} outside the app`);
    }
  });

  test('prints no engine warning but the documented ones', () => {
    const warned = [...installLog.matchAll(/EBADENGINE[\s\S]*?package: '([^']+)'/g)].map(
      (m) => m[1]!,
    );
    const undocumented = warned.filter(
      (pkg) => !DOCUMENTED_ENGINE_WARNINGS.some((re) => re.test(pkg)),
    );
    assert.deepEqual(undocumented, [], installLog);
  });

  test('links the httpauth command: `npx httpauth doctor` checks a credential file', async () => {
    const file = join(app, 'users.htpasswd');
    await writeFile(file, 'ok-user:{SHA}qUqP5cyxm6YcTAhz05Hph5gvu9M=\nbroken-line\n');
    const failed = await run(
      'npx',
      ['--no-install', 'httpauth', 'doctor', '--htpasswd', file],
      app,
    ).then(
      () => undefined,
      (error: Error) => error.message,
    );
    // One usable account, one bad line: the command says which line and exits 1.
    assert.ok(failed !== undefined, 'doctor passed a file with a bad line');
    assert.match(failed, /users\.htpasswd: 1 account that can log on/);
    assert.match(failed, /users\.htpasswd:2: htpasswd line without user/);
  });

  for (const file of ['express-esm.mjs', 'express-cjs.cjs', 'fastify.mjs', 'koa.mjs']) {
    test(`${file} answers Digest with the user, and 401 without credentials`, async () => {
      const server = await startServer(join(app, file), app);
      try {
        const url = `${server.base}/whoami`;
        const anonymous = await curl([url]);
        assert.equal(anonymous.status, 401);
        const challenge = anonymous.headers.get('www-authenticate')?.join(', ') ?? '';
        assert.ok(challenge.startsWith(`Digest realm="${REALM}"`), challenge);
        const wrong = await curl(['--digest', '-u', `${USER}:not-${PASSWORD}`, url]);
        assert.equal(wrong.status, 401);
        const ok = await curl(['--digest', '-u', `${USER}:${PASSWORD}`, url]);
        assert.equal(ok.status, 200, ok.body);
        assert.deepEqual(JSON.parse(ok.body), {
          name: USER,
          mechanism: 'Digest',
          app: file.replace(/\.[cm]js$/, ''),
        });
      } finally {
        await server.stop();
      }
      assert.doesNotMatch(server.stderr(), /Warning|Error/, 'the app warned');
    });
  }

  test('every entry point loads from both require() and import()', async () => {
    const { stdout, stderr } = await run(process.execPath, ['exports.cjs'], app);
    const seen = JSON.parse(stdout) as Record<string, [string, string]>;
    assert.ok(Object.keys(seen).length >= 12);
    for (const [name, kinds] of Object.entries(seen)) {
      assert.deepEqual(kinds, ['function', 'function'], name);
    }
    assert.equal(stderr, '');
  });

  test('npx httpauth-gateway --help prints the usage', async () => {
    const { stdout } = await run('npx', ['--no-install', 'httpauth-gateway', '--help'], app);
    assert.match(stdout, /^Usage: httpauth-gateway \[options\]/);
    assert.match(stdout, /--config/);
  });
});

// Two at a time: one tsc per core, on the 2-core machine the suite targets.
describe('a TypeScript consumer of the installed packages', { concurrency: 2 }, () => {
  for (const mode of Object.keys(RESOLUTIONS)) {
    test(`type-checks with moduleResolution ${mode}`, async () => {
      await run(process.execPath, [TSC, '-p', `tsconfig.${mode}.json`], app);
    });
  }
});
