/**
 * The peer's chain as `tls.TLSSocket#getPeerCertificate(true)` describes it: each certificate's
 * DER in `.raw`, its issuer in `.issuerCertificate`, and a self-signed root pointing at itself.
 * Node's glue turns that into the DER list, leaf first, that `authenticateConnection` takes.
 */

/** The shape of node:tls's DetailedPeerCertificate this needs (kept structural: no node:tls). */
export interface PeerCertificateLike {
  readonly raw?: Buffer;
  readonly issuerCertificate?: PeerCertificateLike;
}

/** Longest chain walked; a longer one is cut (and then fails path validation). */
const MAX_WALK = 16;

/** DER certificates, leaf first; empty when the client sent no certificate (`{}` from Node). */
export function peerChain(peer: PeerCertificateLike | null | undefined): Buffer[] {
  const chain: Buffer[] = [];
  const seen = new Set<PeerCertificateLike>();
  let current = peer ?? undefined;
  while (current !== undefined && !seen.has(current) && chain.length < MAX_WALK) {
    if (!Buffer.isBuffer(current.raw)) break;
    seen.add(current);
    chain.push(current.raw);
    current = current.issuerCertificate;
  }
  return chain;
}
