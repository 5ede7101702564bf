/**
 * A mapping rule's `issuers` (required by the directory rule, optional for sid and upn): the CAs
 * allowed to issue logon certificates, like Active
 * Directory's NTAuth store (CN=NTAuthCertificates,CN=Public Key Services,CN=Services in the
 * configuration partition). Windows honours a certificate-to-account mapping for smart-card and
 * Schannel logon only when the CA that issued the certificate is in that store, whatever the
 * trust anchors: without it, any CA the server trusts (a partner's, a VPN's) could issue a
 * certificate naming an AD account's altSecurityIdentities value or UPN. The rule is checked
 * against the leaf's direct issuer, by the SHA-256 of its certificate.
 */
import { HttpAuthError } from '../errors.js';
import { loadPemCertificates, type PathCertificate } from './chain.js';

/** The part of a directory rule this module reads. */
interface IssuerOptions {
  readonly issuers?: readonly (string | Buffer)[];
  readonly anyIssuer?: boolean;
  readonly cacheTtlMs?: number;
}

/** process.emitWarning code for a directory rule with `anyIssuer: true`. */
export const ANY_ISSUER_WARNING = 'HTTPAUTH_CERT_ANY_ISSUER';

/** The allowed issuers of each checked rule (bare upper-case SHA-256 hex); `any` for anyIssuer. */
const compiled = new WeakMap<object, ReadonlySet<string> | 'any'>();

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
  if (!Array.isArray(rule.issuers) || rule.issuers.length === 0) {
    invalid('issuers: the CAs allowed for logon (like NTAuth), at least one');
  }
  compiled.set(rule, new Set(rule.issuers.flatMap(thumbprintsOf)));
}

/** Whether the rule may map a certificate this CA issued. */
export function issuerAllowed(rule: IssuerOptions, issuingCa: PathCertificate): boolean {
  const allowed = compiled.get(rule);
  if (allowed === 'any') return true;
  if (allowed === undefined) return false; // never checked: nothing is allowed
  return allowed.has(issuingCa.x509.fingerprint256.replace(/:/g, '').toUpperCase());
}
