/**
 * What the gateway benchmarks share (bench/suites/gateway.ts, bench/suites/profile-http.ts): one
 * upstream process, the plain Node proxy and its floors (bench/servers/proxy.mjs), and gateways
 * built from a configuration object (bench/servers/gateway.mjs) with the suite's NTLM account,
 * Negotiate keytab and session key, all in `dir`.
 */
import { randomBytes } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ntowfv1 } from '@httpauth/core/wire';
import { BENCH_PASSWORD, BENCH_USER, startChild, type Server } from './load.js';

const servers = new URL('../servers/', import.meta.url).pathname;

export type AuthConfig = Readonly<Record<string, unknown>>;

export interface GatewaySetup {
  readonly upstream: Server;
  /** NTLM against an smbpasswd file holding the bench user. */
  readonly ntlmAuth: AuthConfig;
  /** Negotiate with the realm's keytab (Kerberos only, one hour of clock skew). */
  readonly negotiateAuth: AuthConfig;
  /** The `sessions` part of a configuration: one key from a file. */
  readonly sessions: AuthConfig;
  startGateway(auth: AuthConfig, extra?: AuthConfig, nodeArgs?: string[]): Promise<Server>;
  /** The plain proxy, or one of its floors ('floor', 'floor-identity'). */
  startProxy(kind?: 'floor' | 'floor-identity', nodeArgs?: string[]): Promise<Server>;
}

export async function startGatewaySetup(dir: string, keytab: string): Promise<GatewaySetup> {
  const smbpasswd = join(dir, 'smbpasswd');
  writeFileSync(
    smbpasswd,
    `${BENCH_USER}:1001:XXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXX:${ntowfv1(BENCH_PASSWORD).toString('hex').toUpperCase()}:[U          ]:LCT-00000000:\n`,
  );
  const sessionKey = join(dir, 'session.key');
  writeFileSync(sessionKey, randomBytes(32));
  const upstream = await startChild(process.execPath, [join(servers, 'upstream.mjs')]);
  const configOf = (auth: AuthConfig, extra: AuthConfig = {}) => ({
    config: {
      listen: { host: '127.0.0.1', port: 0 },
      upstream: `http://127.0.0.1:${upstream.port}`,
      auth: { realm: 'bench', ...auth },
      log: { level: 'silent' },
      ...extra,
    },
    baseDir: dir,
  });
  return {
    upstream,
    ntlmAuth: { mechanisms: ['ntlm'], ntlm: { smbpasswd, domain: 'EXAMPLE' } },
    negotiateAuth: {
      mechanisms: ['negotiate'],
      negotiate: { keytab, kerberosOnly: true, clockSkewSec: 3600 },
    },
    sessions: { keys: [{ id: 'k1', secretFile: sessionKey }] },
    startGateway: (auth, extra, nodeArgs = []) =>
      startChild(process.execPath, [
        ...nodeArgs,
        join(servers, 'gateway.mjs'),
        JSON.stringify(configOf(auth, extra)),
      ]),
    startProxy: (kind, nodeArgs = []) =>
      startChild(process.execPath, [
        ...nodeArgs,
        join(servers, 'proxy.mjs'),
        String(upstream.port),
        ...(kind === undefined ? [] : [kind]),
      ]),
  };
}
