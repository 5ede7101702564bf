/**
 * One `send(request)` for a realm: its KDCs from the `kdcs` option, else krb5.conf's `kdc`
 * entries, else DNS SRV (kdc-discovery.ts), looked up again once a minute; each request tries
 * them in order over UDP then TCP (kdc-transport.ts). Used by constrained delegation
 * (impersonation/) for the service's TGT, S4U2Self and S4U2Proxy.
 */
import { fail, HttpAuthError } from '../../errors.js';
import { discoverKdcs, type SrvResolver } from './kdc-discovery.js';
import { sendToKdcs, type KdcAddress } from './kdc-transport.js';
import { parseKdcAddress, readKrb5Conf, type Krb5Conf } from './krb5-conf.js';

export interface KdcSenderOptions {
  readonly realm: string;
  /** KDCs as 'host', 'host:port', 'tcp/host:port'. Default: krb5.conf, then DNS SRV. */
  readonly kdcs?: readonly string[] | undefined;
  /** krb5.conf path. Default: KRB5_CONFIG, else /etc/krb5.conf (a missing default is no error). */
  readonly krb5Conf?: string | undefined;
  readonly dnsLookupKdc?: boolean | undefined;
  /** Per KDC and transport attempt, in ms. Default 3000. */
  readonly timeoutMs?: number | undefined;
  readonly resolveSrv?: SrvResolver | undefined;
}

const DISCOVERY_TTL_MS = 60_000;
/** MIT's default udp_preference_limit. */
const UDP_PREFERENCE_LIMIT = 1465;

function readConf(path: string, explicit: boolean): Krb5Conf | undefined {
  try {
    return readKrb5Conf(path);
  } catch (error) {
    if (explicit) throw error;
    return undefined;
  }
}

/** Checks the options (ERR_HTTPAUTH_INVALID_OPTIONS) and returns the sender. */
export function kdcSender(options: KdcSenderOptions): (request: Buffer) => Promise<Buffer> {
  const { realm } = options;
  if (typeof realm !== 'string' || realm === '' || /[\s@/\\]/.test(realm)) {
    fail('ERR_HTTPAUTH_INVALID_OPTIONS');
  }
  const timeoutMs = options.timeoutMs ?? 3000;
  if (!Number.isInteger(timeoutMs) || timeoutMs < 1 || timeoutMs > 60_000) {
    fail('ERR_HTTPAUTH_INVALID_OPTIONS');
  }
  let kdcs: KdcAddress[] | undefined;
  if (options.kdcs !== undefined) {
    if (!Array.isArray(options.kdcs)) fail('ERR_HTTPAUTH_INVALID_OPTIONS');
    kdcs = options.kdcs.map((text) => {
      const address = typeof text === 'string' ? parseKdcAddress(text) : undefined;
      if (address === undefined) fail('ERR_HTTPAUTH_INVALID_OPTIONS');
      return address;
    });
  }
  const confPath = options.krb5Conf ?? process.env.KRB5_CONFIG ?? '/etc/krb5.conf';
  const explicitConf = options.krb5Conf !== undefined;
  if (explicitConf) readConf(confPath, true);

  let cached: { readonly at: number; readonly kdcs: KdcAddress[] } | undefined;
  async function currentKdcs(now: number): Promise<KdcAddress[]> {
    if (cached !== undefined && Math.abs(now - cached.at) < DISCOVERY_TTL_MS) return cached.kdcs;
    const found = await discoverKdcs(realm, {
      kdcs,
      krb5Conf: kdcs === undefined ? readConf(confPath, explicitConf) : undefined,
      dnsLookupKdc: options.dnsLookupKdc,
      resolveSrv: options.resolveSrv,
    });
    if (found.length > 0) cached = { at: now, kdcs: found };
    return found;
  }

  return async (request) => {
    const found = await currentKdcs(Date.now());
    if (found.length === 0) {
      throw new HttpAuthError('ERR_HTTPAUTH_KDC_UNAVAILABLE', {
        reason: `no KDC known for ${realm} (kdcs option, krb5.conf, DNS SRV)`,
      });
    }
    return sendToKdcs(found, request, { timeoutMs, udpPreferenceLimit: UDP_PREFERENCE_LIMIT });
  };
}
