/**
 * A throwaway MIT Kerberos realm for tests: database, KDC and keytab in a fresh mkdtemp directory,
 * the KDC (`krb5kdc -n`) listening on 127.0.0.1 at a random high port (UDP and TCP). Everything
 * runs as the current user through KRB5_CONFIG / KRB5_KDC_PROFILE, so nothing outside the
 * directory is touched. Readiness is decided by polling `kinit`, never by sleeping.
 *
 *   const kdc = await startMitKdc({ principals: [{ name: 'alice', password: 'pw' },
 *                                                { name: 'HTTP/localhost' }] });
 *   const { ccache, env } = kdc.kinit('alice', 'pw');
 *   ...
 *   await kdc.stop();
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { createSocket } from 'node:dgram';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** MIT enctype names as kadmin and krb5.conf spell them. */
export type MitEnctype =
  | 'aes256-cts-hmac-sha1-96'
  | 'aes128-cts-hmac-sha1-96'
  | 'aes256-cts-hmac-sha384-192'
  | 'aes128-cts-hmac-sha256-128'
  | 'arcfour-hmac';

export const ALL_ENCTYPES: readonly MitEnctype[] = [
  'aes256-cts-hmac-sha1-96',
  'aes128-cts-hmac-sha1-96',
  'aes256-cts-hmac-sha384-192',
  'aes128-cts-hmac-sha256-128',
  'arcfour-hmac',
];

export interface MitPrincipalSpec {
  /** 'alice' or 'HTTP/localhost' (the realm is appended). */
  readonly name: string;
  /** A user with a password; without one the principal gets random keys (a service). */
  readonly password?: string;
  /** Only these enctypes (`addprinc -e`); default: the realm's supported enctypes. */
  readonly enctypes?: readonly MitEnctype[];
  /** Export the keys to the realm keytab. Default: true for principals without a password. */
  readonly keytab?: boolean;
  /** Extra `addprinc` options, e.g. ['-maxlife', '1h'] or ['+ok_as_delegate']. */
  readonly options?: readonly string[];
}

export interface MitKdcOptions {
  readonly realm?: string;
  readonly principals: readonly MitPrincipalSpec[];
  /** Enctypes the realm supports and clients may use (default: all of ALL_ENCTYPES). */
  readonly enctypes?: readonly MitEnctype[];
  /** Lines appended to [libdefaults] of the clients' krb5.conf. */
  readonly extraLibdefaults?: readonly string[];
  /** Appended to the KDC's kdc.conf, e.g. a `[plugins]` section. */
  readonly extraKdcConf?: string;
  /** Another KDB back end than DB2 (mit-ldap-kdc.ts: OpenLDAP). Default: DB2 in the realm dir. */
  readonly database?: KdbBackend;
}

/** A KDB back end in place of the default DB2 file: its kdc.conf lines and realm creation. */
export interface KdbBackend {
  /** The realm's kdc.conf line(s) naming the database, in place of `database_name = <file>`. */
  readonly realmConf: string;
  /** Sections appended to kdc.conf, e.g. `[dbmodules]`. */
  readonly sections: string;
  /** Create the realm and stash its master key, in place of `kdb5_util create -s`. */
  create(env: NodeJS.ProcessEnv, realm: string, masterPassword: string): void;
}

export interface KinitResult {
  /** FILE: ccache path holding the TGT. */
  readonly ccache: string;
  /** Environment for clients using that ccache (KRB5_CONFIG, KRB5CCNAME). */
  readonly env: NodeJS.ProcessEnv;
}

export interface MitKdc {
  readonly realm: string;
  readonly dir: string;
  readonly port: number;
  /** The client/server krb5.conf path. */
  readonly krb5Conf: string;
  /** Keytab with every service principal's keys (kvno as in the database). */
  readonly keytabPath: string;
  /** Base environment: process.env plus KRB5_CONFIG, KRB5_KDC_PROFILE, KRB5_KTNAME. */
  readonly env: NodeJS.ProcessEnv;
  /**
   * Get a TGT for `user` into a fresh (or the given) ccache. Throws when kinit fails.
   * `tgsEnctypes` gives this client its own krb5.conf whose default_tkt_enctypes and
   * default_tgs_enctypes (and so the session key enctypes) are restricted to that list.
   */
  kinit(
    user: string,
    password: string,
    ccache?: string,
    options?: { tgsEnctypes?: readonly MitEnctype[] },
  ): KinitResult;
  /** Run one kadmin.local query (e.g. 'addprinc -randkey HTTP/other'); returns stdout. */
  kadmin(query: string): string;
  /** Export `principal`'s current keys (no new keys) to `keytab` (default: the realm keytab). */
  exportKeytab(principal: string, keytab?: string): void;
  stop(): Promise<void>;
}

