/**
 * Test harness: real HTTP clients driven from the end-to-end tests. Debian's curl and Debian's
 * Python (/usr/bin/python3 with python3-requests: not a pyenv or venv interpreter, which would
 * lack the Debian modules).
 *
 *   const res = await curl(['--digest', '-u', 'alice:alicepw', url]);   // res.status, res.body
 *   const py = await pythonDigest(url, 'alice', 'alicepw');             // requests.HTTPDigestAuth
 *   const session = startPythonDigestSession(url, 'alice', 'alicepw');  // one request per step()
 */
import { execFile, spawn } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';

export const CURL = '/usr/bin/curl';
export const PYTHON = '/usr/bin/python3';
/** Generous: a loaded 2-core machine can be slow to start a process. */
const CLIENT_TIMEOUT_MS = 60_000;

export interface ClientResult {
  status: number;
  /** Headers of the last response: lower-case name -> every value, one per header line. */
  headers: Map<string, string[]>;
  body: string;
}

function run(
  file: string,
  args: readonly string[],
  env?: NodeJS.ProcessEnv,
): Promise<{ stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    execFile(
      file,
      args,
      { timeout: CLIENT_TIMEOUT_MS, maxBuffer: 16 * 1024 * 1024, env: env ?? process.env },
      (error, stdout, stderr) => {
        if (error !== null) {
          reject(new Error(`${file} failed: ${error.message}\n${stderr}`));
          return;
        }
        resolve({ stdout, stderr });
      },
    );
  });
}

/** Parse a `curl -D` dump: several responses when curl followed an auth challenge; keep the last. */
export function lastResponseHeaders(dump: string): {
  status: number;
  headers: Map<string, string[]>;
} {
  const blocks = dump.split(/\r?\n\r?\n/).filter((block) => block.trim() !== '');
  const last = blocks.at(-1) ?? '';
  const [statusLine = '', ...lines] = last.split(/\r?\n/);
  const status = Number(/^HTTP\/[\d.]+ (\d{3})/.exec(statusLine)?.[1] ?? 0);
  const headers = new Map<string, string[]>();
  for (const line of lines) {
    const colon = line.indexOf(':');
    if (colon <= 0) continue;
    const name = line.slice(0, colon).trim().toLowerCase();
    const list = headers.get(name) ?? [];
    list.push(line.slice(colon + 1).trim());
    headers.set(name, list);
  }
  return { status, headers };
}

/**
 * Run curl with `args` (options and URL); adds `-sS`, a header dump and a body file. A non-zero
 * exit (connection refused, timeout) rejects; HTTP error statuses do not.
 */
