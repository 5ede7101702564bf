/**
 * The client-certificate package from `listen.tls.clientCertificates` (config-certificates.ts
 * parses the section): the trust anchors and intermediates are read now, the CRL files by the
 * package, which re-reads them when they change.
 */
import * as core from '@httpauth/core';
import { SECTION } from './config-certificates.js';
import { ldapCertificateLookup, type LdapCertificateLookup } from '@httpauth/ldap';
import type {
  CertificateIssuerConfig,
  CertificateMappingConfig,
  ClientCertificatesConfig,
  DirectoryConfig,
} from './config-types.js';
import { GatewayConfigError } from './config-types.js';
import { ldapOptionsOf } from './directory.js';
import { readConfiguredFile } from './packages.js';

/** The package and what it holds open (the directory rule's LDAP connection). */
export interface BuiltClientCertificate {
  readonly certificate: core.ConnectionSecurityPackage;
  close(): Promise<void>;
}

function issuersOf(issuers: readonly CertificateIssuerConfig[], where: string) {
  return issuers.map((issuer) =>
    'sha256' in issuer
      ? issuer.sha256
      : readConfiguredFile(issuer.file, `${where}.issuers`).toString('utf8'),
  );
}

/** A configured rule as core's; the directory rule gets one LDAP lookup for the generation. */
function mappingRule(
  rule: CertificateMappingConfig,
  n: number,
  lookup: () => LdapCertificateLookup,
): core.MappingRule {
  const where = `${SECTION}.mapping[${n}]`;
  switch (rule.type) {
    case 'subject':
      return { type: 'subject', pattern: new RegExp(rule.pattern, 'u'), name: rule.name };
    case 'directory':
      return {
        type: 'directory',
        lookup: lookup(),
        byUpn: rule.byUpn,
        ...(rule.anyIssuer
          ? { anyIssuer: true }
          : {
              issuers: rule.issuers === 'ntauth' ? 'ntauth' : issuersOf(rule.issuers, where),
            }),
        ...(rule.cacheTtlSec === undefined ? {} : { cacheTtlMs: rule.cacheTtlSec * 1000 }),
      };
    case 'upn':
      return rule.issuers === undefined
        ? { type: 'upn' }
        : { type: 'upn', issuers: issuersOf(rule.issuers, where) };
    default:
      return rule as core.MappingRule;
  }
}

/**
 * Build the package (files read now); a bad file or option is a GatewayConfigError. A directory
 * rule opens its LDAP connection with `directory`'s settings (config.ts requires the section).
 */
export function buildClientCertificate(
  config: ClientCertificatesConfig,
  directory?: DirectoryConfig,
): BuiltClientCertificate {
  let ldap: LdapCertificateLookup | undefined;
  const lookup = () => {
    if (directory === undefined)
      throw new GatewayConfigError([`${SECTION}: a directory rule needs directory.ldap`]);
    ldap ??= ldapCertificateLookup(ldapOptionsOf(directory));
    return ldap;
  };
  const close = async () => {
    await ldap?.close();
  };
  const ca = readConfiguredFile(config.ca, `${SECTION}.ca`).toString('utf8');
  const intermediates =
    config.intermediates === undefined
      ? undefined
      : readConfiguredFile(config.intermediates, `${SECTION}.intermediates`).toString('utf8');
  try {
    const certificate = core.clientCertificate({
      ca,
      ...(intermediates === undefined ? {} : { intermediates }),
      revocation: {
        crlFiles: config.crlFiles,
        checkIntervalMs: config.crlCheckIntervalSec * 1000,
        ...(config.ocsp === undefined ? {} : { ocsp: config.ocsp }),
        failOpen: config.failOpen,
      },
      mapping: config.mapping.map((rule, n) => mappingRule(rule, n, lookup)),
      allowWeakMappings: config.allowWeakMappings,
      localDomains: config.localDomains,
      onInvalidCertificate: config.onInvalidCertificate,
    });
    return { certificate, close };
  } catch (error) {
    void close();
    if (error instanceof GatewayConfigError) throw error;
    const reason = error instanceof core.HttpAuthError ? error.reason : undefined;
    const detail = error instanceof Error ? error.message : String(error);
    throw new GatewayConfigError([
      `${SECTION}: ${detail}${typeof reason === 'string' ? ` (${reason})` : ''}`,
    ]);
  }
}
