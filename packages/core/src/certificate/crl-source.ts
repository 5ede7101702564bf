/**
 * CRL files on disk, re-read when they change (the same stat-signature scheme as the Digest and
 * htpasswd files: mtime, ctime, size and inode, checked at most once per interval). A file that
 * fails to read or parse on reload leaves its previous CRLs in force until their nextUpdate: the
 * CA may be halfway through publishing. Each reload bumps `generation`, which invalidates the
 * package's per-certificate cache so a new revocation takes effect at once.
 */
import type { X509Certificate } from 'node:crypto';
import { readFileSync, statSync } from 'node:fs';
import { HttpAuthError } from '../errors.js';
import { crlSignedBy, parseCrl, type CertificateList } from './crl.js';
import type { ParsedCertificate } from './x509.js';

const PEM_CRL = /-----BEGIN X509 CRL-----([A-Za-z0-9+/=\s]+?)-----END X509 CRL-----/g;

/** Decode a CRL file: one DER CRL, or one or more PEM `X509 CRL` blocks. */
export function decodeCrlFile(bytes: Buffer): CertificateList[] {
  const text = bytes.toString('latin1');
  if (!text.includes('-----BEGIN')) return [parseCrl(bytes)];
  const lists = [...text.matchAll(PEM_CRL)].map((m) => parseCrl(Buffer.from(m[1] ?? '', 'base64')));
  if (lists.length === 0) throw new HttpAuthError('ERR_HTTPAUTH_ASN1_MALFORMED');
  return lists;
}

export type RevocationStatus =
  | { readonly status: 'good'; readonly nextUpdate: number }
  | { readonly status: 'revoked' }
  | {
      readonly status: 'unavailable';
      /** No data, only data past nextUpdate, or (OCSP) no usable answer from the responder. */
      readonly reason: 'missing' | 'stale' | 'unreachable';
    };

interface WatchedCrl {
  readonly path: string;
  signature: string;
  lists: CertificateList[];
}

export interface CrlSourceOptions {
  readonly checkIntervalMs?: number;
  /**
   * The wall clock that paces file checks (default Date.now). Freshness is judged at the time
   * each request passes; the pacing must not depend on it (a test clock, a clock set back).
   */
  readonly clock?: () => number;
  /** Tolerated clock difference with the CA for thisUpdate (default 5 minutes). */
  readonly clockSkewMs?: number;
}

function statSignature(path: string): string | undefined {
  try {
    const st = statSync(path);
    return `${st.mtimeMs}:${st.ctimeMs}:${st.size}:${st.ino}`;
  } catch {
    return undefined;
  }
}

export class CrlSource {
  readonly #files: WatchedCrl[];
  readonly #interval: number;
  readonly #skew: number;
  readonly #clock: () => number;
  /** Signature checks are costly: remember them per CRL object and issuer key. */
  readonly #verified = new WeakMap<CertificateList, Map<string, boolean>>();
  #lastCheck: number;
  #generation = 0;

  /** Throws ERR_HTTPAUTH_INVALID_OPTIONS when a file cannot be read or parsed at start-up. */
  constructor(paths: readonly string[], options: CrlSourceOptions = {}) {
    this.#interval = options.checkIntervalMs ?? 1000;
    this.#clock = options.clock ?? Date.now;
    this.#skew = options.clockSkewMs ?? 5 * 60_000;
    this.#files = paths.map((path) => {
      const signature = statSignature(path);
      if (typeof path !== 'string' || signature === undefined) {
        throw new HttpAuthError('ERR_HTTPAUTH_INVALID_OPTIONS', { reason: 'CRL file unreadable' });
      }
      try {
        return { path, signature, lists: decodeCrlFile(readFileSync(path)) };
      } catch (cause) {
        throw new HttpAuthError('ERR_HTTPAUTH_INVALID_OPTIONS', { cause, reason: 'CRL invalid' });
      }
    });
    this.#lastCheck = this.#clock();
  }

  /** Bumped whenever a file was re-read: results computed under an older generation are void. */
  generation(): number {
    this.#refresh();
    return this.#generation;
  }

  #refresh(): void {
    const now = this.#clock();
    const elapsed = now - this.#lastCheck;
    if (elapsed >= 0 && elapsed < this.#interval) return; // a clock set back checks at once
    this.#lastCheck = now;
    for (const file of this.#files) {
      const signature = statSignature(file.path);
      if (signature === undefined || signature === file.signature) continue;
      try {
        file.lists = decodeCrlFile(readFileSync(file.path));
        file.signature = signature;
        this.#generation++;
      } catch {
        // Keep the previous lists: they stay in force until their own nextUpdate.
      }
    }
  }

  #signedBy(list: CertificateList, issuer: X509Certificate): boolean {
    let byKey = this.#verified.get(list);
    if (byKey === undefined) this.#verified.set(list, (byKey = new Map()));
    const known = byKey.get(issuer.fingerprint256);
    if (known !== undefined) return known;
    const ok = crlSignedBy(list, issuer.publicKey);
    byKey.set(issuer.fingerprint256, ok);
    return ok;
  }

  /**
   * The revocation status of `certificate` by the freshest CRL its `issuer` signed (RFC 5280
   * §6.3.3: the CRL issuer is the certificate issuer, the signature verifies under the issuer's
   * key, and the current time falls between thisUpdate and nextUpdate).
   */
  status(certificate: ParsedCertificate, issuer: X509Certificate, now: number): RevocationStatus {
    this.#refresh();
    let freshest: CertificateList | undefined;
    let sawStale = false;
    for (const file of this.#files) {
      for (const list of file.lists) {
        if (!list.issuerDer.equals(certificate.issuerDer)) continue;
        if (!this.#signedBy(list, issuer)) continue;
        const fresh =
          list.thisUpdate <= now + this.#skew &&
          list.nextUpdate !== undefined &&
          now < list.nextUpdate;
        if (!fresh) {
          sawStale = true;
          continue;
        }
        if (freshest === undefined || list.thisUpdate > freshest.thisUpdate) freshest = list;
      }
    }
    if (freshest === undefined) {
      return { status: 'unavailable', reason: sawStale ? 'stale' : 'missing' };
    }
    if (freshest.revokedSerials.has(certificate.serialHex)) return { status: 'revoked' };
    return { status: 'good', nextUpdate: freshest.nextUpdate as number };
  }
}
