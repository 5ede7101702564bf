// Release the public packages in step (docs/releasing.md):
//
//   node scripts/release.mjs 0.2.0 --dry-run   # everything but commit, tag and publish; files restored
//   node scripts/release.mjs 0.2.0             # bump, build, test, pack, commit, tag, publish
//
// Every public package gets the same version and depends on its siblings at exactly that
// version. The tarballs published are the ones packed and tested here (npm publish <tarball>),
// so nothing is rebuilt between the test and the upload.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

/** In dependency order: core first, so a sibling never reaches the registry before what it pins. */
const PUBLIC_PACKAGES = [
  'core',
  'express',
  'fastify',
  'koa',
  'redis',
  'ldap',
  'gateway',
  'passport',
];
const SEMVER = /^(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)(-[0-9A-Za-z.-]+)?$/;
const OUT = '.release';

const USAGE = 'usage: node scripts/release.mjs <version> [--dry-run [--quick]]';

/** Thrown, not exit(): the finally clause must still put the files back. */
function fail(message) {
  throw new Error(`release: ${message}`);
}

function sh(file, args, options = {}) {
  console.log(`$ ${file} ${args.join(' ')}`);
  return execFileSync(file, args, {
    stdio: options.capture ? 'pipe' : 'inherit',
    encoding: 'utf8',
  });
}

/** Compare two versions by their numeric x.y.z parts (pre-releases sort before their release). */
function compareVersions(a, b) {
  const [pa, pb] = [SEMVER.exec(a), SEMVER.exec(b)];
  for (let i = 1; i <= 3; i++) {
    if (Number(pa[i]) !== Number(pb[i])) return Number(pa[i]) - Number(pb[i]);
  }
  if (pa[4] === pb[4]) return 0;
  if (pa[4] === undefined) return 1;
  if (pb[4] === undefined) return -1;
  return pa[4] < pb[4] ? -1 : 1;
}

/** Files changed by the bump, with their original text, so a dry run can put them back. */
const originals = new Map();
function remember(file) {
  if (!originals.has(file)) originals.set(file, readFileSync(file, 'utf8'));
}
function write(file, text) {
  remember(file);
  writeFileSync(file, text);
}
function restore() {
  for (const [file, text] of originals) writeFileSync(file, text);
}

function readJson(file) {
  return JSON.parse(readFileSync(file, 'utf8'));
}

/** Every public package and every example at `version`; @httpauth/* dependencies pinned to it. */
function bumpManifests(version) {
  const manifests = [
    ...PUBLIC_PACKAGES.map((name) => join('packages', name, 'package.json')),
    ...readdirSync('examples')
      .map((name) => join('examples', name, 'package.json'))
      .filter(existsSync),
  ];
  for (const file of manifests) {
    const manifest = readJson(file);
    if (file.startsWith('packages')) manifest.version = version;
    for (const field of ['dependencies', 'devDependencies', 'peerDependencies']) {
      for (const dep of Object.keys(manifest[field] ?? {})) {
        if (PUBLIC_PACKAGES.some((name) => dep === `@httpauth/${name}`)) {
          manifest[field][dep] = version;
        }
      }
    }
    write(file, `${JSON.stringify(manifest, null, 2)}\n`);
  }
}

/**
 * Keep a Changelog: the Unreleased notes become the release's section, under a fresh Unreleased.
 * The first publish of the version already in the manifests (0.1.0) only dates its section.
 */
function releaseChangelog(version, previous, today, requireNotes) {
  const text = readFileSync('CHANGELOG.md', 'utf8');
  if (version === previous) {
    const heading = new RegExp(`^## \\[${version.replaceAll('.', '\\.')}\\].*$`, 'm');
    if (!heading.test(text)) fail(`CHANGELOG.md has no "## [${version}]" section`);
    write('CHANGELOG.md', text.replace(heading, `## [${version}] - ${today}`));
    return;
  }
  const match = /^## \[Unreleased\]\n([\s\S]*?)(?=^## \[)/m.exec(text);
  if (match === null) fail('CHANGELOG.md has no "## [Unreleased]" section above the releases');
  const notes = match[1].trim();
  if (notes === '' && requireNotes) fail('CHANGELOG.md: nothing under [Unreleased] to release');
  const section = `## [Unreleased]\n\n## [${version}] - ${today}\n\n${notes}\n\n`;
  let next = text.replace(match[0], section);
  const repo = readJson('packages/core/package.json').repository.url.replace(/^git\+|\.git$/g, '');
  next = next.replace(
    /^\[Unreleased\]: .*$/m,
    `[Unreleased]: ${repo}/compare/v${version}...HEAD\n[${version}]: ${repo}/compare/v${previous}...v${version}`,
  );
  write('CHANGELOG.md', next);
}

