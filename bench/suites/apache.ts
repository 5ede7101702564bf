/**
 * Comparison 3: Negotiate requests per second, httpauth vs Apache httpd + mod_auth_gssapi.
 * Same keytab, same token set (one distinct AP-REQ per request, MIT-made), same load, loopback.
 * Apache: mpm_event from a config file of our own in a temp dir, its default MIT replay cache
 * (a fresh directory per run, shared by its child processes). httpauth: Fastify and Express under
 * node:cluster with one worker per core, the workers sharing one replay cache in Redis
 * (@httpauth/redis, as docs/several-nodes.md recommends for several processes; a fresh
 * redis-server per run), checked at start: a token accepted by one worker is refused by another,
 * or the suite fails. Both sides serve the same bytes: Apache its static file, Node the same
 * string. Every server is started afresh for each measurement, so each sees each token once.
 * The frameworks' own floor: each Node cluster also serves the same route without auth, under
 * the same load (the same number of requests), so a ratio to Apache can be read against what
 * the framework alone allows on these cores.
 */
import { availableParallelism } from 'node:os';
import { startRedis } from '../../test/harness/redis.js';
import { startApache } from '../lib/apache.js';
import { startBenchRealm } from '../lib/realm.js';
import { assertReplayRefusedAcrossWorkers } from '../lib/replay-check.js';
import { assertAnswered, runLoad, startApp, type Server } from '../lib/load.js';
import { emit, quick, type Row } from '../lib/suite.js';

const rounds = quick ? 2 : 3;
const duration = quick ? 1 : 5;
const connections = 16;
const cores = availableParallelism();
/** The bytes both sides answer with: Apache's static file and the Node route's fixed body. */
const STATIC_BODY = JSON.stringify({ hello: 'world' });

const realm = await startBenchRealm('aes256-cts-hmac-sha1-96');
try {
  const core = (await import('@httpauth/core')) as Record<string, unknown>;
  const spnego = typeof core.negotiate === 'function';
  const tokens = realm.tokens(quick ? 3000 : 40000, spnego ? 'spnego' : 'krb5');
  // The replay check's own tokens: each cluster gets a fresh Redis, so they serve every run.
  const checkTokens = realm.tokens(24, spnego ? 'spnego' : 'krb5');
  const keytab = realm.kdc.keytabPath;
  const samples: Record<string, number[]> = {
    apache: [],
    fastify: [],
    express: [],
    fastifyPrivate: [],
    fastifyNone: [],
    expressNone: [],
  };
  const measure = async (key: string, server: Server & { errorLog?: string }) => {
    try {
      // Bounded by the token set: a cluster of two may outrun any pool sized for a duration.
      const result = await runLoad({
        amount: tokens.length,
        port: server.port,
        mode: key.endsWith('None') ? 'none' : 'negotiate',
        connections,
        duration,
        tokens,
      });
      assertAnswered(key, result, connections * 3);
      samples[key]!.push(result.rps);
    } finally {
      await server.stop();
    }
  };
  /** A Node cluster on a fresh Redis, its replay cache checked across workers before the load. */
  const measureCluster = async (framework: 'fastify' | 'express') => {
    const redis = await startRedis();
    try {
      const server = await startApp({
        framework,
        auth: 'negotiate',
        workers: cores,
        keytab,
        staticBody: STATIC_BODY,
        redisUrl: redis.url,
      });
      try {
        await assertReplayRefusedAcrossWorkers(server.port, checkTokens, framework);
      } catch (error) {
        await server.stop();
        throw error;
      }
      await measure(framework, server);
    } finally {
      await redis.dispose();
    }
  };
  for (let round = 0; round < rounds; round++) {
    await measure('apache', await startApache(keytab, realm.kdc.env));
    await measureCluster('fastify');
    await measureCluster('express');
    // Reference, not like for like: each worker its own in-memory replay cache (a token replayed
    // to the other worker would be accepted), as this comparison was run before issue 16.
    await measure(
      'fastifyPrivate',
      await startApp({
        framework: 'fastify',
        auth: 'negotiate',
        workers: cores,
        keytab,
        staticBody: STATIC_BODY,
      }),
    );
    // The frameworks' floor: the same cluster and route, no auth.
    for (const framework of ['fastify', 'express'] as const) {
      await measure(
        `${framework}None`,
        await startApp({
          framework,
          auth: 'none',
          workers: cores,
          keytab,
          staticBody: STATIC_BODY,
        }),
      );
    }
  }
  const apache = 'Apache 2.4 mpm_event + mod_auth_gssapi (MIT, default replay cache)';
  const fastifyShared = `httpauth + Fastify, cluster of ${cores}, replay cache shared in Redis`;
  const expressShared = `httpauth + Express, cluster of ${cores}, replay cache shared in Redis`;
  const fastifyNone = `Fastify, cluster of ${cores}, no auth, same route (the framework's floor)`;
  const expressNone = `Express, cluster of ${cores}, no auth, same route (the framework's floor)`;
  const rows: Row[] = [
    { label: apache, unit: 'req/s', samples: samples.apache! },
    {
      label: fastifyShared,
      unit: 'req/s',
      samples: samples.fastify!,
      ratioTo: apache,
      target: { min: 1, text: '≥ Apache' },
    },
    {
      label: expressShared,
      unit: 'req/s',
      samples: samples.express!,
      ratioTo: apache,
      target: { min: 1, text: '≥ Apache' },
    },
    {
      label: `httpauth + Fastify, cluster of ${cores}, a private replay cache per worker (reference: replays across workers accepted)`,
      unit: 'req/s',
      samples: samples.fastifyPrivate!,
      ratioTo: apache,
    },
    { label: fastifyNone, unit: 'req/s', samples: samples.fastifyNone!, ratioTo: apache },
    { label: expressNone, unit: 'req/s', samples: samples.expressNone!, ratioTo: apache },
    {
      label: `${fastifyShared} vs the same cluster without auth`,
      unit: 'req/s',
      samples: samples.fastify!,
      ratioTo: fastifyNone,
    },
    {
      label: `${expressShared} vs the same cluster without auth`,
      unit: 'req/s',
      samples: samples.express!,
      ratioTo: expressNone,
    },
  ];
  emit([
    {
      id: 'apache',
      title: '3. Negotiate per request: httpauth vs Apache httpd + mod_auth_gssapi',
      note: `${cores} cores for both: Apache ${cores} child processes × 25 threads (MIT's file replay cache, shared by its processes), Node ${cores} cluster workers sharing one replay cache in a local Redis (@httpauth/redis; checked at start: a token accepted by one worker is refused by another). Both answer with the same ${STATIC_BODY.length}-byte JSON body (Apache a static file). One distinct ${spnego ? 'SPNEGO' : 'raw Kerberos (RFC 4121)'} token per request, aes256-cts-hmac-sha1-96, autocannon ${connections} keep-alive connections (sharing the same cores), each server sent the same ${tokens.length} tokens once (the no-auth rows: as many plain requests), ${rounds} rounds.`,
      rows,
    },
  ]);
} finally {
  await realm.kdc.stop();
}
