/**
 * A throwaway Samba Active Directory domain controller on loopback, for end-to-end tests that
 * need what only AD gives: service tickets with a full PAC (LOGON_INFO with group SIDs,
 * UPN_DNS_INFO, CLIENT_INFO), and winbind/NETLOGON for NTLM.
 *
 * Samba listens on the well-known ports (88, 389, 445, 135, ...) and cannot be moved off them, so
 * only one DC can run per machine at a time: startSambaDc() takes a machine-wide lock (a directory
 * created atomically under the OS temp dir, naming the owning pid) and waits for it. Only one test
 * file should use this harness, so parallel test files never queue behind each other for long.
 *
 * Steps (a real DC, as every e2e test uses real servers and clients rather than mocks):
 *  1. `samba-tool domain provision` with `-s` pointing at an empty config, so the host's smb.conf
 *     (with its shares) does not leak in;
 *  2. our own smb.conf with every directory under the temp dir, loopback only, no NetBIOS;
 *  3. users, groups, a service account holding `HTTP/localhost`, made AES-only
 *     (msDS-SupportedEncryptionTypes = 24, otherwise AD issues RC4 tickets for it), and its keytab
 *     exported: all done offline against sam.ldb, before the server starts (faster, no auth);
 *  4. `samba -i -M single` with stdin held open: samba's interactive mode exits when stdin closes,
 *     so the DC dies with the test process even if `stop()` is never reached;
 *  5. readiness by polling kinit until the KDC answers.
 */
