/**
 * A mapping rule's `issuers` (required by the directory rule, optional for sid and upn): the CAs
 * allowed to issue logon certificates, like Active
 * Directory's NTAuth store (CN=NTAuthCertificates,CN=Public Key Services,CN=Services in the
 * configuration partition). Windows honours a certificate-to-account mapping for smart-card and
 * Schannel logon only when the CA that issued the certificate is in that store, whatever the
 * trust anchors: without it, any CA the server trusts (a partner's, a VPN's) could issue a
 * certificate naming an AD account's altSecurityIdentities value or UPN. The rule is checked
 * against the leaf's direct issuer, by the SHA-256 of its certificate.
 *
 * `issuers: 'ntauth'` (directory rule only) reads that store from the directory itself, through
 * the lookup's `ntAuthCertificates()`: the `cACertificate` values of the NTAuthCertificates object,
 * as Windows members copy them into their local NTAuth store. The list is read again once the
 * rule's `cacheTtlMs` has passed (Windows refreshes its copy by Group Policy, hours apart), and a
 * directory that cannot answer refuses the logon (503) rather than allowing any CA.
 */
import { createHash } from 'node:crypto';
import { HttpAuthError } from '../errors.js';
import { loadPemCertificates, type PathCertificate } from './chain.js';

/** The part of a directory rule this module reads. */
interface IssuerOptions {
  readonly type: string;
  readonly issuers?: readonly (string | Buffer)[] | 'ntauth';
  readonly anyIssuer?: boolean;
  readonly cacheTtlMs?: number;
  readonly lookup?: { ntAuthCertificates?(): Promise<readonly Buffer[]> };
}

/** The directory's NTAuth store as last read, and the read under way. */
class DirectoryNtAuth {
  private allowed: ReadonlySet<string> = new Set();
  private readAt = -Infinity;
  private reading: Promise<ReadonlySet<string>> | undefined;

  constructor(
    private readonly read: () => Promise<readonly Buffer[]>,
    private readonly ttlMs: number,
  ) {}

  /** The store's thumbprints, read again when older than the TTL (one read for many callers). */
  async current(now: number): Promise<ReadonlySet<string>> {
    if (now - this.readAt < this.ttlMs) return this.allowed;
    this.reading ??= this.refresh(now).finally(() => (this.reading = undefined));
    return this.reading;
  }

  private async refresh(now: number): Promise<ReadonlySet<string>> {
    const certificates = await this.read();
    if (!Array.isArray(certificates)) throw new TypeError('ntAuthCertificates must answer a list');
    const thumbprints = new Set<string>();
    for (const der of certificates) {
      // A value that is not a certificate names no CA; the others still count.
      if (!Buffer.isBuffer(der)) continue;
      thumbprints.add(createHash('sha256').update(der).digest('hex').toUpperCase());
    }
    this.allowed = thumbprints;
    this.readAt = now;
    return thumbprints;
  }
}

/** process.emitWarning code for a directory rule with `anyIssuer: true`. */
export const ANY_ISSUER_WARNING = 'HTTPAUTH_CERT_ANY_ISSUER';

/**
 * The allowed issuers of each checked rule (bare upper-case SHA-256 hex); `any` for anyIssuer; the
 * directory's store for `issuers: 'ntauth'`.
 */
const compiled = new WeakMap<object, ReadonlySet<string> | 'any' | DirectoryNtAuth>();

/** How long the directory's NTAuth list is kept without cacheTtlMs (the rule's answer default). */
const DEFAULT_NTAUTH_TTL_MS = 60_000;

function invalid(reason: string): never {
  throw new HttpAuthError('ERR_HTTPAUTH_INVALID_OPTIONS', { reason });
}

function thumbprint(value: string): string | undefined {
  const hex = value.trim().replace(/:/g, '').toUpperCase();
  return /^[0-9A-F]{64}$/.test(hex) ? hex : undefined;
}

/** The SHA-256 thumbprints an `issuers` entry names: a thumbprint, or every certificate of a PEM. */
function thumbprintsOf(entry: unknown): string[] {
  if (typeof entry === 'string' && !entry.includes('-----BEGIN')) {
    return [thumbprint(entry) ?? invalid('issuers: a PEM CA certificate or a SHA-256 thumbprint')];
  }
  const certificates = loadPemCertificates([entry]);
  if (certificates.length === 0) invalid('issuers: no certificate in the PEM text');
  return certificates.map((c) => c.x509.fingerprint256.replace(/:/g, '').toUpperCase());
}

/**
 * Checks a rule's issuer options (and the directory rule's cacheTtlMs) at start-up and remembers
 * its issuers. `required`: the directory rule needs `issuers` or `anyIssuer`; the sid and upn
 * rules may have `issuers`.
 */
export function compileIssuers(rule: IssuerOptions, required: boolean): void {
  const ttl = rule.cacheTtlMs;
  if (ttl !== undefined && !(typeof ttl === 'number' && Number.isFinite(ttl) && ttl >= 0)) {
    invalid('cacheTtlMs');
  }
  if (rule.anyIssuer !== undefined && typeof rule.anyIssuer !== 'boolean') invalid('anyIssuer');
  if (!required && rule.issuers === undefined) return;
  if (rule.anyIssuer === true) {
    if (rule.issuers !== undefined) invalid('directory rule: issuers or anyIssuer, not both');
    compiled.set(rule, 'any');
    process.emitWarning(
      'A directory certificate mapping rule has anyIssuer: true: a certificate from any CA under ' +
        'the trust anchors can log on as the Active Directory account it names. List the CAs ' +
        'allowed for logon (AD NTAuth) in issuers instead. See docs/certificates.md.',
      { code: ANY_ISSUER_WARNING },
    );
    return;
  }
  if (rule.issuers === 'ntauth') {
    const read = rule.lookup?.ntAuthCertificates;
    if (rule.type !== 'directory' || typeof read !== 'function') {
      invalid("issuers: 'ntauth' needs a directory rule whose lookup has ntAuthCertificates()");
    }
    const lookup = rule.lookup;
    compiled.set(rule, new DirectoryNtAuth(() => read.call(lookup), ttl ?? DEFAULT_NTAUTH_TTL_MS));
    return;
  }
  if (!Array.isArray(rule.issuers) || rule.issuers.length === 0) {
    invalid('issuers: the CAs allowed for logon (like NTAuth), at least one');
  }
  compiled.set(rule, new Set(rule.issuers.flatMap(thumbprintsOf)));
}

/**
 * Whether the rule may map a certificate this CA issued. A promise only for `issuers: 'ntauth'`,
 * which rejects when the directory cannot answer.
 */
export function issuerAllowed(
  rule: IssuerOptions,
  issuingCa: PathCertificate,
  now: number,
): boolean | Promise<boolean> {
  const allowed = compiled.get(rule);
  if (allowed === 'any') return true;
  if (allowed === undefined) return false; // never checked: nothing is allowed
  const thumbprint = issuingCa.x509.fingerprint256.replace(/:/g, '').toUpperCase();
  if (allowed instanceof DirectoryNtAuth) {
    return allowed.current(now).then((store) => store.has(thumbprint));
  }
  return allowed.has(thumbprint);
}
