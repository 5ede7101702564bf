/**
 * The httpauth demo: an Express intranet API. GET / says what to try; GET /whoami answers who
 * you proved to be. Configuration comes from the environment (see config.ts and README.md).
 */
import { createServer as createHttpServer } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { AuthInfo } from '@httpauth/core';
import { createAuthenticator, createImpersonation } from '@httpauth/core';
import { httpAuth } from '@httpauth/express';
import express from 'express';
import { ConfigError, configFromEnv, type DemoConfig } from './config.js';

/** The JSON /whoami answers: the principal's fields plus the impersonation summary. */
export function whoamiBody(auth: AuthInfo): Record<string, unknown> {
  const { principal } = auth;
  return {
    name: principal.name,
    user: principal.user,
    realm: principal.realm ?? null,
    mechanism: principal.mechanism,
    ...(principal.groups === undefined ? {} : { groups: principal.groups }),
    ...(principal.groupSids === undefined ? {} : { groupSids: principal.groupSids }),
    ...(principal.userSid === undefined ? {} : { userSid: principal.userSid }),
    ...(principal.upn === undefined ? {} : { upn: principal.upn }),
    ...(principal.expiresAt === undefined ? {} : { expiresAt: principal.expiresAt.toISOString() }),
    ...(principal.delegated === undefined ? {} : { delegated: principal.delegated }),
    ...(principal.channelBound === undefined ? {} : { channelBound: principal.channelBound }),
    // How a client certificate was mapped: strength, rule, fingerprint, issuer, subject, serial.
    ...(principal.certificate === undefined ? {} : { certificate: principal.certificate }),
    impersonation: auth.impersonation.toJSON(),
  };
}

function homePage(config: DemoConfig, base: string): string {
  return [
    'httpauth demo: an intranet API behind Windows-style HTTP authentication.',
    '',
    `Realm: ${config.realm}`,
    'Offered:',
    ...config.offers.map((offer) => `  - ${offer}`),
    'Not offered:',
    ...config.notOffered.map((line) => `  - ${line}`),
    '',
    'Try:',
    ...config.examples.map((example) => `  ${example.replaceAll('{base}', base)}`),
    '',
    'GET /whoami answers with who you are, as JSON.',
    '',
  ].join('\n');
}

function main(): void {
  let config: DemoConfig;
  try {
    config = configFromEnv(process.env);
  } catch (error) {
    if (error instanceof ConfigError) {
      console.error(`httpauth demo: ${error.message}`);
      process.exit(2);
    }
    throw error;
  }
  // HTTPAUTH_IMPERSONATE=1: every principal that maps to a non-system local user (uid >= 1000,
  // never root) gets an impersonation context; /whoami then shows its uid, gid and groups, and
  // `delegated: true` when a Kerberos client forwarded its TGT (docs/impersonation.md).
  const impersonation =
    process.env.HTTPAUTH_IMPERSONATE === '1'
      ? createImpersonation({ maxLevel: 'delegate', allow: { anyUser: true } })
      : undefined;
  const authenticator = createAuthenticator({
    ...(config.clientCertificates === undefined
      ? {}
      : { certificate: config.clientCertificates.pkg }),
    packages: config.packages,
    ...(impersonation === undefined ? {} : { impersonation }),
    ...(config.directory === undefined ? {} : { directory: config.directory }),
  });
  const app = express();
  app.disable('x-powered-by');
  let base = '';

  app.get('/', (_req, res) => {
    res.type('text/plain').send(homePage(config, base));
  });
  app.get('/whoami', httpAuth(authenticator), (req, res) => {
    // httpAuth() only calls this handler for authenticated requests.
    res.json(whoamiBody(req.auth as AuthInfo));
  });

  // Client certificates: asked for in the handshake, but the package decides (a stable error
  // code, or the other packages), so Node must not drop the handshake itself.
  const tls =
    config.tls === undefined || config.clientCertificates === undefined
      ? config.tls
      : {
          ...config.tls,
          requestCert: true,
          rejectUnauthorized: false,
          ca: config.clientCertificates.ca,
        };
  const server = (tls === undefined ? createHttpServer(app) : createHttpsServer(tls, app)).listen(
    config.port,
    config.host,
    () => {
      const address = server.address();
      const port = typeof address === 'object' && address !== null ? address.port : config.port;
      base = `${config.tls === undefined ? 'http' : 'https'}://${config.host}:${port}`;
      console.log(`httpauth demo listening on ${base}`);
      for (const offer of config.offers) console.log(`  offering ${offer}`);
      for (const line of config.notOffered) console.log(`  not offering ${line}`);
      for (const example of config.examples)
        console.log(`  try: ${example.replaceAll('{base}', base)}`);
    },
  );
  server.on('error', (error) => {
    console.error(`httpauth demo: ${error.message}`);
    process.exit(1);
  });

  const shutdown = (): void => {
    server.close(() => {
      void Promise.all([
        authenticator.close(),
        impersonation?.close(),
        config.directory?.close(),
      ]).then(() => process.exit(0));
    });
    server.closeIdleConnections();
  };
  process.once('SIGINT', shutdown);
  process.once('SIGTERM', shutdown);
}

main();