/** The repository the manifests name must be the one this release is cut from. */
function checkRepository() {
  const origin = sh('git', ['remote', 'get-url', 'origin'], { capture: true }).trim();
  const normalize = (url) =>
    url
      .replace(/^git\+/, '')
      .replace(/^git@([^:]+):/, 'https://$1/')
      .replace(/\.git$/, '');
  for (const name of PUBLIC_PACKAGES) {
    const { repository } = readJson(join('packages', name, 'package.json'));
    if (normalize(repository.url) !== normalize(origin)) {
      fail(`packages/${name}: repository.url ${repository.url} is not origin (${origin})`);
    }
  }
}

function packAll() {
  rmSync(OUT, { recursive: true, force: true });
  mkdirSync(OUT);
  const workspaces = PUBLIC_PACKAGES.flatMap((name) => ['--workspace', `@httpauth/${name}`]);
  sh('npm', ['pack', ...workspaces, '--pack-destination', OUT]);
  return PUBLIC_PACKAGES.map((name) => {
    const file = readdirSync(OUT).find((f) => f.startsWith(`httpauth-${name}-`));
    if (file === undefined) fail(`npm pack wrote no tarball for @httpauth/${name}`);
    return join(OUT, file);
  });
}

function main(argv) {
  const flags = new Set(argv.filter((arg) => arg.startsWith('--')));
  const [version, ...extra] = argv.filter((arg) => !arg.startsWith('--'));
  const dryRun = flags.has('--dry-run');
  const quick = flags.has('--quick');
  for (const flag of flags) {
    if (!['--dry-run', '--quick'].includes(flag)) fail(`unknown option ${flag}`);
  }
  if (version === undefined || extra.length > 0 || !SEMVER.test(version)) {
    fail('give exactly one version, x.y.z or x.y.z-pre.N');
  }
  // --quick runs only the packaging test instead of the whole suite: never for a real release.
  if (quick && !dryRun) fail('--quick is only for --dry-run');
  const previous = readJson('packages/core/package.json').version;
  // Equal: the first publish of the version the manifests already carry (npm refuses a re-publish).
  if (compareVersions(version, previous) < 0) fail(`${version} is below ${previous}`);
  if (!dryRun) {
    if (sh('git', ['status', '--porcelain'], { capture: true }).trim() !== '') {
      fail('the work tree has changes: commit or stash them first');
    }
    checkRepository();
  }

  const today = new Date().toISOString().slice(0, 10);
  let committed = false;
  try {
    bumpManifests(version);
    releaseChangelog(version, previous, today, !dryRun);
    // The lockfile records each workspace's version: refresh it without touching node_modules.
    remember('package-lock.json');
    sh('npm', ['install', '--package-lock-only', '--ignore-scripts', '--no-audit', '--no-fund']);
    // A clean build: nothing stale from an earlier build can reach a tarball.
    for (const name of PUBLIC_PACKAGES)
      rmSync(join('packages', name, 'dist'), { recursive: true, force: true });
    sh('npx', ['turbo', 'run', 'build', '--force']);
    if (quick) sh('node', ['scripts/test.mjs', 'test/pack-install.test.ts']);
    else sh('npm', ['test']);
    const tarballs = packAll();
    const tag = version.includes('-') ? 'next' : 'latest';
    if (!dryRun) {
      sh('git', ['add', ...originals.keys()]);
      sh('git', ['commit', '-m', `release: v${version}`]);
      sh('git', ['tag', '-a', `v${version}`, '-m', `v${version}`]);
      committed = true;
    }
    for (const tarball of tarballs) {
      sh('npm', [
        'publish',
        tarball,
        '--access',
        'public',
        '--tag',
        tag,
        ...(dryRun ? ['--dry-run'] : []),
      ]);
    }
    console.log(
      dryRun
        ? `\ndry run of v${version} complete: nothing committed, tagged or published; files restored`
        : `\nv${version} published. Push the commit and the tag: git push --follow-tags`,
    );
  } finally {
    // A dry run always, a failed release until its commit: the tree is as it was. Once
    // committed, the tree holds the release; a failed publish is resumed by hand (docs/releasing.md).
    if (dryRun || !committed) restore();
  }
}

try {
  main(process.argv.slice(2));
} catch (error) {
  console.error(error instanceof Error ? error.message : error);
  if (error instanceof Error && error.message.startsWith('release:')) console.error(USAGE);
  process.exitCode = 1;
}
