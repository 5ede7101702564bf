/**
 * The one way this package reaches a realm's KDCs: `kdcSender(options)` checks the options once
 * and returns `sendTo(realm, request)`. The KDCs of `options.realm` come from the `kdcs` option,
 * else krb5.conf's `kdc` entries, else DNS SRV (kdc-discovery.ts); any other realm's (a trusted
 * realm, one on a referral path, a forwarded TGT's) from krb5.conf or DNS. Lists are looked up
 * again once a minute. Each request tries them over UDP then TCP (kdc-transport.ts), each attempt
 * bounded by `timeoutMs` (default 3 s), so a black-holed KDC costs one timeout, never a hang.
 *
 * One sender serves every request of its owner (Basic over Kerberos, constrained delegation, the
 * forwarded-TGT contexts of one impersonation policy): the discovery cache and the failover state
 * are shared. After a KDC failed to answer, the one that did is asked first for a minute
 * (RFC 4120 §7.2.3.1 leaves the order to the client), so later requests do not each wait out the
 * dead KDC's timeout.
 */
import { fail, HttpAuthError } from '../../errors.js';
import { discoverKdcs, type SrvResolver } from './kdc-discovery.js';
import { sendToKdcs, type KdcAddress } from './kdc-transport.js';
import { parseKdcAddress, readKrb5Conf, type Krb5Conf } from './krb5-conf.js';

export interface KdcSenderOptions {
  /** The realm the `kdcs` option is for (required with `kdcs`). */
  readonly realm?: string | undefined;
  /** KDCs as 'host', 'host:port', 'tcp/host:port'. Default: krb5.conf, then DNS SRV. */
  readonly kdcs?: readonly string[] | undefined;
  /** krb5.conf path. Default: KRB5_CONFIG, else /etc/krb5.conf (a missing default is no error). */
  readonly krb5Conf?: string | undefined;
  readonly dnsLookupKdc?: boolean | undefined;
  /** Per KDC and transport attempt, in ms (1 to 60000). Default 3000. */
  readonly timeoutMs?: number | undefined;
  readonly resolveSrv?: SrvResolver | undefined;
}

/** Sends one request to `realm`'s KDCs and returns the reply bytes. */
export type KdcSendTo = (realm: string, request: Buffer) => Promise<Buffer>;

/** The default per-attempt KDC timeout, in ms. */
export const DEFAULT_KDC_TIMEOUT_MS = 3000;
const DISCOVERY_TTL_MS = 60_000;
/** How long a KDC that answered stays first after another failed to. */
const PREFERENCE_TTL_MS = 60_000;
/** MIT's default udp_preference_limit. */
const UDP_PREFERENCE_LIMIT = 1465;

/** A realm name as configured: no spaces, '@', '/' or '\'. */
export function isRealmName(value: unknown): value is string {
  return (
    typeof value === 'string' && value !== '' && value.length <= 256 && !/[\s@/\\]/.test(value)
  );
}

/** The `timeoutMs` option, checked (ERR_HTTPAUTH_INVALID_OPTIONS). */
export function kdcTimeout(value: number | undefined): number {
  const timeoutMs = value ?? DEFAULT_KDC_TIMEOUT_MS;
  if (!Number.isInteger(timeoutMs) || timeoutMs < 1 || timeoutMs > 60_000) {
    fail('ERR_HTTPAUTH_INVALID_OPTIONS');
  }
  return timeoutMs;
}

function readConf(path: string, explicit: boolean): Krb5Conf | undefined {
  try {
    return readKrb5Conf(path);
  } catch (error) {
    // An explicitly named file must exist; the default may be absent on a machine without krb5.
    if (explicit) throw error;
    return undefined;
  }
}

const key = (kdc: KdcAddress): string => `${kdc.transport}/${kdc.host}:${kdc.port}`;

/** Checks the options (ERR_HTTPAUTH_INVALID_OPTIONS) and returns the sender. */
export function kdcSender(options: KdcSenderOptions): KdcSendTo {
  const { realm } = options;
  if ((realm !== undefined || options.kdcs !== undefined) && !isRealmName(realm)) {
    fail('ERR_HTTPAUTH_INVALID_OPTIONS');
  }
  const timeoutMs = kdcTimeout(options.timeoutMs);
  let kdcs: KdcAddress[] | undefined;
  if (options.kdcs !== undefined) {
    if (!Array.isArray(options.kdcs)) fail('ERR_HTTPAUTH_INVALID_OPTIONS');
    kdcs = options.kdcs.map((text) => {
      const address = typeof text === 'string' ? parseKdcAddress(text) : undefined;
      if (address === undefined) fail('ERR_HTTPAUTH_INVALID_OPTIONS');
      return address;
    });
  }
  // KRB5_CONFIG is read at each lookup, as MIT's library does for each context.
  const confPath = (): string => options.krb5Conf ?? process.env.KRB5_CONFIG ?? '/etc/krb5.conf';
  const explicitConf = options.krb5Conf !== undefined;
  // Fail at start-up on an unreadable named file, not on the first request.
  if (explicitConf) readConf(confPath(), true);

  const discovered = new Map<string, { readonly at: number; readonly kdcs: KdcAddress[] }>();
  const preferred = new Map<string, { readonly at: number; readonly kdc: string }>();

  async function currentKdcs(forRealm: string, now: number): Promise<KdcAddress[]> {
    const hit = discovered.get(forRealm);
    if (hit !== undefined && Math.abs(now - hit.at) < DISCOVERY_TTL_MS) return hit.kdcs;
    const listed = forRealm === realm ? kdcs : undefined;
    const found = await discoverKdcs(forRealm, {
      kdcs: listed,
      krb5Conf: listed === undefined ? readConf(confPath(), explicitConf) : undefined,
      dnsLookupKdc: options.dnsLookupKdc,
      resolveSrv: options.resolveSrv,
    });
    // An empty answer is not cached: the next request looks again.
    if (found.length > 0) discovered.set(forRealm, { at: now, kdcs: found });
    return found;
  }

  /** The realm's KDCs, the one that answered last after a failover first. */
  function ordered(forRealm: string, found: KdcAddress[], now: number): KdcAddress[] {
    const first = preferred.get(forRealm);
    if (first === undefined || Math.abs(now - first.at) >= PREFERENCE_TTL_MS) return found;
    const index = found.findIndex((kdc) => key(kdc) === first.kdc);
    if (index <= 0) return found;
    return [found[index] as KdcAddress, ...found.slice(0, index), ...found.slice(index + 1)];
  }

  return async (forRealm, request) => {
    const now = Date.now();
    const found = await currentKdcs(forRealm, now);
    if (found.length === 0) {
      throw new HttpAuthError('ERR_HTTPAUTH_KDC_UNAVAILABLE', {
        reason: `no KDC known for ${forRealm} (kdcs option, krb5.conf, DNS SRV)`,
      });
    }
    const list = ordered(forRealm, found, now);
    return sendToKdcs(list, request, {
      timeoutMs,
      udpPreferenceLimit: UDP_PREFERENCE_LIMIT,
      onAnswer: (kdc, failedBefore) => {
        if (failedBefore) preferred.set(forRealm, { at: Date.now(), kdc: key(kdc) });
      },
    });
  };
}
