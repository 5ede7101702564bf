/**
 * Debian's apache2 for the comparisons with mod_auth_gssapi: mpm_event from a config file of our
 * own in a temp dir, one child process per core × 25 threads, keep-alive without a request cap,
 * MIT's default replay cache (a fresh directory per start, shared by the child processes). `/api`
 * (a small static JSON file) is protected by the given mod_auth_gssapi block (default: Negotiate
 * with the keytab); its body, `{"hello":"world"}`, is the one the Node side of comparison 3
 * answers with (`staticBody`). The config and start are the tests' (test/harness/apache-gssapi.ts).
 */
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import { launchApacheGssapi, type ApacheGssapiLaunch } from '../../test/harness/apache-gssapi.js';
import type { Server } from './load.js';

const cores = availableParallelism();

/** The directives inside `<Files api>` besides AuthType, GssapiCredStore and Require. */
export type ApacheGssapiBlock = ApacheGssapiLaunch['gssapiBlock'];

/** Negotiate (SPNEGO/krb5 tokens) only: comparison 3. */
export const NEGOTIATE_BLOCK: ApacheGssapiBlock = ['GssapiAllowedMech krb5'];

export async function startApache(
  keytab: string,
  env: NodeJS.ProcessEnv,
  block: ApacheGssapiBlock = NEGOTIATE_BLOCK,
): Promise<Server & { errorLog: string }> {
  const apache = await launchApacheGssapi({
    keytab,
    krb5Conf: env.KRB5_CONFIG!,
    name: 'httpauth-bench-apache-',
    apiBody: JSON.stringify({ hello: 'world' }),
    authName: 'bench',
    gssapiBlock: block,
    logLevel: process.env.BENCH_APACHE_LOGLEVEL ?? 'warn',
    env,
    // One child process per core, threads as Debian's default, keep-alive without a request cap.
    serverDirectives: () => `AddType application/json .json
StartServers ${cores}
ServerLimit ${cores}
ThreadsPerChild 25
MaxRequestWorkers ${cores * 25}
MinSpareThreads 25
MaxSpareThreads ${cores * 25}
KeepAlive On
MaxKeepAliveRequests 0
KeepAliveTimeout 60`,
  });
  return { ...apache, errorLog: join(apache.dir, 'error.log') };
}