import { execFile, spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';

export interface SambaUser {
  readonly name: string;
  readonly password: string;
  /**
   * An account in a state the DC refuses: `disabled` (samba-tool user disable), `passwordExpired`
   * (pwdLastSet far in the past, beyond the domain's 42-day maximum password age),
   * `mustChangePassword` (pwdLastSet = 0).
   */
  readonly state?: 'disabled' | 'passwordExpired' | 'mustChangePassword';
}

/** A computer (machine) account with a known password, for NETLOGON secure channels. */
export interface SambaMachineAccount {
  /** NetBIOS computer name without `$` (the account is `<name>$`). */
  readonly name: string;
  readonly password: string;
}

export interface SambaGroup {
  readonly name: string;
  readonly members: readonly string[];
}

export interface SambaDcOptions {
  /** Kerberos realm (upper case). Default SAMDOM.TEST. */
  readonly realm?: string;
  /** NetBIOS domain name. Default SAMDOM. */
  readonly domain?: string;
  /** Users to create. Default: alice. */
  readonly users?: readonly SambaUser[];
  /** Groups to create, with members. Default: webusers containing alice. */
  readonly groups?: readonly SambaGroup[];
  /** The service account that holds the HTTP SPN. Default websvc. */
  readonly serviceAccount?: string;
  /** SPNs put on the service account and exported to the keytab. Default HTTP/localhost. */
  readonly servicePrincipals?: readonly string[];
  /**
   * Put `user` into `count` extra global groups (bulk0..), so its tickets carry a PAC large
   * enough to exceed Node's default 16 KiB header limit (about 1500 groups do).
   */
  readonly bulkGroups?: { readonly user: string; readonly count: number };
  /** Computer accounts to create, each with a known password. Default: none. */
  readonly machineAccounts?: readonly SambaMachineAccount[];
  /** Domain account lockout threshold (bad passwords before lockout). Default: Samba's (0, off). */
  readonly lockoutThreshold?: number;
  /** How long to wait for another test process's DC to go away. Default 10 minutes. */
  readonly lockTimeoutMs?: number;
}

export interface SambaDc {
  readonly realm: string;
  readonly domain: string;
  /** The temp dir holding the whole DC; removed by stop(). */
  readonly dir: string;
  /** A krb5.conf pointing clients at this KDC (kdc = 127.0.0.1). */
  readonly krb5Conf: string;
  /** Keytab of the service account's SPNs (AES keys only). */
  readonly keytabPath: string;
  /** The domain SID, S-1-5-21-x-y-z. */
  readonly domainSid: string;
  readonly adminPassword: string;
  readonly users: readonly SambaUser[];
  /** Object SIDs of every created user and group, by account name. */
  readonly sids: ReadonlyMap<string, string>;
  /** Environment for Kerberos clients: KRB5_CONFIG, plus the process environment. */
  readonly env: NodeJS.ProcessEnv;
  /** Get a TGT for `user` into `ccache` (a file path); resolves the ccache path. */
  kinit(user: string, password: string, ccache?: string): Promise<string>;
  /** Stop the samba process only (the DC's state stays); `startServer()` brings it back. */
  stopServer(): Promise<void>;
  /** Start samba again after `stopServer()` and wait until it answers. */
  startServer(): Promise<void>;
  /** Stop samba, release the lock, remove the temp dir. Safe to call twice. */
  stop(): Promise<void>;
}

export const DEFAULT_SAMBA_USERS: readonly SambaUser[] = [
  { name: 'alice', password: 'Al1ce-Passw0rd!' },
];
export const DEFAULT_SAMBA_GROUPS: readonly SambaGroup[] = [
  { name: 'webusers', members: ['alice'] },
];

const LOCK_DIR = join(tmpdir(), 'httpauth-samba-dc.lock');

interface RunResult {
  readonly stdout: string;
  readonly stderr: string;
}

function run(
  file: string,
  args: readonly string[],
  options: { env?: NodeJS.ProcessEnv; input?: string; timeoutMs?: number } = {},
): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const child = execFile(
      file,
      args,
      {
        env: options.env ?? process.env,
        timeout: options.timeoutMs ?? 300_000,
        maxBuffer: 8 << 20,
      },
      (error, stdout, stderr) => {
        if (error !== null) {
          reject(
            new Error(`${file} ${args.slice(0, 3).join(' ')} failed: ${String(stderr).trim()}`, {
              cause: error,
            }),
          );
          return;
        }
        resolve({ stdout: String(stdout), stderr: String(stderr) });
      },
    );
    // A client that fails before reading its prompt closes stdin: ignore the EPIPE.
    child.stdin?.on('error', () => undefined);
    if (options.input !== undefined) child.stdin?.end(options.input);
  });
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Take the machine-wide DC lock: mkdir is atomic; a lock whose owner died is stale. */
async function acquireLock(timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      await mkdir(LOCK_DIR);
      await writeFile(join(LOCK_DIR, 'pid'), String(process.pid));
      return;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    }
    let owner = NaN;
    try {
      owner = Number.parseInt(await readFile(join(LOCK_DIR, 'pid'), 'utf8'), 10);
    } catch {
      // The owner is between mkdir and writing its pid; give it a moment.
    }
    if (Number.isInteger(owner) && !alive(owner)) {
      await rm(LOCK_DIR, { recursive: true, force: true });
      continue;
    }
    if (Date.now() > deadline) {
      throw new Error('another Samba DC holds the machine-wide lock for too long');
    }
    await delay(500);
  }
}

async function releaseLock(): Promise<void> {
  try {
    const owner = Number.parseInt(await readFile(join(LOCK_DIR, 'pid'), 'utf8'), 10);
    if (owner !== process.pid) return;
  } catch {
    return;
  }
  await rm(LOCK_DIR, { recursive: true, force: true });
}

function smbConf(dir: string, realm: string, domain: string): string {
  return `[global]
\tworkgroup = ${domain}
\trealm = ${realm}
\tnetbios name = DC1
\tserver role = active directory domain controller
\tserver services = s3fs, rpc, ldap, cldap, kdc, winbindd
\tinterfaces = 127.0.0.1
\tbind interfaces only = yes
\tdisable netbios = yes
\tprivate dir = ${dir}/private
\tlock directory = ${dir}
\tstate directory = ${dir}/state
\tcache directory = ${dir}/cache
\tpid directory = ${dir}/run
\tncalrpc dir = ${dir}/run/ncalrpc
\tbinddns dir = ${dir}/bind-dns
\tlog file = ${dir}/log.samba
\tlog level = 1
\tidmap_ldb:use rfc2307 = yes
`;
}

