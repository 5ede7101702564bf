/**
 * `listen.tls.clientCertificates`: the client-certificate security package (SSPI's Schannel row,
 * docs/certificates.md) from the configuration. The TLS listener asks for a certificate and
 * leaves the verdict to the package (server.ts), which runs before auth.mechanisms: a client
 * without a certificate, or with a refused one under `onInvalidCertificate: fall-through`, goes
 * on to Negotiate, NTLM, Digest or Basic (IIS's "client certificate or Windows authentication").
 */
import { isObject, type ConfigReader, type Json } from './config-checks.js';
import type {
  CertificateIssuerConfig,
  CertificateMappingConfig,
  ClientCertificatesConfig,
} from './config-types.js';

export const SECTION = 'listen.tls.clientCertificates';
const RULES = new Set(['sid', 'explicit', 'upn', 'email', 'subject', 'directory']);
/** A SHA-256 thumbprint as openssl prints it (colons optional); anything else names a PEM file. */
const THUMBPRINT = /^[0-9A-Fa-f]{2}(?::?[0-9A-Fa-f]{2}){31}$/;

/** `issuers`: the CAs allowed to log on to a domain account, like AD's NTAuth store. */
function parseIssuers(raw: unknown, read: ConfigReader): CertificateIssuerConfig[] | undefined {
  const list = read.strings(raw);
  return list?.map((item) =>
    THUMBPRINT.test(item) ? { sha256: item } : { file: read.file(item) },
  );
}

/**
 * A `directory` rule: altSecurityIdentities through directory.ldap's connection (the section's
 * presence is checked with the whole configuration, config.ts). Without issuers or anyIssuer any
 * CA under `ca` could name an AD account: refused here, as core refuses it. `issuers: ntauth`
 * reads the directory's own NTAuth store.
 */
function parseDirectoryRule(rule: Json, where: string, read: ConfigReader) {
  const issuers =
    rule['issuers'] === 'ntauth' ? ('ntauth' as const) : parseIssuers(rule['issuers'], read);
  const anyIssuer = read.bool(
    rule['anyIssuer'],
    'listen.tls.clientCertificates.mapping[].anyIssuer',
  );
  if ((issuers === undefined || issuers.length === 0) && !anyIssuer)
    read.problems.push(
      `${where}: a directory rule needs issuers (the CAs allowed to log on, like AD's NTAuth store) or anyIssuer: true`,
    );
  if (issuers !== undefined && anyIssuer)
    read.problems.push(`${where}: give issuers or anyIssuer, not both`);
  const cacheTtlSec = rule['cacheTtlSec'];
  return {
    type: 'directory' as const,
    issuers: issuers ?? [],
    anyIssuer,
    byUpn: read.bool(rule['byUpn'], 'listen.tls.clientCertificates.mapping[].byUpn'),
    ...(typeof cacheTtlSec === 'number' ? { cacheTtlSec } : {}),
  };
}

