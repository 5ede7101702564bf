/**
 * Kerberos delegation: a front service that calls a downstream Kerberos-protected HTTP service
 * *as the client*, with the TGT the client forwarded. The front authenticates with Negotiate; at
 * level `delegate` the impersonation context has written the forwarded TGT to a private ccache,
 * and `curl --negotiate` runs as the mapped local user with KRB5CCNAME pointing at it, so the
 * downstream service sees the client, not the front service. The ccache is deleted when the
 * response finishes. See docs/impersonation.md.
 *
 * The same file runs the downstream service too (DELEGATION_ROLE=downstream): a Negotiate-
 * protected /whoami, enough to see whose ticket arrived.
 *
 *   KRB5_KTNAME=/etc/httpauth/http.keytab DELEGATION_ROLE=downstream PORT=8092 \
 *     node --import tsx examples/delegation/server.ts
 *   KRB5_KTNAME=/etc/httpauth/http.keytab DELEGATION_DOWNSTREAM=http://localhost:8092/whoami \
 *     node --import tsx examples/delegation/server.ts             # as root: port 8091
 *   kinit -f alice && curl --negotiate -u : --delegation always http://localhost:8091/downstream
 *
 * Constrained delegation instead (S4U2Self + S4U2Proxy, docs/delegation.md): with
 * DELEGATION_S4U_SERVICES set, the front needs no forwarded TGT (a browser never sends one): it
 * asks the KDC for a ticket to the downstream service in the client's name with its own keytab,
 * and calls it with `impersonation.fetch()` (Negotiate, the downstream's AP-REP checked). Users
 * need no local account (localUser: 'optional').
 *
 *   KRB5_KTNAME=websvc.keytab KRB5_CONFIG=krb5.conf DELEGATION_REALM=SAMDOM.TEST \
 *     DELEGATION_ACCOUNT=websvc DELEGATION_S4U_SERVICES=HTTP/backend.samdom.test \
 *     DELEGATION_DOWNSTREAM=https://backend.samdom.test/whoami node --import tsx examples/delegation/server.ts
 *   kinit alice && curl --negotiate -u : http://localhost:8091/downstream
 *
 * Environment: KRB5_KTNAME (keytab of the HTTP/host service), DELEGATION_ROLE (front, default, or
 * downstream), DELEGATION_DOWNSTREAM (front: the downstream URL), DELEGATION_ALLOW (front:
 * comma-separated principals or groups that may be impersonated; default every mapped
 * non-system user), KRB5_CONFIG (handed on to the children), PORT (8091), HOST (127.0.0.1).
 * Constrained delegation: DELEGATION_S4U_SERVICES (comma-separated SPNs the front may delegate
 * to), DELEGATION_REALM (the realm), DELEGATION_ACCOUNT (AD: the front's sAMAccountName),
 * DELEGATION_DOWNSTREAM_SPN (the downstream's SPN when not HTTP/<host of the URL>; the ticket
 * for it then goes to DELEGATION_DOWNSTREAM's host whatever it is). fetch() refuses a plain-HTTP
 * downstream other than loopback: the AP-REQ would cross the network in clear.
 */
import type { AddressInfo } from 'node:net';
import {
  actingContext,
  createAuthenticator,
  createImpersonation,
  errorBody,
  isHttpAuthError,
  negotiate,
  statusForKind,
  type AuthInfo,
  type ImpersonationFactoryWithResources,
} from '@httpauth/core';
import { httpAuth } from '@httpauth/express';
import express from 'express';

