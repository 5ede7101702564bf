/**
 * A private OpenLDAP server for tests (Debian's slapd): its cn=config and MDB database in a fresh
 * mkdtemp directory, listening on 127.0.0.1 at a random port, run in the foreground (`-d 0`) by
 * this process and stopped by its PID. The system's slapd (/etc/ldap, /var/lib/ldap), which the
 * package's postinst may have configured, is neither used nor touched.
 *
 * Phases: config (slapd.ldif loaded with `slapadd -n0`), schema (core plus the caller's LDIF
 * schema files, included by that same slapd.ldif), base entry (`slapadd -n1`), start (poll an
 * anonymous rootDSE search), stop.
 *
 *   const ldap = await startSlapd({ suffix: 'dc=example,dc=test', schemas: { kerberos: ldif } });
 *   ldap.modify('dn: ...\nchangetype: modify\nadd: ...\n');
 *   await ldap.stop();
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface SlapdOptions {
  /** The database suffix, 'dc=example,dc=test' (a dcObject entry is created for it). */
  readonly suffix: string;
  /** Schemas in cn=config LDIF form by name, loaded after core.ldif (MIT's kerberos schema). */
  readonly schemas: Readonly<Record<string, string>>;
  /** Attributes to index for equality and substrings (e.g. krbPrincipalName). */
  readonly indexes?: readonly string[];
}

export interface Slapd {
  readonly dir: string;
  /** `ldap://127.0.0.1:PORT/` */
  readonly url: string;
  readonly suffix: string;
  /** The database's rootDN and its password (simple bind). */
  readonly adminDn: string;
  readonly adminPassword: string;
  /** `ldapmodify` as the rootDN; returns stdout, throws with stderr on failure. */
  modify(ldif: string): string;
  /** `ldapsearch -LLL` under the suffix as the rootDN; returns the LDIF. */
  search(filter: string, attributes?: readonly string[]): string;
  stop(): Promise<void>;
}

function runOrThrow(command: string, args: readonly string[], input?: string): string {
  const result = spawnSync(command, args, { input, encoding: 'utf8', timeout: 30_000 });
  if (result.status !== 0) {
    throw new Error(`${command} ${args.join(' ')} failed (${result.status}): ${result.stderr}`);
  }
  return result.stdout;
}

async function freeTcpPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}

/** Phase config + schema: cn=config for one MDB database, readable by its rootDN only. */
function slapdLdif(dir: string, options: SlapdOptions, adminDn: string, password: string): string {
  const schemaFiles = Object.keys(options.schemas).map((name) => join(dir, `${name}.ldif`));
  const includes = ['/etc/ldap/schema/core.ldif', ...schemaFiles]
    .map((file) => `include: file://${file}\n`)
    .join('');
  const indexes = (options.indexes ?? [])
    .map((attribute) => `olcDbIndex: ${attribute} eq,sub\n`)
    .join('');
  return `dn: cn=config
objectClass: olcGlobal
cn: config
olcPidFile: ${join(dir, 'slapd.pid')}
olcLogLevel: none

dn: cn=module{0},cn=config
objectClass: olcModuleList
cn: module{0}
olcModulePath: /usr/lib/ldap
olcModuleLoad: back_mdb

dn: cn=schema,cn=config
objectClass: olcSchemaConfig
cn: schema

${includes}
dn: olcDatabase={-1}frontend,cn=config
objectClass: olcDatabaseConfig
objectClass: olcFrontendConfig
olcDatabase: {-1}frontend
olcAccess: {0}to dn.base="" by * read

dn: olcDatabase={0}config,cn=config
objectClass: olcDatabaseConfig
olcDatabase: {0}config

dn: olcDatabase={1}mdb,cn=config
objectClass: olcDatabaseConfig
objectClass: olcMdbConfig
olcDatabase: {1}mdb
olcSuffix: ${options.suffix}
olcDbDirectory: ${join(dir, 'db')}
olcDbMaxSize: 104857600
olcRootDN: ${adminDn}
olcRootPW: ${password}
olcDbIndex: objectClass eq
${indexes}olcAccess: {0}to * by * none
`;
}

