/**
 * Which front proxies are believed, and what the gateway then takes as the client.
 *
 * A forwarding header is a claim: anyone can send `X-Forwarded-For: 10.0.0.1`. It is believed
 * only when the TCP peer is a proxy the operator listed (`trustedProxies`, addresses and CIDRs),
 * and then the hops are read from the right: each proxy appends the peer it saw, so the entries
 * right of the first untrusted hop were written by trusted proxies and that hop is the client;
 * everything further left came from the client and is never used. RFC 7239 `Forwarded` (§4,
 * `for`/`proto`/`host` per element) is read in preference to the X-Forwarded-* set when sent.
 *
 * `trustProxy: true` (the older setting) trusts the TCP peer whatever its address, and only it:
 * the client is the last hop it reports.
 */
import { BlockList, isIP } from 'node:net';
import type { IncomingMessage } from 'node:http';
import type { TLSSocket } from 'node:tls';

/** The client as the gateway takes it. */
export interface ClientView {
  readonly address: string;
  readonly proto: 'http' | 'https';
  readonly host: string | undefined;
  /** X-Forwarded-For to send upstream: the client, the trusted hops after it, the peer. */
  readonly chain: readonly string[];
  /** True when a trusted proxy forwarded the request (one connection carries many clients). */
  readonly viaProxy: boolean;
}

interface Hop {
  readonly address: string | undefined;
  readonly proto?: string;
  readonly host?: string;
}

/** More hops than any real chain of front proxies: the rest (client-written) is not read. */
const MAX_HOPS = 32;
/** A Host value: RFC 3986 reg-name, IPv4 or [IPv6], with an optional port. */
const HOST = /^(?:[A-Za-z0-9.-]{1,253}|\[[0-9A-Fa-f:.]{2,45}\])(?::\d{1,5})?$/;

/** `192.0.2.1`, `192.0.2.1:80`, `[2001:db8::1]:80`, `"..."` -> the bare address, or undefined. */
export function hopAddress(text: string): string | undefined {
  let value = text.trim();
  if (value.startsWith('"') && value.endsWith('"') && value.length >= 2) value = value.slice(1, -1);
  const bracketed = /^\[([^\]]+)\](?::\d{1,5})?$/.exec(value);
  if (bracketed !== null) value = bracketed[1] as string;
  else if (/^[0-9.]+:\d{1,5}$/.test(value)) value = value.slice(0, value.indexOf(':'));
  if (value.toLowerCase().startsWith('::ffff:') && isIP(value.slice(7)) === 4)
    value = value.slice(7);
  return isIP(value) === 0 ? undefined : value;
}

/** One list header, all copies joined, split on commas, the last MAX_HOPS members. */
function listMembers(value: string | string[] | undefined): string[] {
  if (value === undefined) return [];
  const text = Array.isArray(value) ? value.join(',') : value;
  return text
    .split(',')
    .map((m) => m.trim())
    .filter((m) => m !== '')
    .slice(-MAX_HOPS);
}

/**
 * RFC 7239 §4 elements: `for=...;proto=...;host=...`, comma-separated, values tokens or
 * quoted-strings. Undefined when the header does not parse (then it says nothing).
 */
export function parseForwarded(value: string | string[] | undefined): Hop[] | undefined {
  if (value === undefined) return undefined;
  const text = Array.isArray(value) ? value.join(',') : value;
  const pair = /\s*([A-Za-z]+)=("(?:[^"\\]|\\.)*"|[!#$%&'*+\-.^_`|~0-9A-Za-z:[\]]+)\s*([;,]|$)/y;
  const hops: Hop[] = [];
  let current: Record<string, string> = {};
  let at = 0;
  while (at < text.length) {
    pair.lastIndex = at;
    const match = pair.exec(text);
    if (match === null) return undefined;
    const raw = match[2] as string;
    current[(match[1] as string).toLowerCase()] = raw.startsWith('"')
      ? raw.slice(1, -1).replace(/\\(.)/g, '$1')
      : raw;
    if (match[3] !== ';') {
      hops.push({
        address: current['for'] === undefined ? undefined : hopAddress(current['for']),
        ...(current['proto'] === undefined ? {} : { proto: current['proto'].toLowerCase() }),
        ...(current['host'] === undefined ? {} : { host: current['host'] }),
      });
      current = {};
    }
    at = pair.lastIndex;
    if (match[3] === '') break;
  }
  return hops.slice(-MAX_HOPS);
}

