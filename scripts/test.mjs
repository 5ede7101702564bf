// The whole test suite in one node:test run: unit tests of every package and the end-to-end
// tests under test/, which start their own KDC, Samba DC and Redis on loopback.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { ensurePackages, TEST_PACKAGES } from './system-deps.mjs';

ensurePackages(TEST_PACKAGES);

function testFiles(dir) {
  if (!existsSync(dir)) return [];
  return readdirSync(dir)
    .filter((name) => name.endsWith('.test.ts'))
    .sort()
    .map((name) => join(dir, name));
}

const only = process.argv.slice(2);
const files =
  only.length > 0
    ? only
    : [
        ...readdirSync('packages').flatMap((pkg) => testFiles(join('packages', pkg, 'test'))),
        ...testFiles('test'),
      ];

mkdirSync('.test-tmp', { recursive: true });
// One file per run: two runs in one checkout must not read each other's results.
const tapFile = join('.test-tmp', `results-${process.pid}.tap`);
const result = spawnSync(
  process.execPath,
  [
    '--import',
    'tsx',
    '--test',
    '--test-concurrency=2',
    // A hung test must fail, not hold CI until its deadline.
    '--test-timeout=600000',
    '--test-reporter=spec',
    '--test-reporter-destination=stdout',
    '--test-reporter=tap',
    `--test-reporter-destination=${tapFile}`,
    ...files,
  ],
  { stdio: 'inherit' },
);
// One plain closing line over the whole run, for readers that do not parse TAP or spec output.
// Every test that did not pass counts as failed there (a cancelled test is a test whose hook or
// parent failed or timed out; a todo is unfinished work), and the line before it says which kind.
const tap = existsSync(tapFile) ? readFileSync(tapFile, 'utf8') : '';
rmSync(tapFile, { force: true });
const count = (name) => Number(new RegExp(`^# ${name} (\\d+)$`, 'm').exec(tap)?.[1] ?? 0);
const passed = count('pass');
const notPassed = { failed: count('fail'), cancelled: count('cancelled'), todo: count('todo') };
const failed = notPassed.failed + notPassed.cancelled + notPassed.todo;
console.log(
  `\nnot passed: ${notPassed.failed} failed, ${notPassed.cancelled} cancelled (a hook failed ` +
    `or the test timed out), ${notPassed.todo} todo`,
);
console.log(`tests: ${passed} passed, ${failed} failed, ${count('skipped')} skipped`);
const ok = result.status === 0 && failed === 0 && passed > 0;
process.exit(ok ? 0 : (result.status ?? 1) || 1);
