/**
 * The one LDAP connection an `@httpauth/ldap` lookup keeps: TLS (ldaps://, or ldap:// with
 * StartTLS, RFC 4513 §3.1.1) before a simple bind (§5.1.2: it sends the password as is), the
 * domain's naming context and NetBIOS name learnt once, shared by concurrent operations, and
 * opened again when the server closed it while idle.
 */
import { HttpAuthError, isHttpAuthError } from '@httpauth/core';
import type { ConnectionOptions } from 'node:tls';
import { Client, EqualityFilter, ResultCodeError } from 'ldapts';
import type { Entry } from 'ldapts';

/**
 * The account an `@httpauth/ldap` lookup binds as (a simple bind, RFC 4513 §5.1.2): its DN and password.
 */
export interface LdapBind {
  readonly dn: string;
  readonly password: string;
}

/**
 * Options of {@link ldapSidLookup} and `ldapCertificateLookup`: the domain controller's URL and TLS settings, the bind account,
 * and optionally the search base, the NetBIOS domain and the timeouts. A simple bind without TLS is
 * refused unless `allowInsecureBind` is set.
 */
export interface LdapSidLookupOptions {
  /** `ldaps://host[:636]`, or `ldap://host[:389]` (then StartTLS unless startTls is false). */
  readonly url: string;
  /** The account to bind as (a plain user with read access to objectSid is enough). */
  readonly bind: LdapBind;
  /** TLS options: `ca` for a private CA, `servername` when the URL names an address. */
  readonly tls?: ConnectionOptions;
  /** StartTLS on an ldap:// URL (default true; refused with ldaps://). */
  readonly startTls?: boolean;
  /** Allow a simple bind without TLS. Sends the bind password in clear: warns when used. */
  readonly allowInsecureBind?: boolean;
  /** Search base (default: the server's defaultNamingContext). */
  readonly baseDn?: string;
  /** NetBIOS domain name for names (default: the crossRef of the naming context says it). */
  readonly domain?: string;
  /**
   * The forest's configuration partition, where the NTAuth store and the partitions' crossRefs
   * are read (default: the server's configurationNamingContext). For a server whose root DSE
   * does not name it, such as an LDAP proxy in front of the domain controllers.
   */
  readonly configurationDn?: string;
  /** Per-operation timeout (default 5 s). */
  readonly timeoutMs?: number;
  /** TCP/TLS connect timeout (default 5 s). */
  readonly connectTimeoutMs?: number;
}

/** A bound connection and what it learnt of the domain. */
export interface Session {
  readonly client: Client;
  /** The domain's naming context (`DC=samdom,DC=test`). */
  readonly baseDn: string;
  /** The NetBIOS domain name (`SAMDOM`). */
  readonly domain: string;
  /** The forest's configuration partition (`CN=Configuration,DC=samdom,DC=test`), if named. */
  readonly configurationDn: string;
}

function invalid(): never {
  throw new HttpAuthError('ERR_HTTPAUTH_INVALID_OPTIONS');
}

export function first(value: Entry[string] | undefined): string | Buffer | undefined {
  return Array.isArray(value) ? value[0] : value;
}

export function checkOptions(options: LdapSidLookupOptions): {
  secure: boolean;
  startTls: boolean;
} {
  if (options === null || typeof options !== 'object') invalid();
  const url = typeof options.url === 'string' ? options.url.toLowerCase() : '';
  const secure = url.startsWith('ldaps://');
  if (!secure && !url.startsWith('ldap://')) invalid();
  const bind = options.bind;
  if (bind === null || typeof bind !== 'object') invalid();
  if (typeof bind.dn !== 'string' || bind.dn === '' || typeof bind.password !== 'string') invalid();
  if (bind.password === '') invalid(); // an empty password is an unauthenticated bind (RFC 4513 §5.1.2)
  if (options.startTls !== undefined && typeof options.startTls !== 'boolean') invalid();
  if (secure && options.startTls === true) invalid();
  const startTls = !secure && options.startTls !== false;
  if (!secure && !startTls) {
    if (options.allowInsecureBind !== true) invalid();
    process.emitWarning(
      'ldapSidLookup: allowInsecureBind sends the bind password in clear over ldap:// without StartTLS',
      { code: 'HTTPAUTH_LDAP_INSECURE_BIND' },
    );
  }
  for (const dn of [options.baseDn, options.domain, options.configurationDn]) {
    if (dn !== undefined && (typeof dn !== 'string' || dn === '')) invalid();
  }
  for (const ms of [options.timeoutMs, options.connectTimeoutMs]) {
    if (ms !== undefined && !(typeof ms === 'number' && Number.isFinite(ms) && ms > 0)) invalid();
  }
  return { secure, startTls };
}

