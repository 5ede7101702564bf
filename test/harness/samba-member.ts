/**
 * A winbind member joined to the test Samba AD DC (test/harness/samba-dc.ts), on the same
 * machine: for the winbind backend's end-to-end test, where ntlm_auth asks a member's winbindd,
 * which checks the logon with the DC over its NETLOGON secure channel.
 *
 * A member needs no listening port (winbindd only serves its Unix sockets), so it runs beside
 * the DC with its own smb.conf and every directory under the DC's temp dir. What it cannot do
 * on its own is find the DC: the join and winbindd resolve the DC's DNS name (dc1.<realm>),
 * which no resolver here knows. Both therefore run in a private mount namespace
 * (`unshare --mount`, root only) whose /etc/hosts is a bind mount of a file naming the DC at
 * 127.0.0.1, so the machine's /etc/hosts is never touched. Clients of the member (ntlm_auth,
 * wbinfo) reach its winbindd through wrappers (see withSocket).
 */
import { execFile, spawn, spawnSync } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { mkdir, readFile, readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import type { SambaDc } from './samba-dc.js';

export interface SambaMember {
  /** The member's smb.conf, for `ntlm_auth --configfile=`. */
  readonly smbConf: string;
  /** `ntlm_auth` and `wbinfo` wrappers that talk to this member's winbindd (see withSocket). */
  readonly ntlmAuthPath: string;
  readonly wbinfoPath: string;
  stop(): Promise<void>;
}

function run(file: string, args: readonly string[], env: NodeJS.ProcessEnv): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(file, [...args], { env, timeout: 120_000 }, (error, stdout, stderr) => {
      if (error === null) resolve(String(stdout));
      else reject(new Error(`${file} ${args.slice(0, 6).join(' ')}: ${stdout}${stderr}`));
    });
  });
}

function memberConf(dir: string, dc: SambaDc): string {
  return `[global]
\tworkgroup = ${dc.domain}
\trealm = ${dc.realm}
\tsecurity = ads
\tnetbios name = MEMBER1
\tdisable netbios = yes
\tpassword server = dc1.${dc.realm.toLowerCase()}
\tkerberos method = secrets and keytab
\tprivate dir = ${dir}/private
\tlock directory = ${dir}/lock
\tstate directory = ${dir}/state
\tcache directory = ${dir}/cache
\tpid directory = ${dir}/run
\tncalrpc dir = ${dir}/ncalrpc
\twinbindd socket directory = ${dir}/winbindd
\tlog file = ${dir}/log.%m
\tidmap config * : backend = tdb
\tidmap config * : range = 3000-7999
\tidmap config ${dc.domain} : backend = rid
\tidmap config ${dc.domain} : range = 10000-999999
`;
}

/** PIDs of the processes started with `--configfile=<conf>`: this member's, nobody else's. */
async function processesUsing(conf: string): Promise<number[]> {
  const pids: number[] = [];
  for (const entry of await readdir('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const cmdline = await readFile(`/proc/${entry}/cmdline`, 'utf8');
      if (cmdline.split('\0').includes(`--configfile=${conf}`)) pids.push(Number(entry));
    } catch {
      // Gone between readdir and read.
    }
  }
  return pids;
}

/**
 * `unshare --propagation private` makes every mount of the new namespace private by remounting
 * "/", which fails inside a chroot whose root is no mount point (a fresh-machine root, where CI
 * runs). There the namespace keeps the propagation it inherits ('unchanged'): the bind mounts
 * below then land on files inside the chroot's own tree, never on this machine's /etc.
 */
const PROPAGATION =
  spawnSync('unshare', ['--mount', '--propagation', 'private', 'true']).status === 0
    ? 'private'
    : 'unchanged';

/** `unshare` arguments that run `file args` with `hosts` mounted over /etc/hosts. */
function withHosts(hosts: string, file: string, args: readonly string[]): string[] {
  return [
    '--mount',
    '--propagation',
    PROPAGATION,
    'sh',
    '-c',
    'mount --bind "$0" /etc/hosts && exec "$@"',
    hosts,
    file,
    ...args,
  ];
}

