/**
 * Where a realm's KDCs are: the `kdcs` option, else the realm's `kdc` entries in krb5.conf, else
 * (when krb5.conf allows DNS, as MIT does by default) the DNS SRV records `_kerberos._udp.REALM`
 * and `_kerberos._tcp.REALM` (RFC 4120 §7.2.3.2), ordered by priority then weight.
 */
import { resolveSrv as dnsResolveSrv } from 'node:dns/promises';

import { configuredKdcs, dnsLookupKdc, type Krb5Conf } from './krb5-conf.js';
import type { KdcAddress } from './kdc-transport.js';

/**
 * One DNS SRV record (RFC 2782), as `_kerberos._udp.REALM` / `_kerberos._tcp.REALM` lookups return
 * them when the KDCs of a realm are found through DNS.
 */
export interface SrvRecord {
  readonly name: string;
  readonly port: number;
  readonly priority: number;
  readonly weight: number;
}

/**
 * Looks up the SRV records of a name; `node:dns`'s `resolveSrv` by default. The options that take
 * one (KDC discovery, the doctor's KDC check) accept another for tests or a custom resolver.
 */
export type SrvResolver = (name: string) => Promise<readonly SrvRecord[]>;

export interface KdcDiscoveryOptions {
  readonly kdcs?: readonly KdcAddress[] | undefined;
  readonly krb5Conf?: Krb5Conf | undefined;
  /** Overrides krb5.conf's dns_lookup_kdc. */
  readonly dnsLookupKdc?: boolean | undefined;
  /** Injectable for tests; node:dns by default. */
  readonly resolveSrv?: SrvResolver | undefined;
}

async function srvKdcs(
  realm: string,
  transport: 'udp' | 'tcp',
  resolve: SrvResolver,
): Promise<KdcAddress[]> {
  let records: readonly SrvRecord[];
  try {
    records = await resolve(`_kerberos._${transport}.${realm}`);
  } catch {
    return []; // NXDOMAIN, no records, no resolver: this transport has no KDCs to offer
  }
  return (
    [...records]
      // RFC 2782: a target of "." means the service is decidedly not available.
      .filter((r) => r.name !== '' && r.name !== '.')
      .sort((a, b) => a.priority - b.priority || b.weight - a.weight)
      .map((r) => ({ host: r.name, port: r.port, transport }))
  );
}

export async function discoverKdcs(
  realm: string,
  options: KdcDiscoveryOptions,
): Promise<KdcAddress[]> {
  if (options.kdcs !== undefined && options.kdcs.length > 0) return [...options.kdcs];
  if (options.krb5Conf !== undefined) {
    const fromConf = configuredKdcs(options.krb5Conf, realm);
    if (fromConf.length > 0) return fromConf;
  }
  const useDns =
    options.dnsLookupKdc ??
    (options.krb5Conf === undefined ? true : dnsLookupKdc(options.krb5Conf, true));
  if (!useDns) return [];
  const resolve = options.resolveSrv ?? dnsResolveSrv;
  const [udp, tcp] = await Promise.all([
    srvKdcs(realm, 'udp', resolve),
    srvKdcs(realm, 'tcp', resolve),
  ]);
  // Each host once: a KDC listed for both transports is one 'any' entry at its UDP position.
  const seen = new Map<string, KdcAddress>();
  for (const kdc of [...udp, ...tcp]) {
    const key = `${kdc.host}:${kdc.port}`;
    const previous = seen.get(key);
    if (previous === undefined) seen.set(key, kdc);
    else if (previous.transport !== kdc.transport) seen.set(key, { ...previous, transport: 'any' });
  }
  return [...seen.values()];
}