/** A port free for both TCP and UDP on 127.0.0.1 right now (the KDC listens on both). */
async function freePort(): Promise<number> {
  for (let attempt = 0; attempt < 50; attempt++) {
    const port = 20000 + Math.floor(Math.random() * 40000);
    const tcpFree = await new Promise<boolean>((resolve) => {
      const server = createServer();
      server.once('error', () => resolve(false));
      server.listen(port, '127.0.0.1', () => server.close(() => resolve(true)));
    });
    if (!tcpFree) continue;
    const udpFree = await new Promise<boolean>((resolve) => {
      const socket = createSocket('udp4');
      socket.once('error', () => {
        socket.close();
        resolve(false);
      });
      socket.bind(port, '127.0.0.1', () => socket.close(() => resolve(true)));
    });
    if (udpFree) return port;
  }
  throw new Error('no free port found for the KDC');
}

function run(
  command: string,
  args: readonly string[],
  env: NodeJS.ProcessEnv,
  input?: string,
): { status: number | null; stdout: string; stderr: string } {
  const result = spawnSync(command, args, {
    env,
    input,
    encoding: 'utf8',
    timeout: 30_000,
  });
  return { status: result.status, stdout: result.stdout ?? '', stderr: result.stderr ?? '' };
}

function runOrThrow(
  command: string,
  args: readonly string[],
  env: NodeJS.ProcessEnv,
  input?: string,
): string {
  const result = run(command, args, env, input);
  if (result.status !== 0) {
    throw new Error(`${command} ${args.join(' ')} failed (${result.status}): ${result.stderr}`);
  }
  return result.stdout;
}

function kdcConf(
  dir: string,
  realm: string,
  port: number,
  enctypes: readonly string[],
  database: KdbBackend | undefined,
): string {
  const supported = enctypes.map((e) => `${e}:normal`).join(' ');
  return `[kdcdefaults]
    kdc_listen = 127.0.0.1:${port}
    kdc_tcp_listen = 127.0.0.1:${port}

[realms]
    ${realm} = {
        ${database?.realmConf ?? `database_name = ${join(dir, 'principal')}`}
        key_stash_file = ${join(dir, 'stash')}
        acl_file = ${join(dir, 'kadm5.acl')}
        kdc_listen = 127.0.0.1:${port}
        kdc_tcp_listen = 127.0.0.1:${port}
        supported_enctypes = ${supported}
        master_key_type = aes256-cts-hmac-sha1-96
        max_life = 1d
        max_renewable_life = 7d
    }

[logging]
    kdc = FILE:${join(dir, 'kdc.log')}
    admin_server = FILE:${join(dir, 'kadmin.log')}
    default = FILE:${join(dir, 'krb5.log')}
${database?.sections ?? ''}`;
}

function krb5Conf(
  realm: string,
  port: number,
  enctypes: readonly string[],
  extra: readonly string[],
): string {
  const list = enctypes.join(' ');
  const rc4 = enctypes.includes('arcfour-hmac');
  return `[libdefaults]
    default_realm = ${realm}
    dns_lookup_kdc = false
    dns_lookup_realm = false
    rdns = false
    dns_canonicalize_hostname = false
    ignore_acceptor_hostname = false
    forwardable = true
    udp_preference_limit = 1
    allow_rc4 = ${rc4 ? 'true' : 'false'}
    permitted_enctypes = ${list}
    default_tkt_enctypes = ${list}
    default_tgs_enctypes = ${list}
${extra.map((line) => `    ${line}\n`).join('')}
[realms]
    ${realm} = {
        kdc = 127.0.0.1:${port}
        admin_server = 127.0.0.1:${port}
    }

[domain_realm]
    localhost = ${realm}
    .localhost = ${realm}
    127.0.0.1 = ${realm}
`;
}

function waitForExit(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => child.once('exit', () => resolve()));
}