const role = process.env.DELEGATION_ROLE ?? 'front';
if (role !== 'front' && role !== 'downstream') {
  console.error('delegation: DELEGATION_ROLE is "front" or "downstream"');
  process.exit(2);
}
const downstream = process.env.DELEGATION_DOWNSTREAM;
if (role === 'front' && (downstream === undefined || !/^https?:\/\//.test(downstream))) {
  console.error('delegation: set DELEGATION_DOWNSTREAM to the downstream service URL');
  process.exit(2);
}
const allowList = (process.env.DELEGATION_ALLOW ?? '')
  .split(',')
  .map((entry) => entry.trim())
  .filter((entry) => entry !== '');

const s4uServices = (process.env.DELEGATION_S4U_SERVICES ?? '')
  .split(',')
  .map((entry) => entry.trim())
  .filter((entry) => entry !== '');
const s4u = role === 'front' && s4uServices.length > 0;
if (s4u && process.env.DELEGATION_REALM === undefined) {
  console.error('delegation: DELEGATION_S4U_SERVICES needs DELEGATION_REALM');
  process.exit(2);
}

const impersonation: ImpersonationFactoryWithResources | undefined =
  role === 'front'
    ? createImpersonation({
        maxLevel: 'delegate',
        allow:
          allowList.length === 0 ? { anyUser: true } : { principals: allowList, groups: allowList },
        ...(s4u
          ? {
              constrainedDelegation: {
                realm: process.env.DELEGATION_REALM as string,
                allowedServices: s4uServices,
                localUser: 'optional' as const,
                ...(process.env.DELEGATION_ACCOUNT === undefined
                  ? {}
                  : { accountName: process.env.DELEGATION_ACCOUNT }),
              },
            }
          : {}),
      })
    : undefined;
const authenticator = createAuthenticator({
  packages: [negotiate({ kerberosOnly: true })],
  ...(impersonation === undefined ? {} : { impersonation }),
});

/** The environment children get besides the identity variables: the Kerberos configuration. */
const childEnv: Record<string, string> =
  process.env.KRB5_CONFIG === undefined ? {} : { KRB5_CONFIG: process.env.KRB5_CONFIG };

const app = express();
app.disable('x-powered-by');
app.use(httpAuth(authenticator));

app.get('/whoami', (req, res) => {
  const auth = req.auth as AuthInfo;
  res.json({
    name: auth.principal.name,
    delegated: auth.principal.delegated === true,
    impersonation: auth.impersonation.toJSON(),
  });
});

/** Constrained delegation: the downstream called with fetch() and an S4U2Proxy ticket. */
async function callWithS4u(auth: AuthInfo): Promise<unknown> {
  const service = process.env.DELEGATION_DOWNSTREAM_SPN;
  const answer = await auth.impersonation.fetch!(
    downstream as string,
    // The operator named both the URL and the SPN: a ticket for that SPN may go to that URL.
    service === undefined ? {} : { service, allowServiceHostMismatch: true },
  );
  const text = await answer.text();
  let body: unknown = text;
  try {
    body = JSON.parse(text);
  } catch {
    // Not JSON: hand it on as text.
  }
  return { as: auth.principal.name, via: 'S4U2Proxy', downstream: { status: answer.status, body } };
}

app.get('/downstream', (req, res) => {
  const auth = req.auth as AuthInfo;
  (async () => {
    if (s4u) {
      res.json(await callWithS4u(auth));
      return;
    }
    const user = actingContext(auth.impersonation);
    if (user.level !== 'delegate') {
      // Without a forwarded TGT there is nothing to call the downstream service with.
      res.status(403).json({
        error: 'no delegated credential: use curl --delegation always or a forwardable ticket',
        impersonation: user.toJSON(),
      });
      return;
    }
    // curl runs as the user, KRB5CCNAME set by the context: it authenticates as the client.
    const { stdout } = await user.execFile(
      'curl',
      [
        '--negotiate',
        '-u',
        ':',
        '-sS',
        '--max-time',
        '20',
        '-w',
        '\n%{http_code}',
        '--',
        downstream as string,
      ],
      { env: childEnv, timeout: 30_000 },
    );
    const cut = stdout.lastIndexOf('\n');
    const body = stdout.slice(0, cut);
    let parsed: unknown = body;
    try {
      parsed = JSON.parse(body);
    } catch {
      // Not JSON: hand it on as text.
    }
    res.json({
      as: user.posix?.user,
      ccache: 'deleted when this response finishes',
      downstream: { status: Number(stdout.slice(cut + 1)), body: parsed },
    });
  })().catch((error: unknown) => {
    if (isHttpAuthError(error)) {
      res.status(statusForKind(error.kind)).json(errorBody(error));
    } else {
      console.error('delegation: downstream call failed:', error);
      res.status(502).json({ error: 'downstream call failed' });
    }
  });
});

const defaultPort = role === 'front' ? 8091 : 8092;
const server = app.listen(
  Number(process.env.PORT ?? defaultPort),
  process.env.HOST ?? '127.0.0.1',
  () => {
    const { address, port } = server.address() as AddressInfo;
    console.log(`delegation (${role}) listening on http://${address}:${port}`);
  },
);
const shutdown = (): void => {
  server.close(() => {
    void Promise.all([authenticator.close(), impersonation?.close()]).then(() => process.exit(0));
  });
  server.closeIdleConnections();
};
process.once('SIGINT', shutdown);
process.once('SIGTERM', shutdown);