/** Phase base entry: the suffix's dcObject, written offline with slapadd. */
function baseLdif(suffix: string): string {
  const dc = /^dc=([^,]+)/i.exec(suffix)?.[1];
  if (dc === undefined) throw new Error(`the suffix must start with dc=: ${suffix}`);
  return `dn: ${suffix}\nobjectClass: dcObject\nobjectClass: organization\no: ${dc}\ndc: ${dc}\n`;
}

function waitForExit(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => child.once('exit', () => resolve()));
}

/** Phase start: slapd in the foreground; ready when an anonymous rootDSE search answers. */
async function startOnFreePort(configDir: string): Promise<{ child: ChildProcess; url: string }> {
  for (let attempt = 0; ; attempt++) {
    const url = `ldap://127.0.0.1:${await freeTcpPort()}/`;
    const child = spawn('slapd', ['-d', '0', '-F', configDir, '-h', url], {
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let stderr = '';
    child.stderr?.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const deadline = Date.now() + 20_000;
    while (Date.now() < deadline && child.exitCode === null) {
      const probe = spawnSync('ldapsearch', ['-x', '-H', url, '-b', '', '-s', 'base', '-LLL'], {
        encoding: 'utf8',
        timeout: 5000,
      });
      if (probe.status === 0) return { child, url };
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    child.kill('SIGTERM');
    await waitForExit(child);
    // The port was taken between the check and slapd's bind: try another one.
    if (attempt >= 4) throw new Error(`slapd did not become ready: ${stderr}`);
  }
}

export async function startSlapd(options: SlapdOptions): Promise<Slapd> {
  const dir = mkdtempSync(join(tmpdir(), 'httpauth-slapd-'));
  const configDir = join(dir, 'slapd.d');
  mkdirSync(configDir);
  mkdirSync(join(dir, 'db'));
  const adminDn = `cn=admin,${options.suffix}`;
  // A throwaway password for a server on loopback that lives as long as one test file.
  const adminPassword = 'ldap-' + Math.random().toString(36).slice(2);
  let child: ChildProcess | undefined;
  // slapd -d does not notice its parent dying: kill it when this process exits.
  const killOnExit = (): void => {
    child?.kill('SIGTERM');
  };
  process.once('exit', killOnExit);
  const stop = async (): Promise<void> => {
    if (child !== undefined) {
      child.kill('SIGTERM');
      await waitForExit(child);
    }
    process.removeListener('exit', killOnExit);
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    for (const [name, ldif] of Object.entries(options.schemas)) {
      writeFileSync(join(dir, `${name}.ldif`), ldif);
    }
    writeFileSync(join(dir, 'slapd.ldif'), slapdLdif(dir, options, adminDn, adminPassword));
    runOrThrow('slapadd', ['-n0', '-F', configDir, '-l', join(dir, 'slapd.ldif')]);
    writeFileSync(join(dir, 'base.ldif'), baseLdif(options.suffix));
    runOrThrow('slapadd', ['-n1', '-F', configDir, '-l', join(dir, 'base.ldif')]);
    const started = await startOnFreePort(configDir);
    child = started.child;
    const { url } = started;
    const bind = ['-x', '-H', url, '-D', adminDn, '-w', adminPassword];
    return {
      dir,
      url,
      suffix: options.suffix,
      adminDn,
      adminPassword,
      modify: (ldif) => runOrThrow('ldapmodify', bind, ldif),
      search: (filter, attributes = []) =>
        runOrThrow('ldapsearch', [
          ...bind,
          '-LLL',
          '-o',
          'ldif-wrap=no',
          '-b',
          options.suffix,
          filter,
          ...attributes,
        ]),
      stop,
    };
  } catch (error) {
    await stop();
    throw error;
  }
}
