/**
 * The two HTTP services of a constrained delegation test (the MIT LDAP realm's,
 * delegation-mit-ldap-e2e.test.ts): a backend protected by httpauth that answers who called it,
 * and an intranet API that logs users on (Negotiate, NTLM and Digest against fixed passwords,
 * Basic checked by the KDC, optionally a client certificate over TLS) and calls
 * `/call?to=URL&service=SPN` as them with `impersonation.fetch()`, answering what the backend
 * said or the stable code of the refusal.
 */
import { createServer as createHttpServer } from 'node:http';
import { createServer as createHttpsServer, type ServerOptions } from 'node:https';
import {
  basic,
  digest,
  digestCallback,
  isHttpAuthError,
  negotiate,
  ntlm,
  statusForKind,
  type ConnectionSecurityPackage,
  type ImpersonationFactory,
  type PosixIdentity,
} from '@httpauth/core';
import { createHandler, type AuthenticatedHandler } from '@httpauth/core/node';
import { ntowfv1 } from '@httpauth/core/wire';
import { listen, type Running } from './listen.js';

/** Local identities for these users (by bare name): the policy maps them, no useradd needed. */
export function fixedUsers(names: readonly string[]): {
  lookup(name: string): Promise<PosixIdentity | undefined>;
} {
  return {
    lookup: async (name) => {
      const index = names.indexOf(name.split('@')[0] as string);
      return index < 0
        ? undefined
        : {
            user: name,
            uid: 62001 + index,
            gid: 62000,
            groups: [62000],
            groupNames: ['staff'],
            home: '/nonexistent',
            shell: '/usr/sbin/nologin',
          };
    },
  };
}

/** A Negotiate-only backend answering `{ user, mechanism }` of whoever authenticated. */
export function startWhoamiBackend(keytab: string): Promise<Running> {
  const handler = createHandler(
    { packages: [negotiate({ kerberos: { keytab } })] },
    (_req, res, auth) => {
      res.setHeader('content-type', 'application/json');
      res.end(JSON.stringify({ user: auth.principal.name, mechanism: auth.principal.mechanism }));
    },
  );
  return listen(createHttpServer(handler));
}

export interface DelegatingApiOptions {
  readonly keytab: string;
  readonly impersonation: ImpersonationFactory;
  /** Passwords of NTLM (domain `domain`) and Digest users. */
  readonly passwords: Readonly<Record<string, string>>;
  readonly domain: string;
  /** Basic over Kerberos against this realm's KDCs (krb5Conf). */
  readonly realm: string;
  readonly krb5Conf: string;
  /** Client certificates: served over TLS with these options (requestCert). */
  readonly certificate?: {
    readonly package: ConnectionSecurityPackage;
    readonly tls: ServerOptions;
  };
}

export function startDelegatingApi(options: DelegatingApiOptions): Promise<Running> {
  const { keytab, passwords, realm, krb5Conf } = options;
  const handler = createHandler(
    {
      ...(options.certificate === undefined ? {} : { certificate: options.certificate.package }),
      packages: [
        negotiate({ kerberos: { keytab } }),
        ntlm({
          domain: options.domain,
          credentials: (user) => {
            const password = passwords[user];
            return password === undefined ? undefined : ntowfv1(password);
          },
        }),
        digest({
          realm: 'intranet',
          credentials: digestCallback((user) => {
            const password = passwords[user];
            return password === undefined ? undefined : { password };
          }),
        }),
        basic({ realm: 'intranet', allowInsecure: true, kerberos: { realm, keytab, krb5Conf } }),
      ],
      impersonation: options.impersonation,
    },
    callAsUser,
  );
  return options.certificate === undefined
    ? listen(createHttpServer(handler))
    : listen(createHttpsServer(options.certificate.tls, handler), { tls: true });
}

/** `/call?to=URL&service=SPN`: the backend's answer as the user, or the refusal's stable code. */
const callAsUser: AuthenticatedHandler = async (req, res, auth) => {
  const query = new URL(req.url ?? '/', 'http://localhost').searchParams;
  res.setHeader('content-type', 'application/json');
  try {
    const answer = await auth.impersonation.fetch!(query.get('to') ?? '', {
      service: query.get('service') ?? '',
      // The test backends listen on 127.0.0.1 under their realm's host names (no DNS here).
      allowServiceHostMismatch: true,
    });
    const body = await answer.text();
    res.end(JSON.stringify({ logon: auth.principal.name, status: answer.status, body }));
  } catch (error) {
    const code = isHttpAuthError(error) ? error.code : 'unexpected';
    res.statusCode = isHttpAuthError(error) ? statusForKind(error.kind) : 500;
    res.end(JSON.stringify({ error: code, reason: (error as { reason?: string }).reason }));
  }
};
