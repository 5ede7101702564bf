/**
 * Debian's apache2 for the comparisons with mod_auth_gssapi: mpm_event from a config file of our
 * own in a temp dir, one child process per core × 25 threads, keep-alive without a request cap,
 * MIT's default replay cache (a fresh directory per start, shared by the child processes). `/api` (a small static JSON file) is
 * protected by the given mod_auth_gssapi block (default: Negotiate with the keytab); its body,
 * `{"hello":"world"}`, is the one the Node side of comparison 3 answers with (`staticBody`).
 */
import { spawn } from 'node:child_process';
import {
  chmodSync,
  chownSync,
  copyFileSync,
  mkdirSync,
  mkdtempSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { createServer } from 'node:net';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Server } from './load.js';

const cores = availableParallelism();
const MODULES = '/usr/lib/apache2/modules';

/** The directives inside `<Files api>` besides AuthType, GssapiCredStore and Require. */
export type ApacheGssapiBlock = readonly string[];

/** Negotiate (SPNEGO/krb5 tokens) only: comparison 3. */
export const NEGOTIATE_BLOCK: ApacheGssapiBlock = ['GssapiAllowedMech krb5'];

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}

async function waitForPort(port: number, deadline: number): Promise<void> {
  while (Date.now() < deadline) {
    const ok = await fetch(`http://127.0.0.1:${port}/health`).then(
      (r) => r.status > 0,
      () => false,
    );
    if (ok) return;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new Error('apache2 did not start');
}

export async function startApache(
  keytab: string,
  env: NodeJS.ProcessEnv,
  block: ApacheGssapiBlock = NEGOTIATE_BLOCK,
): Promise<Server & { errorLog: string }> {
  const dir = mkdtempSync(join(tmpdir(), 'httpauth-bench-apache-'));
  chmodSync(dir, 0o755);
  const port = await freePort();
  const docroot = join(dir, 'www');
  mkdirSync(docroot);
  writeFileSync(join(docroot, 'api'), JSON.stringify({ hello: 'world' }));
  writeFileSync(join(docroot, 'health'), 'ok');
  // Apache drops root for www-data: give it its own copy of the keytab and a replay cache dir.
  const ownKeytab = join(dir, 'http.keytab');
  copyFileSync(keytab, ownKeytab);
  const rcache = join(dir, 'rcache');
  mkdirSync(rcache);
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
LogLevel ${process.env.BENCH_APACHE_LOGLEVEL ?? 'warn'}
${asRoot ? 'User www-data\nGroup www-data\n' : ''}
LoadModule mpm_event_module ${MODULES}/mod_mpm_event.so
LoadModule authn_core_module ${MODULES}/mod_authn_core.so
LoadModule authz_core_module ${MODULES}/mod_authz_core.so
LoadModule authz_user_module ${MODULES}/mod_authz_user.so
LoadModule mime_module ${MODULES}/mod_mime.so
LoadModule auth_gssapi_module ${MODULES}/mod_auth_gssapi.so
TypesConfig /dev/null
AddType application/json .json
# One child process per core, threads as Debian's default, keep-alive without a request cap.
StartServers ${cores}
ServerLimit ${cores}
ThreadsPerChild 25
MaxRequestWorkers ${cores * 25}
MinSpareThreads 25
MaxSpareThreads ${cores * 25}
KeepAlive On
MaxKeepAliveRequests 0
KeepAliveTimeout 60
DocumentRoot ${docroot}
<Directory ${docroot}>
  Require all granted
</Directory>
<Files api>
  ForceType application/json
  AuthType GSSAPI
  AuthName "bench"
  GssapiCredStore keytab:${ownKeytab}
${block.map((line) => `  ${line}`).join('\n')}
  Require valid-user
</Files>
`,
  );
  // The realm's krb5.conf sits in a private directory www-data cannot read: hand it a copy.
  const krb5Conf = join(dir, 'krb5.conf');
  copyFileSync(env.KRB5_CONFIG!, krb5Conf);
  chmodSync(krb5Conf, 0o644);
  const child = spawn('apache2', ['-f', conf, '-DFOREGROUND'], {
    env: {
      ...env,
      KRB5_CONFIG: krb5Conf,
      KRB5RCACHEDIR: rcache,
      KRB5_KTNAME: `FILE:${ownKeytab}`,
    },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  child.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  try {
    await waitForPort(port, Date.now() + 20_000);
  } catch (error) {
    child.kill('SIGKILL');
    throw new Error(`${String(error)}: ${stderr}`);
  }
  return {
    port,
    child,
    errorLog: join(dir, 'error.log'),
    stop: () =>
      new Promise<void>((resolve) => {
        child.once('exit', () => {
          rmSync(dir, { recursive: true, force: true });
          resolve();
        });
        // SIGWINCH: graceful stop of the parent and its children.
        child.kill('SIGTERM');
        setTimeout(() => child.kill('SIGKILL'), 5000).unref();
      }),
  };
}
