/**
 * Comparisons 2 and 4: HTTP overhead per adapter and Digest against http-auth.
 * A small JSON route on node:http, Express, Fastify and Koa, each with no auth, Negotiate on every
 * request (a distinct MIT-made token each), an NTLM-authenticated keep-alive connection and Digest
 * SHA-256 (increasing nc). Then Express + httpauth Digest SHA-256 vs Express + http-auth Digest MD5.
 * One server process per measurement (a fresh replay cache), autocannon in this process; every
 * configuration of a round runs before the next round starts.
 * Two floors per framework (bench/servers/floors.mjs), measured in the same rounds: a no-op
 * middleware that only sets the auth object (what a kept NTLM connection can cost at best), and
 * the per-request work RFC 7616 forces on any Digest server with everything cacheable cached.
 */
import { startBenchRealm } from '../lib/realm.js';
import {
  assertAnswered,
  processCpuMicros,
  runLoad,
  startApp,
  type AppConfig,
  type LoadMode,
} from '../lib/load.js';
import { emit, quick, type Row, type Section } from '../lib/suite.js';

const rounds = quick ? 2 : 3;
const duration = quick ? 1 : 5;
const connections = quick ? 8 : 16;
const frameworks = ['node', 'express', 'fastify', 'koa'] as const;
const NAMES = { node: 'node:http', express: 'Express', fastify: 'Fastify', koa: 'Koa' } as const;
const core = (await import('@httpauth/core')) as Record<string, unknown>;
const spnego = typeof core.negotiate === 'function';

