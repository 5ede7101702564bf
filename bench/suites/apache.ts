/**
 * Comparison 3: Negotiate requests per second, httpauth vs Apache httpd + mod_auth_gssapi.
 * Same keytab, same token set (one distinct AP-REQ per request, MIT-made), same load, loopback.
 * Apache: mpm_event from a config file of our own in a temp dir, its default MIT replay cache
 * (a fresh directory per run). httpauth: Fastify and Express under node:cluster with one worker
 * per core. Every server is started afresh for each measurement, so each sees each token once.
 */
import { availableParallelism } from 'node:os';
import { startApache } from '../lib/apache.js';
import { startBenchRealm } from '../lib/realm.js';
import { runLoad, startApp, type Server } from '../lib/load.js';
import { emit, quick, type Row } from '../lib/suite.js';

const rounds = quick ? 2 : 3;
const duration = quick ? 1 : 5;
const connections = 16;
const cores = availableParallelism();

const realm = await startBenchRealm('aes256-cts-hmac-sha1-96');
try {
  const core = (await import('@httpauth/core')) as Record<string, unknown>;
  const spnego = typeof core.negotiate === 'function';
  const tokens = realm.tokens(quick ? 3000 : 40000, spnego ? 'spnego' : 'krb5');
  const keytab = realm.kdc.keytabPath;
  const samples: Record<string, number[]> = { apache: [], fastify: [], express: [] };
  const measure = async (key: string, server: Server & { errorLog?: string }) => {
    try {
      // Bounded by the token set: a cluster of two may outrun any pool sized for a duration.
      const result = await runLoad({
        amount: tokens.length,
        port: server.port,
        mode: 'negotiate',
        connections,
        duration,
        tokens,
      });
      if (result.errors > 0 || result.non2xx > connections * 3 || result.ok === 0) {
        throw new Error(
          `${key}: ${result.ok} ok, ${result.non2xx} non-2xx, ${result.errors} errors`,
        );
      }
      samples[key]!.push(result.rps);
    } finally {
      await server.stop();
    }
  };
  for (let round = 0; round < rounds; round++) {
    await measure('apache', await startApache(keytab, realm.kdc.env));
    await measure(
      'fastify',
      await startApp({ framework: 'fastify', auth: 'negotiate', workers: cores, keytab }),
    );
    await measure(
      'express',
      await startApp({ framework: 'express', auth: 'negotiate', workers: cores, keytab }),
    );
  }
  const apache = 'Apache 2.4 mpm_event + mod_auth_gssapi (MIT, default replay cache)';
  const rows: Row[] = [
    { label: apache, unit: 'req/s', samples: samples.apache! },
    {
      label: `httpauth + Fastify, cluster of ${cores}`,
      unit: 'req/s',
      samples: samples.fastify!,
      ratioTo: apache,
      target: { min: 1, text: '≥ Apache' },
    },
    {
      label: `httpauth + Express, cluster of ${cores}`,
      unit: 'req/s',
      samples: samples.express!,
      ratioTo: apache,
      target: { min: 1, text: '≥ Apache' },
    },
  ];
  emit([
    {
      id: 'apache',
      title: '3. Negotiate per request: httpauth vs Apache httpd + mod_auth_gssapi',
      note: `${cores} cores for both: Apache ${cores} child processes × 25 threads, Node ${cores} cluster workers. One distinct ${spnego ? 'SPNEGO' : 'raw Kerberos (RFC 4121)'} token per request, aes256-cts-hmac-sha1-96, autocannon ${connections} keep-alive connections (sharing the same cores), each server sent the same ${tokens.length} tokens once, ${rounds} rounds.`,
      rows,
    },
  ]);
} finally {
  await realm.kdc.stop();
}