function parseRule(raw: unknown, n: number, read: ConfigReader): CertificateMappingConfig[] {
  const rule = read.section(raw);
  const type = rule['type'];
  if (typeof type !== 'string' || !RULES.has(type)) return []; // the schema's problem
  const where = `${SECTION}.mapping[${n}]`;
  if (type === 'subject') {
    const pattern = read.optionalStr(rule['pattern']);
    const name = read.optionalStr(rule['name']);
    if (pattern === undefined || name === undefined) {
      read.problems.push(`${where}: a subject rule needs pattern and name`);
      return [];
    }
    try {
      new RegExp(pattern, 'u');
    } catch {
      read.problems.push(`${where}.pattern is not a regular expression`);
      return [];
    }
    return [{ type, pattern, name }];
  }
  if (type === 'explicit') {
    const entries = Array.isArray(rule['entries']) ? rule['entries'].filter(isObject) : [];
    if (entries.length === 0) read.problems.push(`${where}: an explicit rule needs entries`);
    type Entries = Extract<CertificateMappingConfig, { type: 'explicit' }>['entries'];
    return [{ type, entries: entries as unknown as Entries }];
  }
  if (rule['entries'] !== undefined || rule['pattern'] !== undefined || rule['name'] !== undefined)
    read.problems.push(`${where}: a ${type} rule takes no entries, pattern or name`);
  if (type === 'directory') return [parseDirectoryRule(rule, where, read)];
  const onlyDirectory = ['anyIssuer', 'byUpn', 'cacheTtlSec'].filter((k) => rule[k] !== undefined);
  if (onlyDirectory.length > 0)
    read.problems.push(`${where}: ${onlyDirectory.join(', ')} belong to a directory rule`);
  if (rule['issuers'] !== undefined && type !== 'upn')
    read.problems.push(`${where}: issuers belong to a directory or upn rule`);
  if (type === 'upn') {
    if (rule['issuers'] === 'ntauth') {
      read.problems.push(`${where}: issuers: ntauth belongs to a directory rule`);
      return [];
    }
    const issuers = parseIssuers(rule['issuers'], read);
    return [{ type, ...(issuers === undefined ? {} : { issuers }) }];
  }
  return [{ type: type as 'sid' | 'email' }];
}

/** The section, or undefined when absent; problems go to `read`. */
export function parseClientCertificates(
  tls: Json,
  read: ConfigReader,
): ClientCertificatesConfig | undefined {
  const raw = tls['clientCertificates'];
  if (!isObject(raw)) return undefined;
  const path = `${SECTION}.`;
  const crlFiles = Array.isArray(raw['crlFiles']) ? raw['crlFiles'].map(read.file) : [];
  const ocspRaw = raw['ocsp'];
  const ocsp = isObject(ocspRaw)
    ? {
        ...(read.optionalStr(ocspRaw['url']) === undefined
          ? {}
          : { url: ocspRaw['url'] as string }),
        timeoutMs: read.num(ocspRaw['timeoutMs'], `${path}ocsp.timeoutMs`),
      }
    : undefined;
  const failOpen = read.bool(raw['failOpen'], `${path}failOpen`);
  if (crlFiles.length === 0 && ocsp === undefined && !failOpen)
    read.problems.push(
      `${SECTION}: give crlFiles, ocsp or failOpen: true (fail-closed without revocation data would refuse every certificate)`,
    );
  const mappingRaw = Array.isArray(raw['mapping']) ? raw['mapping'] : [{ type: 'sid' }];
  const mapping = mappingRaw.flatMap((rule, n) => parseRule(rule, n, read));
  const allowWeakMappings = read.bool(raw['allowWeakMappings'], `${path}allowWeakMappings`);
  // KB5014754: the SID extension, explicit thumbprints and the directory's strong forms are
  // strong; a name the CA writes (UPN, e-mail, subject), also the directory's UPN search, is weak.
  const weak = mapping.find((rule) =>
    rule.type === 'directory' ? rule.byUpn : rule.type !== 'sid' && rule.type !== 'explicit',
  );
  if (weak !== undefined && !allowWeakMappings)
    read.problems.push(
      `${SECTION}.mapping: the ${weak.type} rule is weak (KB5014754); set allowWeakMappings: true to use it`,
    );
  const intermediates = read.optionalFile(raw['intermediates']);
  return {
    ca: read.file(raw['ca']),
    ...(intermediates === undefined ? {} : { intermediates }),
    crlFiles,
    crlCheckIntervalSec: read.num(raw['crlCheckIntervalSec'], `${path}crlCheckIntervalSec`),
    ...(ocsp === undefined ? {} : { ocsp }),
    failOpen,
    mapping,
    allowWeakMappings,
    localDomains: read.strings(raw['localDomains']) ?? [],
    onInvalidCertificate: read.choice<'refuse' | 'fall-through'>(
      raw['onInvalidCertificate'],
      `${path}onInvalidCertificate`,
    ),
  };
}
