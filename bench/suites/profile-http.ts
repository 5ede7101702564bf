/**
 * Profiles of the HTTP rows that miss an issue 16 target, each beside the floor it is measured
 * against (bench/lib/http-profile.ts): per framework no auth, the no-op middleware floor, a kept
 * NTLM connection, the Digest floor and httpauth's Digest (Express also http-auth's MD5), and the
 * gateway's session cookie and kept NTLM connection beside the plain proxy's identity floor. One
 * profiled run per server, the same load as the `http` and `gateway` suites. Full runs only; the
 * tables feed bench/README.md ("Each miss: its floor, and where the time goes").
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { differenceTable, profileTable, type ServerProfile } from '../lib/http-profile.js';
import { profileServer, type ProfileTarget } from '../lib/profile-server.js';
import { startGatewaySetup } from '../lib/gateway-setup.js';
import { startApp, type AppConfig, type LoadMode } from '../lib/load.js';
import { startBenchRealm } from '../lib/realm.js';
import { emit, quick, type Section } from '../lib/suite.js';

const seconds = quick ? 1 : 5;
const connections = quick ? 8 : 16;
const NAMES = { node: 'node:http', express: 'Express', fastify: 'Fastify', koa: 'Koa' } as const;

const profile = (target: ProfileTarget): Promise<ServerProfile> =>
  profileServer(target, { seconds, warmupSeconds: quick ? 1 : 2, connections });
const app = (
  label: string,
  config: AppConfig,
  mode: LoadMode,
  digestMd5 = false,
): ProfileTarget => ({
  label,
  start: (nodeArgs) => startApp(config, { nodeArgs }),
  mode,
  digestMd5,
});

const sections: Section[] = [];
const intro = `Each server under \`--cpu-prof\` (100 µs sampling) with the \`http\` suite's load (autocannon, ${connections} keep-alive connections): a warm-up load, then ${seconds} s whose samples alone count. Figures are sampled time of the server's main thread per request, idle left out; the profiler slows JavaScript, so they run higher than the \`http\` suite's unprofiled CPU rows: read the differences between columns of one table. A sample belongs to the nearest application frame on its stack (Node's and V8's own frames skipped): a SHA-256 or a header write that httpauth asks for is the auth step's, the route's \`res.end()\` the route's even when it runs under httpauth's middleware (Express's \`next()\`). The rows of a column add up to its busy row.`;

for (const framework of ['node', 'express', 'fastify', 'koa'] as const) {
  const name = NAMES[framework];
  const none = await profile(app('no auth', { framework, auth: 'none' }, 'none'));
  const noop = await profile(app('no-op floor', { framework, auth: 'noop' }, 'none'));
  const ntlm = await profile(app('kept NTLM', { framework, auth: 'ntlm' }, 'ntlm'));
  const digestFloor = await profile(
    app('Digest floor', { framework, auth: 'digest-floor' }, 'digest'),
  );
  const digest = await profile(app('Digest', { framework, auth: 'digest' }, 'digest'));
  const columns = [none, noop, ntlm, digestFloor, digest];
  const lines = [
    `### Profile over HTTP: ${name}`,
    '',
    ...(framework === 'node' ? [intro, ''] : []),
    ...profileTable(columns),
    ...differenceTable(ntlm, noop),
    ...differenceTable(digest, digestFloor),
  ];
  if (framework === 'express') {
    const httpAuth = await profile(
      app('http-auth MD5', { framework, auth: 'http-auth' }, 'digest', true),
    );
    lines.push(
      'Express + http-auth Digest MD5 beside httpauth Digest SHA-256:',
      '',
      ...profileTable([httpAuth, digest]),
      ...differenceTable(digest, httpAuth),
    );
  }
  sections.push({
    id: `profile-http-${framework}`,
    title: `Profile over HTTP, ${name}`,
    rows: [],
    markdown: lines.join('\n'),
  });
}

const realm = await startBenchRealm('aes256-cts-hmac-sha1-96');
const dir = mkdtempSync(join(tmpdir(), 'httpauth-bench-profile-gateway-'));
try {
  const setup = await startGatewaySetup(dir, realm.kdc.keytabPath);
  const tokens = realm.tokens(quick ? 200 : 2000, 'spnego');
  try {
    const proxy = await profile({
      label: 'plain proxy',
      start: (nodeArgs) => setup.startProxy(undefined, nodeArgs),
      mode: 'none',
    });
    const floor = await profile({
      label: 'identity floor',
      start: (nodeArgs) => setup.startProxy('floor-identity', nodeArgs),
      mode: 'none',
    });
    const kept = await profile({
      label: 'gateway, kept NTLM',
      start: (nodeArgs) => setup.startGateway(setup.ntlmAuth, {}, nodeArgs),
      mode: 'ntlm',
    });
    const session = await profile({
      label: 'gateway, session cookie',
      start: (nodeArgs) =>
        setup.startGateway(setup.negotiateAuth, { sessions: setup.sessions }, nodeArgs),
      mode: 'cookie',
      tokens,
    });
    sections.push({
      id: 'profile-http-gateway',
      title: 'Profile over HTTP, the gateway',
      rows: [],
      markdown: [
        '### Profile over HTTP: the gateway',
        '',
        'The proxy process only (the upstream and the load generator are other processes), the same load as the `gateway` suite. The identity floor is the plain proxy plus the forwarding headers, the upstream timeout and three identity headers (bench/servers/proxy.mjs).',
        '',
        ...profileTable([proxy, floor, kept, session]),
        ...differenceTable(kept, floor),
        ...differenceTable(session, floor),
      ].join('\n'),
    });
  } finally {
    await setup.upstream.stop();
  }
} finally {
  await realm.kdc.stop();
  rmSync(dir, { recursive: true, force: true });
}
emit(sections);