/**
 * The shared connection: `run(operation)` on it. An LDAP result error (RFC 4511 §4.1.9: the
 * server answered this one request) fails that operation only; the connection stays up for the
 * others. Anything else (the socket closed, a timeout, which ldapts answers by destroying the
 * socket) drops the connection, and each operation that met it once the connection was up is
 * retried once on a fresh one.
 */
export interface SharedConnection {
  run<T>(operation: (session: Session) => Promise<T>, signal?: AbortSignal): Promise<T>;
  close(): Promise<void>;
}

export function sharedConnection(options: LdapSidLookupOptions): SharedConnection {
  const { secure, startTls } = checkOptions(options);
  const timeout = options.timeoutMs ?? 5_000;
  const connectTimeout = options.connectTimeoutMs ?? 5_000;
  let session: Promise<Session> | undefined;

  /** Connect, secure, bind, and learn the naming context and the NetBIOS domain name. */
  async function open(): Promise<Session> {
    const client = new Client({
      url: options.url,
      timeout,
      connectTimeout,
      // Only for ldaps://: ldapts given tlsOptions on an ldap:// URL wraps the socket in TLS
      // before the StartTLS request, and the server resets the connection.
      ...(secure && options.tls !== undefined ? { tlsOptions: { ...options.tls } } : {}),
    });
    try {
      // A copy: ldapts' startTLS writes the plain socket into the options object it is given.
      if (startTls) await client.startTLS({ ...options.tls });
      await client.bind(options.bind.dn, options.bind.password);
      const { searchEntries } = await client.search('', {
        scope: 'base',
        attributes: ['defaultNamingContext', 'configurationNamingContext'],
      });
      const root = searchEntries[0];
      const baseDn = options.baseDn ?? String(first(root?.defaultNamingContext) ?? '');
      if (baseDn === '') throw new Error('the server named no defaultNamingContext');
      const configurationDn =
        options.configurationDn ?? String(first(root?.configurationNamingContext) ?? '');
      const domain = options.domain ?? (await netbiosName(client, configurationDn, baseDn));
      return { client, baseDn, domain, configurationDn };
    } catch (error) {
      await client.unbind().catch(() => undefined);
      throw error;
    }
  }

  /** MS-ADTS §6.1.1.2.1.1.2.1: the crossRef of a domain NC holds its nETBIOSName. */
  async function netbiosName(client: Client, configuration: string, baseDn: string) {
    if (configuration === '') throw new Error('the server named no configurationNamingContext');
    const { searchEntries } = await client.search(`CN=Partitions,${configuration}`, {
      scope: 'one',
      filter: new EqualityFilter({ attribute: 'nCName', value: baseDn }),
      attributes: ['nETBIOSName'],
    });
    const name = String(first(searchEntries[0]?.nETBIOSName) ?? '');
    if (name === '') throw new Error('no crossRef names the domain');
    return name;
  }

  function drop(stale: Promise<Session>): void {
    if (session !== stale) return;
    session = undefined;
    stale.then((s) => s.client.unbind()).catch(() => undefined);
  }

  return {
    async run(operation, signal) {
      // A kept connection the server closed while idle fails once: retry on a fresh one.
      for (let attempt = 0; ; attempt++) {
        const reused = session !== undefined;
        const current = (session ??= open());
        const onAbort = () => drop(current);
        signal?.addEventListener('abort', onAbort, { once: true });
        let opened = false;
        try {
          const established = await current;
          opened = true;
          return await operation(established);
        } catch (error) {
          // The server answered this request with an error: the connection is fine.
          if (opened && (error instanceof ResultCodeError || isHttpAuthError(error))) throw error;
          drop(current);
          // Retry once when the connection broke after it was up (closed while idle, or under
          // pending requests), or when this operation joined another's connection attempt.
          if (!(opened || reused) || attempt > 0 || signal?.aborted === true) throw error;
        } finally {
          signal?.removeEventListener('abort', onAbort);
        }
      }
    },
    async close() {
      const current = session;
      session = undefined;
      if (current !== undefined)
        await current.then((s) => s.client.unbind()).catch(() => undefined);
    },
  };
}
