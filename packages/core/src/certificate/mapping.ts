/**
 * Certificate-to-principal mapping, the way Windows maps a certificate to an account
 * (KB5014754): rules tried in the configured order, the first that names an account wins, and
 * the result says whether the binding is strong (the SID extension, an explicit issuer+serial or
 * SHA-256 thumbprint entry, as in altSecurityIdentities) or weak (a UPN, an e-mail address or a
 * subject pattern: names a certificate from any trusted issuer could carry). Weak rules are
 * refused at start-up unless `allowWeakMappings` acknowledges them.
 */
import { HttpAuthError, fail } from '../errors.js';
import type { CertificateMapping, Principal } from '../principal.js';
import { splitKerberosName } from '../principal.js';
import {
  OID_NTDS_CA_SECURITY_EXT,
  OID_SUBJECT_ALT_NAME,
  decodeSidExtension,
  decodeSubjectAltName,
  type AlternativeNames,
} from './extensions.js';
import type { PathCertificate } from './chain.js';
import {
  acceptedAccount,
  strongAltSecurityIdentities,
  type CertificateAccountLookup,
} from './directory-mapping.js';
import { compileIssuers, issuerAllowed } from './directory-issuers.js';

/** An explicit entry: a thumbprint, or an issuer (RFC 4514) with a serial number (hex). */
export interface ExplicitMapping {
  /** SHA-256 of the certificate's DER in hex, colons optional (`openssl x509 -fingerprint -sha256`). */
  readonly sha256?: string;
  /** Issuer as `openssl x509 -noout -issuer -nameopt RFC2253` prints it (after `issuer=`). */
  readonly issuer?: string;
  /** Serial number in hex as `openssl x509 -noout -serial` prints it (after `serial=`). */
  readonly serial?: string;
  /** The principal name to answer. */
  readonly name: string;
  /** The account's SID, when known. */
  readonly sid?: string;
}

/**
 * Names the account of the SID a certificate's SID extension (KB5014754) carries: the principal
 * name, or undefined to fall back to the certificate's UPN, then to the SID itself.
 */
export type CertificateSidResolver = (
  sid: string,
) => string | undefined | Promise<string | undefined>;

/**
 * One certificate-to-account mapping rule, tried in order until one names an account: strong rules
 * `sid` (the SID extension) and `explicit` (thumbprint or issuer and serial, as in
 * altSecurityIdentities), weak rules `upn`, `email` and `subject`, which need `allowWeakMappings`.
 */
export type MappingRule =
  | {
      readonly type: 'sid';
      readonly resolve?: CertificateSidResolver;
      /** Only certificates these CAs issued (PEM or SHA-256 thumbprints), as the directory rule's. */
      readonly issuers?: readonly (string | Buffer)[];
    }
  | { readonly type: 'explicit'; readonly entries: readonly ExplicitMapping[] }
  | {
      /** The account whose altSecurityIdentities names the certificate (directory-mapping.ts). */
      readonly type: 'directory';
      readonly lookup: CertificateAccountLookup;
      /** Also look the subjectAltName UPN up (weak: needs allowWeakMappings). */
      readonly byUpn?: boolean;
      /**
       * The CAs whose certificates may log on to an account, like AD's NTAuth store: PEM CA
       * certificates, or their SHA-256 thumbprints (hex, colons optional); or `'ntauth'` to read
       * the directory's own NTAuth store through `lookup.ntAuthCertificates()`, again after
       * `cacheTtlMs`. The rule applies only to a certificate one of them issued directly.
       * Required unless `anyIssuer`.
       */
      readonly issuers?: readonly (string | Buffer)[] | 'ntauth';
      /**
       * Unsafe: honour the mapping for a certificate from any CA under the trust anchors (`ca`).
       * Any such CA can then issue a certificate that logs on as an AD account. Warns at start-up.
       */
      readonly anyIssuer?: boolean;
      /**
       * How long the directory's answer (account, groups, state, or no account) is reused with
       * the certificate's cached result (default 60 s, at most the package's cache TTL): an
       * account disabled in AD is refused at the latest this long after.
       */
      readonly cacheTtlMs?: number;
    }
  | {
      readonly type: 'upn';
      /** Only certificates these CAs issued (PEM or SHA-256 thumbprints), as the directory rule's. */
      readonly issuers?: readonly (string | Buffer)[];
    }
  | { readonly type: 'email' }
  | {
      readonly type: 'subject';
      /** Tried against the subject in RFC 4514 form (`CN=alice,O=Example`): anchor it. */
      readonly pattern: RegExp;
      /** The name, with `$1`…`$9` replaced by the pattern's groups. */
      readonly name: string;
    };

