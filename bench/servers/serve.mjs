// What every benchmark server does once built: long keep-alive (a run must not be cut by Node's
// 5 s default), listen on loopback, print {"port":N} for bench/lib/load.ts's startChild, and exit
// on SIGTERM (which also writes a --cpu-prof profile).
export function serveForBench(server) {
  server.keepAliveTimeout = 120_000;
  server.headersTimeout = 121_000;
  server.listen(0, '127.0.0.1', () => console.log(JSON.stringify({ port: server.address().port })));
  process.on('SIGTERM', () => process.exit(0));
}
