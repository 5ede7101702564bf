/**
 * Issue 18: Basic-over-Kerberos logons per second, httpauth's `basic({ kerberos })` vs Apache
 * httpd + mod_auth_gssapi's `GssapiBasicAuth`, on the same MIT KDC, keytab and users.
 *
 * Each request is a full logon on both sides: an AS exchange with the password (the first AS-REQ
 * without pre-authentication, answered with ETYPE-INFO2, then PA-ENC-TIMESTAMP), a TGS exchange
 * for the server's own principal, and that ticket decrypted with the keytab (mod_auth_gssapi:
 * gss_acquire_cred_with_password, then init/accept_sec_context against its own credentials).
 * Neither side caches a logon (mod_auth_gssapi without GssapiUseSessions). Both on plain HTTP on
 * loopback (httpauth with allowInsecure), so TLS costs neither. Each server is started afresh per
 * measurement and gets the same bounded number of logons, spread over the same users.
 */
import { Agent, request } from 'node:http';
import { availableParallelism } from 'node:os';
import { startApache } from '../lib/apache.js';
import { startApp, type Server } from '../lib/load.js';
import { emit, quick, type Row } from '../lib/suite.js';
import { startMitKdc } from '../../test/harness/mit-kdc.js';

const rounds = quick ? 2 : 3;
/** Logons per server and round: bounded by count, not time. */
const logons = quick ? 150 : 1500;
const concurrency = 8;
const cores = availableParallelism();
const USERS = Array.from({ length: 16 }, (_, i) => ({
  name: `bench${String(i + 1).padStart(2, '0')}`,
  password: `Bench-pw-${i + 1}`,
}));
const ENCTYPE = 'aes256-cts-hmac-sha1-96';

/** `count` logons with `concurrency` in flight, users in turn; every answer must be 200. */
async function logonLoad(port: number, count: number): Promise<number> {
  const agent = new Agent({ keepAlive: true, maxSockets: concurrency });
  const headers = USERS.map(
    (u) => `Basic ${Buffer.from(`${u.name}:${u.password}`).toString('base64')}`,
  );
  let next = 0;
  const one = (i: number) =>
    new Promise<void>((resolve, reject) => {
      const req = request(
        {
          host: '127.0.0.1',
          port,
          path: '/api',
          agent,
          headers: { authorization: headers[i % headers.length] },
        },
        (res) => {
          res.resume();
          res.once('end', () =>
            res.statusCode === 200
              ? resolve()
              : reject(
                  new Error(`logon ${i} (${USERS[i % USERS.length]!.name}): ${res.statusCode}`),
                ),
          );
        },
      );
      req.setTimeout(30_000, () => req.destroy(new Error('logon timed out')));
      req.once('error', reject);
      req.end();
    });
  // Both sides must really check: a wrong password is refused before anything is measured.
  const wrong = await new Promise<number | undefined>((resolve, reject) => {
    const basic = Buffer.from(`${USERS[0]!.name}:not-the-password`).toString('base64');
    const req = request(
      {
        host: '127.0.0.1',
        port,
        path: '/api',
        agent,
        headers: { authorization: `Basic ${basic}` },
      },
      (res) => {
        res.resume();
        res.once('end', () => resolve(res.statusCode));
      },
    );
    req.once('error', reject);
    req.end();
  });
  if (wrong !== 401) throw new Error(`a wrong password got ${wrong}, not 401`);
  const worker = async () => {
    while (next < count) await one(next++);
  };
  // A few logons first, outside the clock: processes, keytab and KDC connections warm.
  for (let i = 0; i < concurrency; i++) await one(i);
  const started = process.hrtime.bigint();
  await Promise.all(Array.from({ length: concurrency }, worker));
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  agent.destroy();
  return count / seconds;
}

const kdc = await startMitKdc({
  realm: 'BASIC.TEST',
  enctypes: [ENCTYPE],
  principals: [
    ...USERS.map((u) => ({
      name: u.name,
      password: u.password,
      options: ['+requires_preauth'],
    })),
    { name: 'HTTP/localhost', enctypes: [ENCTYPE] },
  ],
});
try {
  const samples: Record<'apache' | 'httpauth', number[]> = { apache: [], httpauth: [] };
  const measure = async (key: 'apache' | 'httpauth', server: Server) => {
    try {
      samples[key].push(await logonLoad(server.port, logons));
    } finally {
      await server.stop();
    }
  };
  for (let round = 0; round < rounds; round++) {
    await measure(
      'apache',
      await startApache(kdc.keytabPath, kdc.env, [
        'GssapiBasicAuth On',
        'GssapiBasicAuthMech krb5',
        'GssapiAllowedMech krb5',
      ]),
    );
    await measure(
      'httpauth',
      await startApp({
        framework: 'node',
        auth: 'basic-kerberos',
        workers: cores,
        keytab: kdc.keytabPath,
        realm: kdc.realm,
        kdcs: [`127.0.0.1:${kdc.port}`],
      }),
    );
  }
  const apache = 'Apache 2.4 mpm_event + mod_auth_gssapi GssapiBasicAuth (MIT)';
  const rows: Row[] = [
    { label: apache, unit: 'logons/s', samples: samples.apache },
    {
      label: `httpauth basic({ kerberos }) on node:http, cluster of ${cores}`,
      unit: 'logons/s',
      samples: samples.httpauth,
      ratioTo: apache,
      target: { min: 1, text: '≥ Apache' },
    },
  ];
  emit([
    {
      id: 'basic-kerberos',
      title: 'Basic over Kerberos: httpauth vs Apache httpd + mod_auth_gssapi GssapiBasicAuth',
      note: `One MIT KDC (single process, ${ENCTYPE}) for both; ${USERS.length} users with +requires_preauth in turn; every request a full logon (AS-REQ, AS-REQ with PA-ENC-TIMESTAMP, TGS-REQ for HTTP/localhost, ticket checked with the keytab), nothing cached. ${cores} cores for both: Apache ${cores} child processes × 25 threads, Node ${cores} cluster workers; ${concurrency} logons in flight, ${logons} per server and round, ${rounds} rounds. The KDC, the servers and the client share the cores.`,
      rows,
    },
  ]);
} finally {
  await kdc.stop();
}