const WEAK_RULES = new Set(['upn', 'email', 'subject']);

export interface MappingOptions {
  readonly rules: readonly MappingRule[];
  readonly allowWeakMappings: boolean;
  /** DNS domains (UPN / e-mail suffixes) that are this server's own: their user part is `user`. */
  readonly localDomains: readonly string[];
}

/** The Node form of a Name (one `TYPE=value` per line, certificate order) as RFC 4514 text. */
export function rfc4514(nodeName: string): string {
  return nodeName.split('\n').reverse().join(',');
}

/** A thumbprint in any common spelling (colons or not, either case) as bare upper-case hex. */
function thumbprintKey(value: string): string {
  return value.replace(/:/g, '').toUpperCase();
}

/** A serial number as `integerHex` spells it: upper-case, no colons, no leading zero octets. */
function serialKey(value: string): string {
  return thumbprintKey(value).replace(/^(00)+(?=..)/, '');
}

function invalid(reason: string): never {
  throw new HttpAuthError('ERR_HTTPAUTH_INVALID_OPTIONS', { reason });
}

/** Check the rules at start-up: ERR_HTTPAUTH_INVALID_OPTIONS with a reason for the operator. */
export function checkMappingOptions(options: MappingOptions): void {
  if (!Array.isArray(options.rules) || options.rules.length === 0) invalid('no mapping rule');
  for (const rule of options.rules) {
    if (WEAK_RULES.has(rule?.type) && !options.allowWeakMappings) {
      invalid(`the weak mapping '${rule.type}' needs allowWeakMappings: true`);
    }
    if (rule?.type === 'directory' && rule.byUpn === true && !options.allowWeakMappings) {
      invalid(`the weak mapping 'directory' with byUpn needs allowWeakMappings: true`);
    }
    switch (rule?.type) {
      case 'sid':
        if (rule.resolve !== undefined && typeof rule.resolve !== 'function') invalid('resolve');
        compileIssuers(rule, false);
        break;
      case 'explicit':
        for (const entry of rule.entries ?? invalid('entries')) {
          const byThumbprint =
            typeof entry.sha256 === 'string' && /^[0-9A-F]{64}$/.test(thumbprintKey(entry.sha256));
          const byIssuer =
            typeof entry.issuer === 'string' &&
            typeof entry.serial === 'string' &&
            /^([0-9A-F]{2})+$/.test(thumbprintKey(entry.serial));
          if (!byThumbprint && !byIssuer)
            invalid('explicit entry needs sha256, or issuer and serial');
          if (typeof entry.name !== 'string' || entry.name === '') invalid('explicit entry name');
        }
        break;
      case 'directory':
        if (typeof rule.lookup?.findAccounts !== 'function') invalid('directory lookup');
        if (rule.byUpn !== undefined && typeof rule.byUpn !== 'boolean') invalid('byUpn');
        compileIssuers(rule, true);
        break;
      case 'subject':
        if (!(rule.pattern instanceof RegExp) || typeof rule.name !== 'string') invalid('subject');
        break;
      case 'upn':
        compileIssuers(rule, false);
        break;
      case 'email':
        break;
      default:
        invalid('unknown mapping rule');
    }
  }
}

interface Candidate {
  readonly name: string;
  readonly strength: 'strong' | 'weak';
  readonly rule: string;
  readonly sid?: string;
  readonly upn?: string;
  readonly groupSids?: readonly string[];
}