const realm = await startBenchRealm('aes256-cts-hmac-sha1-96');
const warnings: string[] = [];
try {
  // Enough distinct tokens for the fastest adapter over one measurement; each server process has
  // its own replay cache, so the set is reused across processes but never within one.
  const tokens = realm.tokens(quick ? 2000 : 30000, spnego ? 'spnego' : 'krb5');
  const keytab = realm.kdc.keytabPath;
  const samples = new Map<string, number[]>();
  const record = (key: string, value: number) => {
    if (!samples.has(key)) samples.set(key, []);
    samples.get(key)!.push(value);
  };
  const measure = async (key: string, config: AppConfig, mode: LoadMode, digestMd5 = false) => {
    const server = await startApp({ ...config, keytab });
    try {
      const cpuBefore = processCpuMicros(server.child.pid);
      const result = await runLoad({
        port: server.port,
        mode,
        connections,
        duration,
        tokens,
        digestMd5,
        // Negotiate runs are bounded by the token set (each token once per server process).
        ...(mode === 'negotiate' ? { amount: tokens.length } : {}),
      });
      // Per connection at most three 401s (autocannon's first request, NTLM's first leg, Digest's
      // nonce); more is a wrong answer (or, for Negotiate, a token pool too small for the run).
      assertAnswered(key, result, connections * 3);
      record(key, result.rps);
      const cpuAfter = processCpuMicros(server.child.pid);
      if (cpuBefore !== undefined && cpuAfter !== undefined) {
        record(`${key}/cpu`, (cpuAfter - cpuBefore) / (result.ok + result.non2xx));
      }
    } finally {
      await server.stop();
    }
  };
  for (let round = 0; round < rounds; round++) {
    for (const framework of frameworks) {
      await measure(`${framework}/none`, { framework, auth: 'none' }, 'none');
      await measure(`${framework}/noop`, { framework, auth: 'noop' }, 'none');
      await measure(`${framework}/ntlm`, { framework, auth: 'ntlm' }, 'ntlm');
      await measure(`${framework}/digest-floor`, { framework, auth: 'digest-floor' }, 'digest');
      await measure(`${framework}/digest`, { framework, auth: 'digest' }, 'digest');
      await measure(`${framework}/negotiate`, { framework, auth: 'negotiate' }, 'negotiate');
    }
    await measure('express/http-auth', { framework: 'express', auth: 'http-auth' }, 'digest', true);
    await measure('express/digest-4', { framework: 'express', auth: 'digest' }, 'digest');
  }

  const sections: Section[] = [];
  for (const framework of frameworks) {
    const name = NAMES[framework];
    const base = `${name}, no auth`;
    const noop = `${name}, floor: a no-op middleware that only sets the auth object`;
    const digestFloor = `${name}, floor: the Digest work RFC 7616 forces per request (node:crypto, no parsing)`;
    const ntlm = `${name}, NTLM-authenticated keep-alive connection`;
    const digest = `${name}, Digest SHA-256 (nc 1, 2, 3, … per nonce)`;
    const rows: Row[] = [
      { label: base, unit: 'req/s', samples: samples.get(`${framework}/none`)! },
      {
        label: noop,
        unit: 'req/s',
        samples: samples.get(`${framework}/noop`)!,
        ratioTo: base,
      },
      {
        label: ntlm,
        unit: 'req/s',
        samples: samples.get(`${framework}/ntlm`)!,
        ratioTo: base,
        target: { min: 0.95, text: 'within 5%' },
      },
      {
        label: `${ntlm} vs the no-op middleware floor`,
        unit: 'req/s',
        samples: samples.get(`${framework}/ntlm`)!,
        ratioTo: noop,
      },
      {
        label: digestFloor,
        unit: 'req/s',
        samples: samples.get(`${framework}/digest-floor`)!,
        ratioTo: base,
      },
      {
        label: digest,
        unit: 'req/s',
        samples: samples.get(`${framework}/digest`)!,
        ratioTo: base,
        target: { min: 0.85, text: 'within 15%' },
      },
      {
        label: `${digest} vs the Digest floor`,
        unit: 'req/s',
        samples: samples.get(`${framework}/digest`)!,
        ratioTo: digestFloor,
      },
      {
        label: `${name}, Negotiate on every request (distinct tokens)`,
        unit: 'req/s',
        samples: samples.get(`${framework}/negotiate`)!,
        ratioTo: base,
        target: { min: 0.7, text: 'within 30%' },
      },
    ];
    // The server's own CPU per request: the req/s rows of the lighter frameworks meet the load
    // generator's ceiling (one core of this machine), which hides what the server spends.
    const cpu = (key: string) => samples.get(`${framework}/${key}/cpu`);
    const cpuBase = `${name}: server CPU per request, no auth`;
    if (['none', 'noop', 'ntlm', 'digest-floor', 'digest'].every((key) => cpu(key) !== undefined)) {
      const cpuRow = (label: string, key: string): Row => ({
        label: `${name}: server CPU per request, ${label}`,
        unit: 'µs',
        samples: cpu(key)!,
        ratioTo: cpuBase,
        better: 'lower',
      });
      rows.push(
        { label: cpuBase, unit: 'µs', samples: cpu('none')! },
        cpuRow('floor: the no-op middleware', 'noop'),
        cpuRow('NTLM-authenticated keep-alive connection', 'ntlm'),
        cpuRow('floor: the Digest work RFC 7616 forces', 'digest-floor'),
        cpuRow('Digest SHA-256', 'digest'),
      );
    }
    sections.push({
      id: `http-${framework}`,
      title: `2. HTTP overhead, ${name}`,
      note:
        framework === 'node'
          ? `Small JSON route, autocannon ${connections} keep-alive connections, ${duration} s per measurement (Negotiate: the same ${tokens.length} tokens, each once, per server), ${rounds} rounds, server in its own process (one core), load generator in another. Floors (bench/servers/floors.mjs), not authentication: the no-op middleware only sets the request's auth object in the framework's middleware form (Fastify: an async onRequest hook, Koa: an async middleware awaiting next()); the Digest floor does per request only what RFC 7616 forces once H(A1), H(A2) and the nonce check are cached (two SHA-256 KD values, a constant-time comparison, the nc check in a Map, the Authentication-Info header), locating its four values in the header without parsing it. Negotiate: ${spnego ? 'SPNEGO tokens through negotiate()' : 'raw RFC 4121 Kerberos tokens through KerberosAcceptor (negotiate() was not exported by @httpauth/core when this ran)'}, aes256-cts-hmac-sha1-96, mutual auth.`
          : undefined,
      rows,
      warnings: warnings.filter((w) => w.startsWith(`${framework}/`)),
    });
  }
  sections.push({
    id: 'digest-http-auth',
    title: '4. Digest: httpauth (SHA-256) vs http-auth (MD5), Express',
    note: 'Same Express route and load; both with qop=auth and an increasing nc per nonce.',
    rows: [
      {
        label: 'Express + httpauth Digest SHA-256',
        unit: 'req/s',
        samples: samples.get('express/digest-4')!,
        ratioTo: 'Express + http-auth Digest MD5',
        target: { min: 1, text: '≥ http-auth' },
      },
      {
        label: 'Express + http-auth Digest MD5',
        unit: 'req/s',
        samples: samples.get('express/http-auth')!,
      },
    ],
  });
  emit(sections);
} finally {
  await realm.kdc.stop();
}
