// Installs the Debian packages the test suite and the benchmarks drive (real KDCs, clients and
// servers), when any is missing. `apt-get update` runs once, and only when something is missing.
// On Debian 12 the Samba packages come from bookworm-backports (samba-backports.mjs).
import { execFileSync, spawnSync } from 'node:child_process';
import {
  addBackportsSource,
  BACKPORTS_SUITE,
  isSambaPackage,
  outdatedSambaPackages,
  sambaFromBackports,
} from './samba-backports.mjs';

/** Debian packages the test suite needs, grouped by what uses them. */
export const TEST_PACKAGES = [
  // HTTP clients
  'curl',
  'python3-requests',
  'python3-requests-ntlm',
  'python3-requests-kerberos',
  'python3-gssapi',
  'python3-impacket',
  'gss-ntlmssp',
  'chromium',
  // certutil/pk12util: the NSS database ($HOME/.pki/nssdb) holding Chromium's client certificate
  'libnss3-tools',
  // Credential files
  'apache2-utils',
  // useradd/groupadd for the impersonation tests' local users (not in a minimal Debian root)
  'passwd',
  // mount --bind inside unshare: the joined Samba member's private /etc/hosts and socket dir
  'mount',
  // POSIX ACLs (setfacl) for the impersonation access-check tests
  'acl',
  // Self-signed certificates for the HTTPS / channel-binding tests
  'openssl',
  // MIT Kerberos
  'krb5-kdc',
  'krb5-admin-server',
  'krb5-user',
  'libkrb5-dev',
  // MIT's LDAP KDB back end (delegation targets: krbAllowedToDelegateTo) and a private slapd
  'krb5-kdc-ldap',
  'slapd',
  // Samba AD DC (on Debian 12 from bookworm-backports: resource-based constrained delegation
  // needs Samba 4.19 or later, see samba-backports.mjs)
  'samba',
  'samba-ad-dc',
  // samba-tool domain provision: a Recommends of samba-ad-dc, which --no-install-recommends skips
  'samba-ad-provision',
  'winbind',
  'smbclient',
  'ldap-utils',
  'ldb-tools',
  // Kerberos-protected backends (mod_auth_gssapi) for the delegation tests
  'apache2',
  'libapache2-mod-auth-gssapi',
  // Shared state and the gateway
  'redis-server',
  'nginx',
];

export function missingPackages(packages) {
  const result = spawnSync('dpkg-query', ['-W', '-f=${Package} ${Status}\n', ...packages], {
    encoding: 'utf8',
  });
  const installed = new Set(
    result.stdout
      .split('\n')
      .filter((line) => line.endsWith(' install ok installed'))
      .map((line) => line.split(' ')[0]),
  );
  return packages.filter((name) => !installed.has(name));
}

export function ensurePackages(packages) {
  const backports = sambaFromBackports();
  const samba = backports ? packages.filter(isSambaPackage) : [];
  const others = packages.filter((name) => !samba.includes(name));
  const missing = missingPackages(others);
  const outdated = outdatedSambaPackages(samba);
  if (missing.length === 0 && outdated.length === 0) return;
  if (process.getuid?.() !== 0) {
    const what = [...missing, ...outdated.map((name) => `${name} (from ${BACKPORTS_SUITE})`)];
    console.error(`Missing Debian packages (run as root to install): ${what.join(' ')}`);
    process.exit(1);
  }
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  if (outdated.length > 0) addBackportsSource();
  execFileSync('apt-get', ['update', '-q'], { stdio: 'inherit', env });
  const install = ['install', '-y', '-q', '--no-install-recommends'];
  if (missing.length > 0) {
    console.log(`Installing Debian packages: ${missing.join(' ')}`);
    execFileSync('apt-get', [...install, ...missing], { stdio: 'inherit', env });
  }
  if (outdated.length > 0) {
    // -t: these packages and every Samba library they depend on from backports, in one step
    // (Samba's own packages pin each other's exact version).
    console.log(`Installing Debian packages from ${BACKPORTS_SUITE}: ${outdated.join(' ')}`);
    execFileSync('apt-get', [...install, '-t', BACKPORTS_SUITE, ...outdated], {
      stdio: 'inherit',
      env,
    });
  }
  // Debian starts some daemons on install; the tests run their own instances on private ports.
  for (const service of [
    'krb5-kdc',
    'krb5-admin-server',
    'redis-server',
    'nginx',
    'samba-ad-dc',
    'smbd',
    'nmbd',
    'winbind',
  ]) {
    spawnSync('service', [service, 'stop'], { stdio: 'ignore' });
  }
  // These only when this run installed them (a postinst without a policy-rc.d starts them): a
  // slapd or Apache the machine already ran is not ours to stop; the tests start private ones.
  for (const service of ['slapd', 'apache2']) {
    if (missing.includes(service)) spawnSync('service', [service, 'stop'], { stdio: 'ignore' });
  }
}
