// The baseline the gateway is held against: a plain Node reverse proxy with no auth, as one would
// write it with node:http alone — keep-alive pool to the upstream, bodies streamed both ways.
import { Agent, createServer, request } from 'node:http';

const upstreamPort = Number(process.argv[2]);
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

const server = createServer((req, res) => {
  const headers = {};
  for (const [name, value] of Object.entries(req.headers))
    if (!HOP.has(name)) headers[name] = value;
  const upstream = request(
    { host: '127.0.0.1', port: upstreamPort, method: req.method, path: req.url, headers, agent },
    (up) => {
      const out = {};
      for (const [name, value] of Object.entries(up.headers)) if (!HOP.has(name)) out[name] = value;
      res.writeHead(up.statusCode ?? 502, out);
      up.pipe(res);
    },
  );
  upstream.on('error', () => {
    if (!res.headersSent) res.writeHead(502);
    res.end();
  });
  req.pipe(upstream);
});
server.keepAliveTimeout = 120_000;
server.listen(0, '127.0.0.1', () => console.log(JSON.stringify({ port: server.address().port })));
process.on('SIGTERM', () => process.exit(0));