interface CertificateFacts {
  /** The request's time (account expiry). */
  readonly now: number;
  readonly names: AlternativeNames;
  readonly sid: string | undefined;
  readonly fingerprint: string;
  readonly issuer: string;
  readonly subject: string;
  readonly serial: string;
  /** The leaf, for what only the directory rule computes (its altSecurityIdentities forms). */
  readonly leaf: PathCertificate;
  /** The CA certificate that issued the leaf (the directory rule's `issuers`). */
  readonly issuingCa: PathCertificate;
}

function facts(path: readonly PathCertificate[], now: number): CertificateFacts {
  const leaf = path[0] as PathCertificate;
  const san = leaf.parsed.extensions.get(OID_SUBJECT_ALT_NAME);
  const sid = leaf.parsed.extensions.get(OID_NTDS_CA_SECURITY_EXT);
  return {
    names: san === undefined ? { upns: [], emails: [] } : decodeSubjectAltName(san.value),
    sid: sid === undefined ? undefined : decodeSidExtension(sid.value),
    fingerprint: leaf.x509.fingerprint256,
    issuer: rfc4514(leaf.x509.issuer),
    subject: rfc4514(leaf.x509.subject),
    serial: leaf.parsed.serialHex,
    leaf,
    issuingCa: path[1] ?? leaf,
    now,
  };
}

/** One name only: a certificate with two UPNs (or two addresses) names no single account. */
function single(values: readonly string[]): string | undefined {
  return values.length === 1 ? values[0] : undefined;
}

/** A directory rule passed over: the certificate's CA is not among the rule's `issuers`. */
const ISSUER_NOT_ALLOWED = 'issuer-not-allowed';

async function tryRule(
  rule: MappingRule,
  f: CertificateFacts,
): Promise<Candidate | undefined | typeof ISSUER_NOT_ALLOWED> {
  const upn = single(f.names.upns);
  // Windows maps a certificate to an AD account only when its issuing CA is in NTAuth.
  const limited = rule.type === 'directory' || ('issuers' in rule && rule.issuers !== undefined);
  if (limited && !(await issuerAllowed(rule, f.issuingCa, f.now))) return ISSUER_NOT_ALLOWED;
  switch (rule.type) {
    case 'sid': {
      if (f.sid === undefined) return undefined;
      const resolved = rule.resolve === undefined ? undefined : await rule.resolve(f.sid);
      const name = resolved ?? upn ?? f.sid;
      return { name, strength: 'strong', rule: 'sid', sid: f.sid, ...(upn ? { upn } : {}) };
    }
    case 'explicit':
      for (const entry of rule.entries) {
        const sid = entry.sid === undefined ? {} : { sid: entry.sid };
        if (
          entry.sha256 !== undefined &&
          thumbprintKey(entry.sha256) === thumbprintKey(f.fingerprint)
        ) {
          return { name: entry.name, strength: 'strong', rule: 'thumbprint', ...sid };
        }
        if (
          entry.issuer === f.issuer &&
          entry.serial !== undefined &&
          serialKey(entry.serial) === f.serial
        ) {
          return { name: entry.name, strength: 'strong', rule: 'issuer-serial', ...sid };
        }
      }
      return undefined;
    case 'directory': {
      let forms: string[];
      try {
        forms = strongAltSecurityIdentities(f.leaf);
      } catch (cause) {
        // A malformed SKI fails this rule only, never the others (they do not read it).
        throw new HttpAuthError('ERR_HTTPAUTH_CERT_MALFORMED', { cause });
      }
      const found = await rule.lookup.findAccounts({
        altSecurityIdentities: forms,
        ...(rule.byUpn === true && upn !== undefined ? { upn } : {}),
      });
      const account = acceptedAccount(found, f.sid, f.now);
      if (account === undefined) return undefined;
      const byAltSecurityIdentities = account.matchedBy === 'altSecurityIdentities';
      return {
        name: account.name,
        strength: byAltSecurityIdentities ? 'strong' : 'weak',
        rule: byAltSecurityIdentities ? 'altSecurityIdentities' : 'directory-upn',
        sid: account.sid,
        groupSids: account.groupSids,
        ...(account.upn === undefined ? {} : { upn: account.upn }),
      };
    }
    case 'upn':
      return upn === undefined ? undefined : { name: upn, strength: 'weak', rule: 'upn', upn };
    case 'email': {
      const email = single(f.names.emails);
      return email === undefined ? undefined : { name: email, strength: 'weak', rule: 'email' };
    }
    case 'subject': {
      const match = rule.pattern.exec(f.subject);
      if (match === null) return undefined;
      const name = rule.name.replace(/\$([1-9])/g, (_, n: string) => match[Number(n)] ?? '');
      return { name, strength: 'weak', rule: 'subject' };
    }
  }
}

