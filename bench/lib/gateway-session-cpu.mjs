// CPU per request of @httpauth/gateway's session-cookie path, in one process: the upstream, the
// gateway and a raw keep-alive client (CONNECTIONS sockets, one request at a time each, `GET /api`
// with Host and Cookie), so the client and upstream work is the same for every build of core
// compared. The session cookie is sealed with core's SessionCookies under the gateway's key,
// name and issuer, as the gateway would have issued it after a handshake.
// Usage: node bench/lib/gateway-session-cpu.mjs <cookies: alone|browser> <requests>
// Prints one JSON line: microseconds of process CPU (user + system) per request, the minimum of
// three measured slices after a warm-up.
import { createServer } from 'node:http';
import { connect } from 'node:net';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { createGateway, validateConfig } from '@httpauth/gateway';
import { ntowfv1 } from '@httpauth/core/wire';
import { SessionCookies } from '../../packages/core/dist/session/session-cookie.js';

const [shape = 'alone', requestsArg = '6000'] = process.argv.slice(2);
const perSlice = Number(requestsArg);
const CONNECTIONS = 8;
const COOKIE_NAME = 'gw_session';

const dir = mkdtempSync(join(tmpdir(), 'gw-session-cpu-'));
const secret = randomBytes(32).toString('hex');
writeFileSync(join(dir, 'session.key'), secret);
writeFileSync(
  join(dir, 'smbpasswd'),
  `bench:1001:${'X'.repeat(32)}:${ntowfv1('Passw0rd!').toString('hex').toUpperCase()}:[U          ]:LCT-00000000:\n`,
);

const upstream = createServer((req, res) => {
  res.setHeader('content-type', 'application/json');
  res.end(JSON.stringify({ hello: 'world', user: req.headers['x-remote-user'] ?? null }));
});
upstream.keepAliveTimeout = 120_000;
await new Promise((resolve) => upstream.listen(0, '127.0.0.1', resolve));
const gateway = createGateway(
  validateConfig(
    {
      listen: { host: '127.0.0.1', port: 0 },
      upstream: `http://127.0.0.1:${upstream.address().port}`,
      auth: {
        realm: 'bench',
        mechanisms: ['ntlm'],
        ntlm: { smbpasswd: 'smbpasswd', domain: 'EXAMPLE' },
      },
      sessions: { keys: [{ id: 'k1', secretFile: 'session.key' }], cookieName: COOKIE_NAME },
      log: { level: 'silent' },
    },
    {},
    dir,
  ),
);
const { port } = await gateway.listen();
const host = `127.0.0.1:${port}`;
const sealer = new SessionCookies({ keys: [{ id: 'k1', secret }], cookieName: COOKIE_NAME });
const principal = {
  name: 'bench',
  domain: 'EXAMPLE',
  mechanism: 'NTLM',
  groups: ['S-1-5-21-1-2-3-513'],
};
const issued = sealer.issue(principal, Date.now(), { secure: false, headers: { host } });
const session = issued.setCookie.split(';')[0];
// A browser sends the site's other cookies too (analytics, preferences, CSRF token).
const others =
  '_ga=GA1.1.1234567890.1733490000; theme=dark; lang=en-GB; csrftoken=' + 'a'.repeat(32);
const cookie =
  shape === 'browser' ? `${others}; ${session}; _gid=GA1.1.987654321.1733490000` : session;
const request = Buffer.from(`GET /api HTTP/1.1\r\nHost: ${host}\r\nCookie: ${cookie}\r\n\r\n`);

/** One keep-alive socket sending `count` requests one at a time; rejects on anything but 200. */
function drive(count) {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1');
    let buffered = '';
    let left = count;
    socket.on('connect', () => socket.write(request));
    socket.on('error', reject);
    socket.on('data', (chunk) => {
      buffered += chunk.toString('latin1');
      for (;;) {
        const head = buffered.indexOf('\r\n\r\n');
        if (head === -1) return;
        const length = /\r\ncontent-length: (\d+)/i.exec(buffered.slice(0, head));
        if (length === null)
          return reject(new Error('no content-length: ' + buffered.slice(0, head)));
        const end = head + 4 + Number(length[1]);
        if (buffered.length < end) return;
        if (!buffered.startsWith('HTTP/1.1 200')) return reject(new Error(buffered.slice(0, 200)));
        buffered = buffered.slice(end);
        if (--left === 0) {
          socket.end();
          return resolve();
        }
        socket.write(request);
      }
    });
  });
}

const run = (total) =>
  Promise.all(Array.from({ length: CONNECTIONS }, () => drive(Math.ceil(total / CONNECTIONS))));
await run(2000);
const slices = [];
for (let i = 0; i < 3; i++) {
  const before = process.cpuUsage();
  await run(perSlice);
  const used = process.cpuUsage(before);
  slices.push((used.user + used.system) / (Math.ceil(perSlice / CONNECTIONS) * CONNECTIONS));
}
console.log(JSON.stringify({ shape, usPerRequest: Math.min(...slices), slices }));
await gateway.close();
upstream.close();
rmSync(dir, { recursive: true, force: true });