/** The hops X-Forwarded-For/-Proto/-Host describe, aligned from the right. */
function xForwardedHops(req: IncomingMessage): Hop[] {
  const addresses = listMembers(req.headers['x-forwarded-for']);
  const protos = listMembers(req.headers['x-forwarded-proto']);
  const hosts = listMembers(req.headers['x-forwarded-host']);
  return addresses.map((text, i) => {
    // Proxies that set (rather than append) -Proto and -Host send one value: the last hop's.
    const proto = protos.length === addresses.length ? protos[i] : protos.at(-1);
    const host = hosts.length === addresses.length ? hosts[i] : hosts.at(-1);
    return {
      address: hopAddress(text),
      ...(proto === undefined ? {} : { proto: proto.toLowerCase() }),
      ...(host === undefined ? {} : { host }),
    };
  });
}

export class ProxyTrust {
  /** One list per family: Node's BlockList would match IPv4 addresses against IPv6 subnets. */
  readonly #v4 = new BlockList();
  readonly #v6 = new BlockList();
  readonly #anyPeer: boolean;
  readonly #empty: boolean;
  readonly #views = new WeakMap<IncomingMessage, ClientView>();

  /** `anyPeer`: the older `trustProxy: true`; `proxies`: addresses and CIDRs (validated). */
  constructor(anyPeer: boolean, proxies: readonly string[] = []) {
    this.#anyPeer = anyPeer;
    this.#empty = proxies.length === 0;
    for (const entry of proxies) {
      const [address = '', bits] = entry.split('/');
      const family = isIP(address) === 6 ? 'ipv6' : 'ipv4';
      const list = family === 'ipv6' ? this.#v6 : this.#v4;
      if (bits === undefined) list.addAddress(address, family);
      else list.addSubnet(address, Number(bits), family);
    }
  }

  /** True when forwarding headers from this peer are believed. */
  trustsPeer(address: string | undefined): boolean {
    return this.#anyPeer || this.#listed(address);
  }

  #listed(address: string | undefined): boolean {
    // No list (the usual case): nothing to parse the address for.
    if (this.#empty || address === undefined) return false;
    const bare = hopAddress(address);
    if (bare === undefined) return false;
    return isIP(bare) === 6 ? this.#v6.check(bare, 'ipv6') : this.#v4.check(bare, 'ipv4');
  }

  /** The client of this request (worked out once per request: auth and forwarding both ask). */
  view(req: IncomingMessage): ClientView {
    let view = this.#views.get(req);
    if (view === undefined) {
      view = this.clientOf(req);
      this.#views.set(req, view);
    }
    return view;
  }

  /**
   * The client of this request, worked out anew (not remembered): for a caller that works it out
   * once and hands the same view to every step (the proxy path).
   */
  clientOf(req: IncomingMessage): ClientView {
    const peer = req.socket.remoteAddress ?? 'unknown';
    const socketProto = (req.socket as Partial<TLSSocket>).encrypted === true ? 'https' : 'http';
    const direct: ClientView = {
      address: peer,
      proto: socketProto,
      host: req.headers.host,
      chain: [peer],
      viaProxy: false,
    };
    if (!this.trustsPeer(peer)) return direct;
    const hops = parseForwarded(req.headers['forwarded']) ?? xForwardedHops(req);
    // From the right, skip the hops written about trusted proxies; the next one is the client.
    let client = hops.length - 1;
    while (client > 0 && !this.#anyPeer && this.#listed(hops[client]?.address)) client--;
    const hop = hops[client];
    if (hop?.address === undefined) {
      // No usable address: the peer stands for the client; a scheme may still have been set.
      const claimed =
        hops.at(-1)?.proto ?? listMembers(req.headers['x-forwarded-proto']).at(-1)?.toLowerCase();
      const proto = claimed === 'https' || claimed === 'http' ? claimed : socketProto;
      return { ...direct, proto, viaProxy: true };
    }
    const trustedAfter = hops.slice(client + 1).map((h) => h.address ?? 'unknown');
    return {
      address: hop.address,
      proto: hop.proto === 'https' || hop.proto === 'http' ? hop.proto : socketProto,
      host: hop.host !== undefined && HOST.test(hop.host) ? hop.host : req.headers.host,
      chain: [hop.address, ...trustedAfter, peer],
      viaProxy: true,
    };
  }
}