export async function curl(args: readonly string[]): Promise<ClientResult> {
  const dir = await mkdtemp(join(tmpdir(), 'httpauth-curl-'));
  try {
    const headerFile = join(dir, 'headers');
    const bodyFile = join(dir, 'body');
    await run(CURL, ['-sS', '--max-time', '30', '-D', headerFile, '-o', bodyFile, ...args]);
    const { status, headers } = lastResponseHeaders(await readFile(headerFile, 'utf8'));
    return { status, headers, body: await readFile(bodyFile, 'utf8').catch(() => '') };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

// Python: one request with requests' HTTPDigestAuth; prints status, headers and body as JSON.
const PYTHON_DIGEST = `
import json, sys
import requests
from requests.auth import HTTPDigestAuth
url, user, password, method, body = sys.argv[1:6]
r = requests.request(method, url, auth=HTTPDigestAuth(user, password),
                     data=body.encode() if body else None, timeout=30)
print(json.dumps({"status": r.status_code, "headers": dict(r.headers), "body": r.text}))
`;

interface PythonAnswer {
  status: number;
  headers: Record<string, string>;
  body: string;
}

function fromPython(answer: PythonAnswer): ClientResult {
  const headers = new Map<string, string[]>();
  for (const [name, value] of Object.entries(answer.headers)) {
    headers.set(name.toLowerCase(), [value]);
  }
  return { status: answer.status, headers, body: answer.body };
}

/** One request through Python requests' HTTPDigestAuth (it answers the 401 itself). */
export async function pythonDigest(
  url: string,
  user: string,
  password: string,
  options: { method?: string; body?: string } = {},
): Promise<ClientResult> {
  const { stdout } = await run(PYTHON, [
    '-c',
    PYTHON_DIGEST,
    url,
    user,
    password,
    options.method ?? 'GET',
    options.body ?? '',
  ]);
  return fromPython(JSON.parse(stdout) as PythonAnswer);
}

// Python requests has no qop=auth-int; this small client computes RFC 7616 §3.4.3 itself with
// hashlib (an implementation independent of ours), for a POST whose body is integrity-protected.
const PYTHON_AUTH_INT = `
import hashlib, json, os, sys
import requests
from requests.utils import parse_dict_header
url, user, password, body = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4].encode()
path = requests.utils.urlparse(url).path or "/"
query = requests.utils.urlparse(url).query
uri = path + ("?" + query if query else "")
s = requests.Session()
first = s.post(url, data=body, timeout=30)
chal = first.headers["www-authenticate"]
assert chal.lower().startswith("digest "), chal
params = parse_dict_header(chal[7:].split(", Digest ")[0])
algorithm = params.get("algorithm", "MD5")
H = {"MD5": hashlib.md5, "SHA-256": hashlib.sha256}[algorithm]
h = lambda data: H(data.encode() if isinstance(data, str) else data).hexdigest()
assert "auth-int" in [q.strip() for q in params["qop"].split(",")], params["qop"]
cnonce, nc = os.urandom(8).hex(), "00000001"
ha1 = h(f"{user}:{params['realm']}:{password}")
ha2 = h(f"POST:{uri}:{h(body)}")
response = h(f"{ha1}:{params['nonce']}:{nc}:{cnonce}:auth-int:{ha2}")
header = (f'Digest username="{user}", realm="{params["realm"]}", nonce="{params["nonce"]}", '
          f'uri="{uri}", algorithm={algorithm}, qop=auth-int, nc={nc}, cnonce="{cnonce}", '
          f'response="{response}"')
if "opaque" in params:
    header += f', opaque="{params["opaque"]}"'
r = s.post(url, data=body, headers={"Authorization": header}, timeout=30)
print(json.dumps({"status": r.status_code, "headers": dict(r.headers), "body": r.text}))
`;

/** A POST with qop=auth-int over the given body, computed by a small Python client. */
export async function pythonAuthIntPost(
  url: string,
  user: string,
  password: string,
  body: string,
): Promise<ClientResult> {
  const { stdout } = await run(PYTHON, ['-c', PYTHON_AUTH_INT, url, user, password, body]);
  return fromPython(JSON.parse(stdout) as PythonAnswer);
}

// Python: a requests Session with HTTPDigestAuth that sends one GET per line read from stdin,
// so the test can act (advance the server clock) between two requests of one client.
const PYTHON_SESSION = `
import json, sys
import requests
from requests.auth import HTTPDigestAuth
url, user, password = sys.argv[1:4]
s = requests.Session()
s.auth = HTTPDigestAuth(user, password)
for line in sys.stdin:
    r = s.get(url, timeout=30)
    print(json.dumps({"status": r.status_code, "headers": dict(r.headers), "body": r.text}), flush=True)
`;

export interface PythonSession {
  /** Send one more request and wait for its result. */
  step(): Promise<ClientResult>;
  close(): Promise<void>;
}

export function startPythonDigestSession(
  url: string,
  user: string,
  password: string,
): PythonSession {
  const child = spawn(PYTHON, ['-c', PYTHON_SESSION, url, user, password], {
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  let stderr = '';
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const lines = createInterface({ input: child.stdout })[Symbol.asyncIterator]();
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  return {
    async step() {
      child.stdin.write('go\n');
      const next = await lines.next();
      if (next.done === true) throw new Error(`python session ended: ${stderr}`);
      return fromPython(JSON.parse(next.value) as PythonAnswer);
    },
    async close() {
      child.stdin.end();
      await exited;
    },
  };
}

/** A Digest auth-param from a WWW-Authenticate or Authorization value (quoted or token). */
export function digestParam(header: string, name: string): string | undefined {
  const match = new RegExp(`(?:^|[\\s,])${name}=(?:"((?:[^"\\\\]|\\\\.)*)"|([^\\s,]+))`, 'i').exec(
    header,
  );
  if (match === null) return undefined;
  return match[1] ?? match[2];
}
