/**
 * Apache httpd with mod_auth_gssapi (Debian's apache2 and libapache2-mod-auth-gssapi): its own
 * config in a temp dir, loopback, one resource `/api` behind `AuthType GSSAPI` with a keytab. As
 * root, Apache drops to www-data: it gets its own copies of the keytab and krb5.conf and a replay
 * cache directory (MIT's default replay cache, shared by the child processes).
 *
 * `startApacheGssapi` is the tests' Kerberos-protected backend, with an access log whose first
 * field is the authenticated user (`%u`), so a test can see who Apache believed the client to be.
 * `launchApacheGssapi` is the common start, also used by the benchmarks (bench/lib/apache.ts).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import {
  chmodSync,
  chownSync,
  copyFileSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const MODULES = '/usr/lib/apache2/modules';

export interface ApacheGssapiLaunch {
  readonly keytab: string;
  readonly krb5Conf: string;
  /** The temp dir's name prefix. */
  readonly name: string;
  /** The body of `/api`, a static JSON file. */
  readonly apiBody: string;
  readonly authName: string;
  /** The directives inside `<Files api>` besides AuthType, GssapiCredStore and Require. */
  readonly gssapiBlock: readonly string[];
  /** Server-wide directives (process model, logs) given the temp dir. */
  readonly serverDirectives: (dir: string) => string;
  readonly logLevel: string;
  /** apache2's environment; the KRB5_* variables of its own copies are set on top. */
  readonly env: NodeJS.ProcessEnv;
}

export interface LaunchedApache {
  readonly port: number;
  readonly child: ChildProcess;
  /** The temp dir (config, logs, keytab copy); removed by stop(). */
  readonly dir: string;
  stop(): Promise<void>;
}

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}

/** Writes the temp dir (docroot, keytab and krb5.conf copies, replay cache, httpd.conf). */
function writeServerRoot(
  launch: ApacheGssapiLaunch,
  port: number,
): { dir: string; conf: string; env: NodeJS.ProcessEnv } {
  const dir = mkdtempSync(join(tmpdir(), launch.name));
  chmodSync(dir, 0o755);
  const docroot = join(dir, 'www');
  mkdirSync(docroot);
  writeFileSync(join(docroot, 'api'), launch.apiBody);
  writeFileSync(join(docroot, 'health'), 'ok');
  const ownKeytab = join(dir, 'http.keytab');
  copyFileSync(launch.keytab, ownKeytab);
  const rcache = join(dir, 'rcache');
  mkdirSync(rcache);
  // The realm's krb5.conf may sit in a private directory www-data cannot read: hand it a copy.
  const ownConf = join(dir, 'krb5.conf');
  copyFileSync(launch.krb5Conf, ownConf);
  chmodSync(ownConf, 0o644);
  const asRoot = process.getuid?.() === 0;
  if (asRoot) {
    chownSync(ownKeytab, 33, 33);
    chownSync(rcache, 33, 33);
  }
  const conf = join(dir, 'httpd.conf');
  writeFileSync(
    conf,
    `ServerRoot ${dir}
ServerName localhost
Listen 127.0.0.1:${port}
PidFile ${dir}/httpd.pid
DefaultRuntimeDir ${dir}
ErrorLog ${dir}/error.log
LogLevel ${launch.logLevel}
${asRoot ? 'User www-data\nGroup www-data\n' : ''}
LoadModule mpm_event_module ${MODULES}/mod_mpm_event.so
LoadModule authn_core_module ${MODULES}/mod_authn_core.so
LoadModule authz_core_module ${MODULES}/mod_authz_core.so
LoadModule authz_user_module ${MODULES}/mod_authz_user.so
LoadModule mime_module ${MODULES}/mod_mime.so
LoadModule auth_gssapi_module ${MODULES}/mod_auth_gssapi.so
TypesConfig /dev/null
${launch.serverDirectives(dir)}
DocumentRoot ${docroot}
<Directory ${docroot}>
  Require all granted
</Directory>
<Files api>
  ForceType application/json
  AuthType GSSAPI
  AuthName "${launch.authName}"
  GssapiCredStore keytab:${ownKeytab}
${launch.gssapiBlock.map((line) => `  ${line}`).join('\n')}
  Require valid-user
</Files>
`,
  );
  const env = {
    ...launch.env,
    KRB5_CONFIG: ownConf,
    KRB5RCACHEDIR: rcache,
    KRB5_KTNAME: `FILE:${ownKeytab}`,
  };
  return { dir, conf, env };
}

/** apache2 in the foreground on a free loopback port, once its /health answers. */
export async function launchApacheGssapi(launch: ApacheGssapiLaunch): Promise<LaunchedApache> {
  const port = await freePort();
  const { dir, conf, env } = writeServerRoot(launch, port);
  const child = spawn('apache2', ['-f', conf, '-DFOREGROUND'], {
    env,
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  child.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const deadline = Date.now() + 20_000;
  for (;;) {
    const up = await fetch(`http://127.0.0.1:${port}/health`).then(
      (r) => r.status === 200,
      () => false,
    );
    if (up) break;
    if (Date.now() > deadline || child.exitCode !== null) {
      child.kill('SIGKILL');
      rmSync(dir, { recursive: true, force: true });
      throw new Error(`apache2 did not start: ${stderr}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  return {
    port,
    child,
    dir,
    stop: () =>
      new Promise<void>((resolve) => {
        if (child.exitCode !== null) {
          rmSync(dir, { recursive: true, force: true });
          resolve();
          return;
        }
        child.once('exit', () => {
          rmSync(dir, { recursive: true, force: true });
          resolve();
        });
        // SIGTERM: the parent stops its children and exits.
        child.kill('SIGTERM');
        setTimeout(() => child.kill('SIGKILL'), 5000).unref();
      }),
  };
}

export interface ApacheGssapi {
  readonly url: string;
  /** Lines of the access log: '<user> <status> <path>'. */
  accessLog(): string[];
  stop(): Promise<void>;
}

/** The tests' backend: Negotiate (krb5) only, a few threads, who logged on in the access log. */
export async function startApacheGssapi(keytab: string, krb5Conf: string): Promise<ApacheGssapi> {
  const apache = await launchApacheGssapi({
    keytab,
    krb5Conf,
    name: 'httpauth-apache-gssapi-',
    apiBody: '{"backend":"apache"}',
    authName: 'backend',
    gssapiBlock: ['GssapiAllowedMech krb5'],
    logLevel: 'warn',
    env: { PATH: process.env.PATH },
    serverDirectives: (dir) => `StartServers 1
ServerLimit 1
ThreadsPerChild 4
MaxRequestWorkers 4
MinSpareThreads 1
MaxSpareThreads 4
LogFormat "%u %>s %U" who
CustomLog ${dir}/access.log who`,
  });
  return {
    url: `http://127.0.0.1:${apache.port}`,
    accessLog: () =>
      readFileSync(join(apache.dir, 'access.log'), 'utf8')
        .split('\n')
        .filter((line) => line !== ''),
    stop: apache.stop,
  };
}