/** Create the realm, start its KDC and wait until a kinit succeeds. */
export async function startMitKdc(options: MitKdcOptions): Promise<MitKdc> {
  const realm = options.realm ?? 'EXAMPLE.TEST';
  const enctypes = options.enctypes ?? ALL_ENCTYPES;
  const dir = mkdtempSync(join(tmpdir(), 'httpauth-mit-kdc-'));
  const krb5ConfPath = join(dir, 'krb5.conf');
  const kdcConfPath = join(dir, 'kdc.conf');
  const keytabPath = join(dir, 'http.keytab');
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    KRB5_CONFIG: krb5ConfPath,
    KRB5_KDC_PROFILE: kdcConfPath,
    KRB5_KTNAME: `FILE:${keytabPath}`,
    KRB5CCNAME: `FILE:${join(dir, 'default.ccache')}`,
    KRB5_TRACE: undefined,
  };
  writeFileSync(join(dir, 'kadm5.acl'), '');

  let child: ChildProcess | undefined;
  // krb5kdc does not notice its parent dying: kill it when this process exits, so a test run that
  // crashes before stop() leaves no KDC behind.
  const killOnExit = (): void => {
    child?.kill('SIGTERM');
  };
  process.once('exit', killOnExit);
  const stopChild = async (): Promise<void> => {
    if (child !== undefined && child.exitCode === null && child.signalCode === null) {
      child.kill('SIGTERM');
      await waitForExit(child);
    }
  };

  try {
    const probeUser = 'harness-probe';
    const probePassword = 'probe-' + Math.random().toString(36).slice(2);
    // The port is only known once free; the database does not depend on it, so write the configs
    // with a first port, create the database, then retry the KDC on a new port if it is taken.
    let port = await freePort();
    writeFileSync(krb5ConfPath, krb5Conf(realm, port, enctypes, options.extraLibdefaults ?? []));
    const kdcConfText = (): string =>
      kdcConf(dir, realm, port, enctypes, options.database) + (options.extraKdcConf ?? '');
    writeFileSync(kdcConfPath, kdcConfText());
    const masterPassword = 'master-' + Math.random();
    if (options.database !== undefined) options.database.create(env, realm, masterPassword);
    else runOrThrow('kdb5_util', ['create', '-s', '-W', '-r', realm, '-P', masterPassword], env);
    const kadmin = (query: string): string =>
      runOrThrow('kadmin.local', ['-r', realm, '-q', query], env);
    kadmin(`addprinc -pw ${probePassword} ${probeUser}`);
    const exportKeytab = (principal: string, keytab = keytabPath): void => {
      kadmin(`ktadd -k ${keytab} -norandkey ${principal}`);
    };
    for (const spec of options.principals) {
      const parts = ['addprinc'];
      if (spec.enctypes !== undefined) {
        parts.push('-e', `"${spec.enctypes.map((e) => `${e}:normal`).join(' ')}"`);
      }
      parts.push(...(spec.options ?? []));
      if (spec.password !== undefined) parts.push('-pw', spec.password);
      else parts.push('-randkey');
      parts.push(spec.name);
      kadmin(parts.join(' '));
      if (spec.keytab ?? spec.password === undefined) exportKeytab(spec.name);
    }

    let clients = 0;
    const kinit = (
      user: string,
      password: string,
      ccache?: string,
      kinitOptions?: { tgsEnctypes?: readonly MitEnctype[] },
    ): KinitResult => {
      clients += 1;
      const path = ccache ?? join(dir, `cc-${user.replace(/[^A-Za-z0-9]/g, '_')}-${clients}`);
      const clientEnv: NodeJS.ProcessEnv = { ...env, KRB5CCNAME: `FILE:${path}` };
      const tgs = kinitOptions?.tgsEnctypes;
      if (tgs !== undefined) {
        const conf = join(dir, `krb5-client-${clients}.conf`);
        writeFileSync(
          conf,
          krb5Conf(realm, port, enctypes, options.extraLibdefaults ?? [])
            .replace(/default_tgs_enctypes = .*/, `default_tgs_enctypes = ${tgs.join(' ')}`)
            .replace(/default_tkt_enctypes = .*/, `default_tkt_enctypes = ${tgs.join(' ')}`),
        );
        clientEnv.KRB5_CONFIG = conf;
      }
      runOrThrow('kinit', [`${user}@${realm}`], clientEnv, password + '\n');
      return { ccache: path, env: clientEnv };
    };

    for (let attempt = 0; ; attempt++) {
      child = spawn('krb5kdc', ['-n', '-r', realm], { env, stdio: ['ignore', 'ignore', 'pipe'] });
      let stderr = '';
      child.stderr?.on('data', (chunk: Buffer) => {
        stderr += chunk.toString();
      });
      const started = child;
      // Poll: the KDC is ready when a kinit against it succeeds; a KDC that exited (port taken
      // between the check and the bind) is restarted on another port.
      const deadline = Date.now() + 20_000;
      let ready = false;
      while (Date.now() < deadline && started.exitCode === null) {
        const probe = run(
          'kinit',
          [`${probeUser}@${realm}`],
          { ...env, KRB5CCNAME: `FILE:${join(dir, 'probe.ccache')}` },
          probePassword + '\n',
        );
        if (probe.status === 0) {
          ready = true;
          break;
        }
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
      if (ready) break;
      await stopChild();
      if (attempt >= 4) throw new Error(`krb5kdc did not become ready: ${stderr}`);
      port = await freePort();
      writeFileSync(krb5ConfPath, krb5Conf(realm, port, enctypes, options.extraLibdefaults ?? []));
      writeFileSync(kdcConfPath, kdcConfText());
    }

    return {
      realm,
      dir,
      port,
      krb5Conf: krb5ConfPath,
      keytabPath,
      env,
      kinit,
      kadmin,
      exportKeytab,
      async stop() {
        await stopChild();
        process.removeListener('exit', killOnExit);
        rmSync(dir, { recursive: true, force: true });
      },
    };
  } catch (error) {
    await stopChild();
    process.removeListener('exit', killOnExit);
    rmSync(dir, { recursive: true, force: true });
    throw error;
  }
}