function krb5Conf(realm: string): string {
  return `[libdefaults]
\tdefault_realm = ${realm}
\tdns_lookup_realm = false
\tdns_lookup_kdc = false
\trdns = false
\tdns_canonicalize_hostname = false
\tforwardable = true
[realms]
\t${realm} = {
\t\tkdc = 127.0.0.1
\t}
[domain_realm]
\tlocalhost = ${realm}
`;
}

async function objectSid(samLdb: string, account: string): Promise<string> {
  const { stdout } = await run('ldbsearch', [
    '-H',
    samLdb,
    `(sAMAccountName=${account})`,
    'objectSid',
  ]);
  const match = /^objectSid: (S-1-5-21-[0-9-]+)$/m.exec(stdout);
  if (match === null) throw new Error(`no objectSid for ${account}`);
  return match[1] as string;
}

async function objectDn(samLdb: string, account: string): Promise<string> {
  const { stdout } = await run('ldbsearch', ['-H', samLdb, `(sAMAccountName=${account})`, 'dn']);
  const match = /^dn: (.+)$/m.exec(stdout);
  if (match === null) throw new Error(`no dn for ${account}`);
  return match[1] as string;
}

export async function startSambaDc(options: SambaDcOptions = {}): Promise<SambaDc> {
  const realm = options.realm ?? 'SAMDOM.TEST';
  const domain = options.domain ?? 'SAMDOM';
  const users = options.users ?? DEFAULT_SAMBA_USERS;
  const groups = options.groups ?? DEFAULT_SAMBA_GROUPS;
  const serviceAccount = options.serviceAccount ?? 'websvc';
  const spns = options.servicePrincipals ?? ['HTTP/localhost'];
  const adminPassword = 'Adm1n-Passw0rd!';

  await acquireLock(options.lockTimeoutMs ?? 600_000);
  const dir = await mkdtemp(join(tmpdir(), 'httpauth-samba-'));
  let child: ChildProcess | undefined;
  let stopped = false;
  // Set while killServer stops the DC on purpose (stop(), or a test's stopServer()).
  let stopping = false;

  const killServer = async (): Promise<void> => {
    stopping = true;
    const running = child;
    if (running !== undefined && running.exitCode === null && running.signalCode === null) {
      const exited = new Promise<void>((resolve) => running.once('exit', () => resolve()));
      running.stdin?.end();
      running.kill('SIGTERM');
      const killed = await Promise.race([
        exited.then(() => true),
        delay(10_000, undefined, { ref: false }).then(() => false),
      ]);
      if (!killed) {
        running.kill('SIGKILL');
        await exited;
      }
    }
  };

  const stop = async (): Promise<void> => {
    if (stopped) return;
    stopped = true;
    await killServer();
    await rm(dir, { recursive: true, force: true });
    await releaseLock();
  };

  try {
    const emptyConf = join(dir, 'empty.conf');
    await writeFile(emptyConf, '');
    const target = join(dir, 'dc');
    await run('samba-tool', [
      'domain',
      'provision',
      '-s',
      emptyConf,
      '--use-rfc2307',
      `--realm=${realm}`,
      `--domain=${domain}`,
      '--server-role=dc',
      '--dns-backend=NONE',
      `--adminpass=${adminPassword}`,
      `--targetdir=${target}`,
      '--host-name=dc1',
      '--host-ip=127.0.0.1',
      '--option=interfaces=127.0.0.1',
      '--option=bind interfaces only=yes',
      '--option=netbios name=DC1',
    ]);
    const conf = join(target, 'etc', 'smb.conf');
    await writeFile(conf, smbConf(target, realm, domain));
    await mkdir(join(target, 'run'), { recursive: true });
    await mkdir(join(target, 'cache'), { recursive: true });
    const samLdb = join(target, 'private', 'sam.ldb');
    const offline = ['-s', conf, '-H', samLdb];

    for (const user of users) {
      await run('samba-tool', ['user', 'create', user.name, user.password, ...offline]);
      if (user.state === 'disabled') {
        await run('samba-tool', ['user', 'disable', user.name, ...offline]);
      } else if (user.state !== undefined) {
        // The DSDB modules allow only 0 or -1 in pwdLastSet (even offline, even with relax), so
        // the old value (2012, far beyond the default 42-day maximum password age) is written
        // into the domain partition's file itself, below the module stack.
        const userDn = await objectDn(samLdb, user.name);
        const value = user.state === 'mustChangePassword' ? '0' : '129698208000000000';
        const userLdif = join(dir, `pwd-${user.name}.ldif`);
        await writeFile(
          userLdif,
          `dn: ${userDn}\nchangetype: modify\nreplace: pwdLastSet\npwdLastSet: ${value}\n`,
        );
        const partition = userDn.slice(userDn.indexOf(',DC=') + 1).toUpperCase();
        await run('ldbmodify', [
          '-H',
          join(target, 'private', 'sam.ldb.d', `${partition}.ldb`),
          userLdif,
        ]);
      }
    }
    for (const machine of options.machineAccounts ?? []) {
      await run('samba-tool', ['computer', 'create', machine.name, ...offline]);
      await run('samba-tool', [
        'user',
        'setpassword',
        `${machine.name}$`,
        `--newpassword=${machine.password}`,
        ...offline,
      ]);
    }
    if (options.lockoutThreshold !== undefined) {
      await run('samba-tool', [
        'domain',
        'passwordsettings',
        'set',
        `--account-lockout-threshold=${options.lockoutThreshold}`,
        ...offline,
      ]);
    }
    for (const group of groups) {
      await run('samba-tool', ['group', 'add', group.name, ...offline]);
      if (group.members.length > 0) {
        await run('samba-tool', [
          'group',
          'addmembers',
          group.name,
          group.members.join(','),
          ...offline,
        ]);
      }
    }
    if (options.bulkGroups !== undefined) {
      // One ldbadd of many groups is seconds; samba-tool would take a process per group.
      const memberDn = await objectDn(samLdb, options.bulkGroups.user);
      const baseDn = memberDn.slice(memberDn.indexOf(',DC=') + 1);
      let bulk = '';
      for (let i = 0; i < options.bulkGroups.count; i++) {
        bulk += `dn: CN=bulk${i},CN=Users,${baseDn}\nobjectClass: group\nsAMAccountName: bulk${i}\nmember: ${memberDn}\n\n`;
      }
      const bulkLdif = join(dir, 'bulk-groups.ldif');
      await writeFile(bulkLdif, bulk);
      await run('ldbadd', ['-H', samLdb, bulkLdif]);
    }
    await run('samba-tool', ['user', 'create', serviceAccount, '--random-password', ...offline]);
    for (const spn of spns) {
      await run('samba-tool', ['spn', 'add', spn, serviceAccount, ...offline]);
    }
    // AES-only (0x08 | 0x10): without it AD issues RC4 service tickets for a user account.
    const serviceDn = await objectDn(samLdb, serviceAccount);
    const ldif = join(dir, 'aes-only.ldif');
    await writeFile(
      ldif,
      `dn: ${serviceDn}\nchangetype: modify\nreplace: msDS-SupportedEncryptionTypes\nmsDS-SupportedEncryptionTypes: 24\n`,
    );
    await run('ldbmodify', ['-H', samLdb, ldif]);
    const keytabPath = join(dir, 'http.keytab');
    for (const spn of spns) {
      await run('samba-tool', [
        'domain',
        'exportkeytab',
        keytabPath,
        `--principal=${spn}`,
        '-s',
        conf,
      ]);
    }

    const sids = new Map<string, string>();
    for (const account of [...users.map((u) => u.name), ...groups.map((g) => g.name)]) {
      sids.set(account, await objectSid(samLdb, account));
    }
    sids.set(serviceAccount, await objectSid(samLdb, serviceAccount));
    const firstSid = sids.values().next().value as string;
    const domainSid = firstSid.slice(0, firstSid.lastIndexOf('-'));

    const krb5ConfPath = join(dir, 'krb5.conf');
    await writeFile(krb5ConfPath, krb5Conf(realm));
    const env: NodeJS.ProcessEnv = { ...process.env, KRB5_CONFIG: krb5ConfPath };
    delete env.KRB5CCNAME;

    // winbindd listens in its compiled-in /run/samba/winbindd (where libwbclient looks), and
    // Samba 4.22's exits with status 1, taking the DC down, when /run/samba is missing: the
    // package's tmpfiles/init scripts make it, which a fresh container or chroot never runs.
    await mkdir('/run/samba', { recursive: true });
    let exitedEarly = false;
    // The last lines samba printed, for the error when it exits during start-up.
    let output = '';
    const spawnServer = (): void => {
      exitedEarly = false;
      stopping = false;
      output = '';
      const spawned = spawn('samba', ['-i', '-M', 'single', '-s', conf], {
        stdio: ['pipe', 'pipe', 'pipe'],
        env: process.env,
      });
      const keep = (chunk: Buffer) => {
        output = (output + chunk.toString('utf8')).slice(-4000);
      };
      spawned.stdout?.on('data', keep);
      spawned.stderr?.on('data', keep);
      child = spawned;
      spawned.once('exit', (code, signal) => {
        exitedEarly = true;
        // A DC that dies under a running test leaves only "KDC unavailable" behind: say why.
        if (!stopped && !stopping)
          console.error(`samba-dc harness: samba exited (${code ?? signal}):\n${output}`);
      });
    };
    spawnServer();

    const kinit = async (user: string, password: string, ccache?: string): Promise<string> => {
      const path = ccache ?? join(dir, `ccache-${user}-${Date.now()}`);
      await run('kinit', ['-f', '-c', `FILE:${path}`, user], {
        env,
        input: `${password}\n`,
        timeoutMs: 60_000,
      });
      return path;
    };

    const waitReady = async (): Promise<void> => {
      // Readiness: the KDC answers a real AS exchange (every listener comes up before the KDC does).
      const firstUser = users.find((user) => user.state === undefined);
      const deadline = Date.now() + 180_000;
      let restarts = 0;
      for (;;) {
        if (exitedEarly) {
          // Again after a pause (a port still held by a DC that just stopped), then say why.
          if (restarts++ < 2) {
            await delay(2000);
            spawnServer();
            continue;
          }
          const log = await readFile(join(target, 'log.samba'), 'utf8').catch(() => '');
          throw new Error(`samba exited during start-up:\n${output}\n${log.slice(-4000)}`);
        }
        try {
          if (firstUser !== undefined) {
            await kinit(firstUser.name, firstUser.password, join(dir, 'ccache-readiness'));
          } else {
            await kinit('Administrator', adminPassword, join(dir, 'ccache-readiness'));
          }
          break;
        } catch (error) {
          if (Date.now() > deadline) throw error;
          await delay(250);
        }
      }
      // Probe LDAP too: the harness's users may look groups up through it.
      const ldapDeadline = Date.now() + 120_000;
      for (;;) {
        try {
          await run(
            'ldbsearch',
            ['-H', 'ldap://127.0.0.1', '-s', 'base', '-b', '', 'defaultNamingContext'],
            { timeoutMs: 10_000 },
          );
          break;
        } catch (error) {
          if (Date.now() > ldapDeadline) throw error;
          await delay(250);
        }
      }
    };
    await waitReady();

    return {
      realm,
      domain,
      dir,
      krb5Conf: krb5ConfPath,
      keytabPath,
      domainSid,
      adminPassword,
      users,
      sids,
      env,
      kinit,
      stopServer: killServer,
      startServer: async () => {
        spawnServer();
        await waitReady();
      },
      stop,
    };
  } catch (error) {
    await stop();
    throw error;
  }
}
