// Samba for the tests on Debian 12 comes from bookworm-backports.
//
// Why: resource-based constrained delegation (the backend's msDS-AllowedToActOnBehalfOfOtherIdentity,
// MS-SFU §3.2.5.2.3) needs Samba 4.19 or later when Samba runs its default, embedded Heimdal KDC;
// Samba 4.17 (Debian 12) implements it in its MIT KDC build only, which Debian does not ship.
// bookworm-backports carries Debian 13's Samba (4.22), built for Debian 12. Every Samba test then
// runs against that one version.
//
// What it does, idempotently: on Debian 12 only, when a Samba package is missing or older than
// 4.19, it writes /etc/apt/sources.list.d/httpauth-bookworm-backports.sources (deb822: the same
// mirror as the system's own bookworm source, signed by debian-archive-keyring) unless some source
// already has bookworm-backports, and the caller installs with `apt-get install -t
// bookworm-backports` (backports are never picked by default: their priority is 100). Other
// releases (Debian 13 ships 4.22) install Samba as any other package.
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

export const BACKPORTS_SUITE = 'bookworm-backports';
/** The first Samba release whose Heimdal KDC checks RBCD (Samba 4.19 release notes). */
const MINIMUM = [4, 19];
const SOURCE_FILE = '/etc/apt/sources.list.d/httpauth-bookworm-backports.sources';
const KEYRING = '/usr/share/keyrings/debian-archive-keyring.gpg';
const DEFAULT_MIRROR = 'http://deb.debian.org/debian';
/** The binary packages built from Samba's source that the tests install by name. */
const SAMBA_PACKAGES = new Set([
  'samba',
  'samba-ad-dc',
  'samba-ad-provision',
  'winbind',
  'smbclient',
  'ldb-tools',
]);

export function isSambaPackage(name) {
  return SAMBA_PACKAGES.has(name);
}

/** True on Debian 12, whose own Samba (4.17) is too old. */
export function sambaFromBackports() {
  if (!existsSync('/etc/os-release')) return false;
  return /^VERSION_CODENAME=bookworm$/m.test(readFileSync('/etc/os-release', 'utf8'));
}

/**
 * The Samba release a package's version belongs to: '2:4.22.6+dfsg-…' is 4.22, and the libraries
 * Samba builds with their own numbers say it after "samba" ('2:2.11.0+samba4.22.6+dfsg-…').
 */
export function sambaRelease(version) {
  const match = /samba(\d+)\.(\d+)/.exec(version) ?? /^(?:\d+:)?(\d+)\.(\d+)/.exec(version);
  return match === null ? undefined : [Number(match[1]), Number(match[2])];
}

/** The packages of `names` not installed, or installed from a Samba older than 4.19. */
export function outdatedSambaPackages(names) {
  if (names.length === 0) return [];
  const result = spawnSync('dpkg-query', ['-W', '-f=${Package} ${Status} ${Version}\n', ...names], {
    encoding: 'utf8',
  });
  const current = new Set();
  for (const line of result.stdout.split('\n')) {
    const [name, , , status, version] = line.split(' ');
    const release = status === 'installed' ? sambaRelease(version ?? '') : undefined;
    const recent =
      release !== undefined &&
      (release[0] > MINIMUM[0] || (release[0] === MINIMUM[0] && release[1] >= MINIMUM[1]));
    if (recent) current.add(name);
  }
  return names.filter((name) => !current.has(name));
}

/** apt sources as (uris, suites) pairs: deb822 `.sources` files and one-line `.list` files. */
function aptSources() {
  const files = ['/etc/apt/sources.list'];
  const dir = '/etc/apt/sources.list.d';
  if (existsSync(dir)) {
    for (const name of readdirSync(dir)) {
      if (name.endsWith('.list') || name.endsWith('.sources')) files.push(join(dir, name));
    }
  }
  const sources = [];
  for (const file of files.filter((path) => existsSync(path))) {
    const text = readFileSync(file, 'utf8');
    if (file.endsWith('.sources')) {
      for (const stanza of text.split(/\n\s*\n/)) {
        const field = (key) =>
          new RegExp(`^${key}:[ \\t]*(.*)$`, 'mi').exec(stanza)?.[1]?.trim().split(/\s+/) ?? [];
        if (/^Enabled:[ \t]*no/im.test(stanza) || !field('Types').includes('deb')) continue;
        sources.push({ uris: field('URIs'), suites: field('Suites') });
      }
    } else {
      for (const line of text.split('\n')) {
        // deb [options] uri suite component...
        const match = /^\s*deb\s+(?:\[[^\]]*\]\s+)?(\S+)\s+(\S+)/.exec(line);
        if (match !== null) sources.push({ uris: [match[1]], suites: [match[2]] });
      }
    }
  }
  return sources;
}

/** Adds the bookworm-backports source, from the mirror the system uses for bookworm itself. */
export function addBackportsSource() {
  const sources = aptSources();
  if (sources.some((source) => source.suites.includes(BACKPORTS_SUITE))) return;
  const mirror =
    sources.find((source) => source.suites.includes('bookworm'))?.uris[0] ?? DEFAULT_MIRROR;
  console.log(`Adding ${BACKPORTS_SUITE} (${mirror}) for Samba 4.19 or later: ${SOURCE_FILE}`);
  writeFileSync(
    SOURCE_FILE,
    [
      '# Added by the httpauth test suite: Samba >= 4.19 for resource-based constrained delegation.',
      'Types: deb',
      `URIs: ${mirror}`,
      `Suites: ${BACKPORTS_SUITE}`,
      'Components: main',
      `Signed-By: ${KEYRING}`,
      '',
    ].join('\n'),
  );
}