/**
 * Debian's libwbclient only ever connects to its compiled-in socket directory
 * (/run/samba/winbindd, where the DC's winbindd listens): the SELFTEST_WINBINDD_SOCKET_DIR
 * override exists only in socket_wrapper builds. So a member's clients run in a private mount
 * namespace with the member's socket directory mounted over that path: a wrapper script per
 * client, usable as `ntlmAuthPath` / `wbinfoPath`. The privileged pipe's directory comes from
 * the member's winbindd itself.
 */
async function withSocket(dir: string, client: string, socketDir: string): Promise<string> {
  const wrapper = join(dir, `${client}-member`);
  await writeFile(
    wrapper,
    `#!/bin/sh
mkdir -p /run/samba/winbindd
exec unshare --mount --propagation ${PROPAGATION} sh -c 'mount --bind "$0" /run/samba/winbindd && exec ${client} "$@"' '${socketDir}' "$@"
`,
    { mode: 0o755 },
  );
  return wrapper;
}

export async function joinSambaMember(dc: SambaDc): Promise<SambaMember> {
  const dir = join(dc.dir, 'member');
  for (const sub of ['private', 'lock', 'state', 'cache', 'run', 'ncalrpc', 'winbindd']) {
    await mkdir(join(dir, sub), { recursive: true });
  }
  const smbConf = join(dir, 'smb.conf');
  await writeFile(smbConf, memberConf(dir, dc));
  const hosts = join(dir, 'hosts');
  const dcName = `dc1.${dc.realm.toLowerCase()}`;
  await writeFile(hosts, `127.0.0.1 localhost\n127.0.0.1 ${dcName} dc1\n`);
  const env: NodeJS.ProcessEnv = dc.env;
  const socketDir = join(dir, 'winbindd');

  // The DC answers Kerberos and LDAP before its RPC services are up: retry the join a while.
  const joinDeadline = Date.now() + 60_000;
  for (;;) {
    try {
      await run(
        'unshare',
        withHosts(hosts, 'net', [
          'ads',
          'join',
          '-s',
          smbConf,
          '-S',
          dcName,
          '-U',
          `Administrator%${dc.adminPassword}`,
          '--no-dns-updates',
        ]),
        env,
      );
      break;
    } catch (error) {
      if (Date.now() > joinDeadline) throw error;
      await delay(1_000);
    }
  }

  let winbindd: ChildProcess | undefined = spawn(
    'unshare',
    withHosts(hosts, 'winbindd', ['-F', '--no-process-group', '-s', smbConf]),
    // Its own process group, so stop() ends winbindd's children with it.
    { env, stdio: ['ignore', 'ignore', 'ignore'], detached: true },
  );
  const stop = async (): Promise<void> => {
    const child = winbindd;
    winbindd = undefined;
    if (child === undefined || child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise((resolve) => child.once('exit', resolve));
    const group = -(child.pid as number);
    process.kill(group, 'SIGTERM');
    await Promise.race([exited, delay(10_000)]);
    try {
      process.kill(group, 'SIGKILL');
    } catch {
      // The whole group is gone already.
    }
    // samba-dcerpcd, which net and winbindd start on demand, detaches into its own session.
    for (const pid of await processesUsing(smbConf)) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // Exited meanwhile.
      }
    }
  };

  // Ready when the member's winbindd answers and its secure channel to the DC works.
  const deadline = Date.now() + 90_000;
  for (;;) {
    try {
      await run(await withSocket(dir, 'wbinfo', socketDir), ['-t'], env);
      break;
    } catch (error) {
      if (Date.now() > deadline || winbindd?.exitCode !== null) {
        await stop();
        throw error;
      }
      await delay(500);
    }
  }
  return {
    smbConf,
    ntlmAuthPath: await withSocket(dir, 'ntlm_auth', socketDir),
    wbinfoPath: await withSocket(dir, 'wbinfo', socketDir),
    stop,
  };
}