function hasControl(value: string): boolean {
  for (let i = 0; i < value.length; i++) {
    const code = value.charCodeAt(i);
    if (code < 0x20 || code === 0x7f) return true;
  }
  return false;
}

/**
 * The principal for a validated path (leaf first), by the first rule that names it. Throws
 * ERR_HTTPAUTH_CERT_UNMAPPED when none does (ERR_HTTPAUTH_CERT_ISSUER_NOT_ALLOWED when a
 * directory rule was passed over for the certificate's CA), ERR_HTTPAUTH_CERT_MALFORMED when the
 * SAN or SID extension does not decode, and the directory rule's refusals.
 */
export async function mapCertificate(
  path: readonly PathCertificate[],
  options: MappingOptions,
  now: number,
): Promise<Principal> {
  let f: CertificateFacts;
  try {
    f = facts(path, now);
  } catch (cause) {
    throw new HttpAuthError('ERR_HTTPAUTH_CERT_MALFORMED', { cause });
  }
  let passedOver = false;
  for (const rule of options.rules) {
    const candidate = await tryRule(rule, f);
    if (candidate === ISSUER_NOT_ALLOWED) {
      passedOver = true;
      continue;
    }
    if (candidate === undefined || candidate.name === '' || hasControl(candidate.name)) continue;
    const { user, realm } = splitKerberosName(candidate.name);
    const local =
      realm !== undefined &&
      options.localDomains.some((domain) => domain.toLowerCase() === realm.toLowerCase());
    const certificate: CertificateMapping = {
      strength: candidate.strength,
      rule: candidate.rule,
      fingerprint256: f.fingerprint,
      issuer: f.issuer,
      subject: f.subject,
      serialNumber: f.serial,
    };
    return {
      name: candidate.name,
      user: local ? user : candidate.name,
      ...(realm === undefined ? {} : { realm, localRealm: local }),
      mechanism: 'Certificate',
      ...(candidate.sid === undefined ? {} : { userSid: candidate.sid }),
      ...(candidate.upn === undefined ? {} : { upn: candidate.upn }),
      ...(candidate.groupSids === undefined ? {} : { groupSids: candidate.groupSids }),
      certificate,
    };
  }
  return fail(passedOver ? 'ERR_HTTPAUTH_CERT_ISSUER_NOT_ALLOWED' : 'ERR_HTTPAUTH_CERT_UNMAPPED');
}

/** Default lifetime of a directory answer in the result cache (see the rule's cacheTtlMs). */
export const DEFAULT_DIRECTORY_CACHE_TTL_MS = 60_000;

/**
 * How long a result may be cached when a directory rule may have answered it: the shortest
 * `cacheTtlMs` of the directory rules, undefined without any.
 */
export function directoryAnswerLifetime(options: MappingOptions): number | undefined {
  let lifetime: number | undefined;
  for (const rule of options.rules) {
    if (rule.type !== 'directory') continue;
    const ttl = rule.cacheTtlMs ?? DEFAULT_DIRECTORY_CACHE_TTL_MS;
    lifetime = lifetime === undefined ? ttl : Math.min(lifetime, ttl);
  }
  return lifetime;
}
