/**
 * Apache httpd with mod_auth_gssapi as a Kerberos-protected backend (Debian's apache2 and
 * libapache2-mod-auth-gssapi): its own config in a temp dir, loopback, one resource `/api` behind
 * `AuthType GSSAPI` with a keytab, and an access log whose first field is the authenticated user
 * (`%u`), so a test can see who Apache believed the client to be. As root, Apache drops to
 * www-data: it gets its own copies of the keytab and krb5.conf and a replay cache directory.
 */
import { spawn } from 'node:child_process';
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

export interface ApacheGssapi {
  readonly url: string;
  /** Lines of the access log: '<user> <status> <path>'. */
  accessLog(): string[];
  stop(): Promise<void>;
}

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}

export async function startApacheGssapi(keytab: string, krb5Conf: string): Promise<ApacheGssapi> {
  const dir = mkdtempSync(join(tmpdir(), 'httpauth-apache-gssapi-'));
  chmodSync(dir, 0o755);
  const port = await freePort();
  const docroot = join(dir, 'www');
  mkdirSync(docroot);
  writeFileSync(join(docroot, 'api'), '{"backend":"apache"}');
  writeFileSync(join(docroot, 'health'), 'ok');
  const ownKeytab = join(dir, 'http.keytab');
  copyFileSync(keytab, ownKeytab);
  const rcache = join(dir, 'rcache');
  mkdirSync(rcache);
  const ownConf = join(dir, 'krb5.conf');
  copyFileSync(krb5Conf, ownConf);
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
LogLevel warn
${asRoot ? 'User www-data\nGroup www-data\n' : ''}
LoadModule mpm_event_module ${MODULES}/mod_mpm_event.so
LoadModule authn_core_module ${MODULES}/mod_authn_core.so
LoadModule authz_core_module ${MODULES}/mod_authz_core.so
LoadModule authz_user_module ${MODULES}/mod_authz_user.so
LoadModule mime_module ${MODULES}/mod_mime.so
LoadModule auth_gssapi_module ${MODULES}/mod_auth_gssapi.so
TypesConfig /dev/null
StartServers 1
ServerLimit 1
ThreadsPerChild 4
MaxRequestWorkers 4
MinSpareThreads 1
MaxSpareThreads 4
LogFormat "%u %>s %U" who
CustomLog ${dir}/access.log who
DocumentRoot ${docroot}
<Directory ${docroot}>
  Require all granted
</Directory>
<Files api>
  ForceType application/json
  AuthType GSSAPI
  AuthName "backend"
  GssapiCredStore keytab:${ownKeytab}
  GssapiAllowedMech krb5
  Require valid-user
</Files>
`,
  );
  const child = spawn('apache2', ['-f', conf, '-DFOREGROUND'], {
    env: {
      PATH: process.env.PATH,
      KRB5_CONFIG: ownConf,
      KRB5RCACHEDIR: rcache,
      KRB5_KTNAME: `FILE:${ownKeytab}`,
    },
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
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  return {
    url: `http://127.0.0.1:${port}`,
    accessLog: () =>
      readFileSync(join(dir, 'access.log'), 'utf8')
        .split('\n')
        .filter((line) => line !== ''),
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
        child.kill('SIGTERM');
        setTimeout(() => child.kill('SIGKILL'), 5000).unref();
      }),
  };
}
