// The baseline the gateway is held against: a plain Node reverse proxy with no auth, as one would
// write it with node:http alone — keep-alive pool to the upstream, bodies streamed both ways.
// argv[3] 'floor' or 'floor-identity' (issue 16): the same proxy doing, besides, only what the
// gateway must do for every forwarded request, written as plainly as possible: the RFC 7239
// `Forwarded` header and X-Forwarded-For/-Proto/-Host, the upstream timeout (a socket timer per
// request) and, with 'floor-identity', the three identity headers of an authenticated request
// (fixed values, the client's copies removed). No authentication: a floor, not a gateway.
import { Agent, createServer, request } from 'node:http';

const upstreamPort = Number(process.argv[2]);
const floor = process.argv[3] === 'floor' || process.argv[3] === 'floor-identity';
const identity = process.argv[3] === 'floor-identity';
const agent = new Agent({ keepAlive: true, maxSockets: 64 });
const HOP = new Set([
  'connection',
  'keep-alive',
  'proxy-connection',
  'te',
  'trailer',
  'transfer-encoding',
  'upgrade',
]);
const DROPPED = new Set([
  ...HOP,
  'forwarded',
  'x-forwarded-for',
  'x-forwarded-proto',
  'x-forwarded-host',
  'x-remote-user',
  'x-remote-groups',
  'x-remote-mechanism',
]);

function floorHeaders(req, headers) {
  const address = req.socket.remoteAddress ?? '';
  const host = req.headers.host;
  headers.forwarded =
    `for=${address.includes(':') ? `"[${address}]"` : address};proto=http` +
    (host === undefined ? '' : `;host="${host}"`);
  headers['x-forwarded-for'] = address;
  headers['x-forwarded-proto'] = 'http';
  if (host !== undefined) headers['x-forwarded-host'] = host;
  if (identity) {
    headers['x-remote-user'] = 'alice@EXAMPLE';
    headers['x-remote-groups'] = '';
    headers['x-remote-mechanism'] = 'NTLM';
  }
}

const server = createServer((req, res) => {
  const headers = {};
  const drop = floor ? DROPPED : HOP;
  for (const [name, value] of Object.entries(req.headers))
    if (!drop.has(name)) headers[name] = value;
  if (floor) floorHeaders(req, headers);
  const upstream = request(
    {
      host: '127.0.0.1',
      port: upstreamPort,
      method: req.method,
      path: req.url,
      headers,
      agent,
      ...(floor ? { timeout: 30_000 } : {}),
    },
    (up) => {
      const out = {};
      for (const [name, value] of Object.entries(up.headers)) if (!HOP.has(name)) out[name] = value;
      res.writeHead(up.statusCode ?? 502, out);
      up.pipe(res);
    },
  );
  if (floor) upstream.on('timeout', () => upstream.destroy(new Error('upstream timeout')));
  upstream.on('error', () => {
    if (!res.headersSent) res.writeHead(502);
    res.end();
  });
  req.pipe(upstream);
});
server.keepAliveTimeout = 120_000;
server.listen(0, '127.0.0.1', () => console.log(JSON.stringify({ port: server.address().port })));
process.on('SIGTERM', () => process.exit(0));
