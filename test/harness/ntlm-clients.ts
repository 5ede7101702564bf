/**
 * Test harness: real NTLM clients driven against a loopback server. Debian's curl, Python's
 * requests_ntlm and impacket (Debian packages, run with /usr/bin/python3); headless Chromium is in
 * chromium.ts.
 * Python's NTLM code needs MD4, which OpenSSL 3 keeps in its legacy provider: the Python child
 * gets OPENSSL_CONF pointing at a config that activates the default and legacy providers.
 */
import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface ClientResult {
  readonly status: number;
  readonly body: string;
}

function run(
  file: string,
  args: readonly string[],
  options: { env?: NodeJS.ProcessEnv; timeoutMs?: number; input?: string } = {},
): Promise<{ stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = execFile(
      file,
      args,
      {
        env: options.env ?? process.env,
        timeout: options.timeoutMs ?? 60_000,
        maxBuffer: 4 * 1024 * 1024,
      },
      (error, stdout, stderr) => {
        if (error) reject(Object.assign(error, { stdout, stderr }));
        else resolve({ stdout, stderr });
      },
    );
    if (options.input !== undefined) child.stdin?.end(options.input);
  });
}

/** A scratch directory for one test file; `cleanup()` removes it. */
export async function scratchDir(
  prefix: string,
): Promise<{ path: string; cleanup: () => Promise<void> }> {
  const path = await mkdtemp(join(tmpdir(), prefix));
  return { path, cleanup: () => rm(path, { recursive: true, force: true }) };
}

/** A self-signed certificate for 127.0.0.1 (RSA-2048, SHA-256), generated with openssl. */
export async function selfSignedCertificate(dir: string): Promise<{ key: Buffer; cert: Buffer }> {
  const keyPath = join(dir, 'key.pem');
  const certPath = join(dir, 'cert.pem');
  await run('/usr/bin/openssl', [
    'req',
    '-x509',
    '-newkey',
    'rsa:2048',
    '-nodes',
    '-sha256',
    '-days',
    '2',
    '-subj',
    '/CN=127.0.0.1',
    '-addext',
    'subjectAltName=IP:127.0.0.1,DNS:localhost',
    '-keyout',
    keyPath,
    '-out',
    certPath,
  ]);
  const { readFile } = await import('node:fs/promises');
  return { key: await readFile(keyPath), cert: await readFile(certPath) };
}

/** curl --ntlm; `data` makes it a POST. The status code is appended after a marker line. */
export async function curlNtlm(
  url: string,
  user: string,
  password: string,
  options: { data?: string; insecure?: boolean } = {},
): Promise<ClientResult> {
  const args = ['-sS', '--ntlm', '-u', `${user}:${password}`, '-w', '\n%{http_code}'];
  if (options.data !== undefined)
    args.push('--data-binary', options.data, '-H', 'content-type: text/plain');
  if (options.insecure === true) args.push('-k');
  args.push(url);
  const { stdout } = await run('/usr/bin/curl', args);
  const cut = stdout.lastIndexOf('\n');
  return { status: Number(stdout.slice(cut + 1)), body: stdout.slice(0, cut) };
}

const OPENSSL_LEGACY_CONF = `openssl_conf = openssl_init
[openssl_init]
providers = provider_sect
[provider_sect]
default = default_sect
legacy = legacy_sect
[default_sect]
activate = 1
[legacy_sect]
activate = 1
`;

async function python(dir: string, script: string, args: readonly string[]): Promise<ClientResult> {
  const conf = join(dir, 'openssl-legacy.cnf');
  await writeFile(conf, OPENSSL_LEGACY_CONF);
  const path = join(dir, `client-${Math.random().toString(36).slice(2)}.py`);
  await writeFile(path, script);
  const { stdout } = await run('/usr/bin/python3', [path, ...args], {
    env: { ...process.env, OPENSSL_CONF: conf, PYTHONDONTWRITEBYTECODE: '1' },
  });
  const cut = stdout.indexOf('\n');
  return { status: Number(stdout.slice(0, cut)), body: stdout.slice(cut + 1).trim() };
}

const REQUESTS_NTLM = `
import sys, requests
from requests_ntlm import HttpNtlmAuth
url, user, password = sys.argv[1:4]
data = sys.argv[4].encode() if len(sys.argv) > 4 else None
session = requests.Session()
auth = HttpNtlmAuth(user, password)
if data is None:
    r = session.get(url, auth=auth, verify=False)
else:
    r = session.post(url, data=data, headers={'content-type': 'text/plain'}, auth=auth, verify=False)
print(r.status_code)
print(r.text)
`;

/**
 * python3-requests-ntlm (ntlm-auth underneath); sends channel bindings over HTTPS. With `data`
 * it POSTs, and sends the body again on every leg of the handshake.
 */
export function requestsNtlm(
  dir: string,
  url: string,
  user: string,
  password: string,
  data?: string,
): Promise<ClientResult> {
  return python(
    dir,
    REQUESTS_NTLM,
    data === undefined ? [url, user, password] : [url, user, password, data],
  );
}

const IMPACKET = `
import sys, base64, http.client, ssl
from urllib.parse import urlsplit
from impacket import ntlm
url, user, password, domain = sys.argv[1:5]
parts = urlsplit(url)
if parts.scheme == 'https':
    conn = http.client.HTTPSConnection(parts.hostname, parts.port, context=ssl._create_unverified_context())
else:
    conn = http.client.HTTPConnection(parts.hostname, parts.port)
type1 = ntlm.getNTLMSSPType1('', '')
conn.request('GET', parts.path, headers={'Authorization': 'NTLM ' + base64.b64encode(type1.getData()).decode()})
r = conn.getresponse(); r.read()
challenge = base64.b64decode(r.getheader('WWW-Authenticate').split(' ', 1)[1])
type3, _ = ntlm.getNTLMSSPType3(type1, challenge, user, password, domain)
conn.request('GET', parts.path, headers={'Authorization': 'NTLM ' + base64.b64encode(type3.getData()).decode()})
r = conn.getresponse()
print(r.status)
print(r.read().decode())
`;

/**
 * impacket's NTLM client (impacket.ntlm) over one keep-alive http.client connection (HTTPS
 * without certificate checks for an https URL). impacket 0.10 sends no channel binding and
 * names `cifs/<server NetBIOS name>` in MsvAvTargetName, whatever the protocol.
 */
export function impacketNtlm(
  dir: string,
  url: string,
  user: string,
  password: string,
  domain: string,
): Promise<ClientResult> {
  return python(dir, IMPACKET, [url, user, password, domain]);
}
