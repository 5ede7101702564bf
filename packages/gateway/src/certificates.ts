/**
 * The client-certificate package from `listen.tls.clientCertificates` (config-certificates.ts
 * parses the section): the trust anchors and intermediates are read now, the CRL files by the
 * package, which re-reads them when they change.
 */
import * as core from '@httpauth/core';
import { SECTION } from './config-certificates.js';
import type { CertificateMappingConfig, ClientCertificatesConfig } from './config-types.js';
import { GatewayConfigError } from './config-types.js';
import { readConfiguredFile } from './packages.js';

function mappingRule(rule: CertificateMappingConfig): core.MappingRule {
  return rule.type === 'subject'
    ? { type: 'subject', pattern: new RegExp(rule.pattern, 'u'), name: rule.name }
    : (rule as core.MappingRule);
}

/** Build the package (files read now); a bad file or option is a GatewayConfigError. */
export function buildClientCertificate(
  config: ClientCertificatesConfig,
): core.ConnectionSecurityPackage {
  const ca = readConfiguredFile(config.ca, `${SECTION}.ca`).toString('utf8');
  const intermediates =
    config.intermediates === undefined
      ? undefined
      : readConfiguredFile(config.intermediates, `${SECTION}.intermediates`).toString('utf8');
  try {
    return core.clientCertificate({
      ca,
      ...(intermediates === undefined ? {} : { intermediates }),
      revocation: {
        crlFiles: config.crlFiles,
        checkIntervalMs: config.crlCheckIntervalSec * 1000,
        ...(config.ocsp === undefined ? {} : { ocsp: config.ocsp }),
        failOpen: config.failOpen,
      },
      mapping: config.mapping.map(mappingRule),
      allowWeakMappings: config.allowWeakMappings,
      localDomains: config.localDomains,
      onInvalidCertificate: config.onInvalidCertificate,
    });
  } catch (error) {
    const reason = error instanceof core.HttpAuthError ? error.reason : undefined;
    const detail = error instanceof Error ? error.message : String(error);
    throw new GatewayConfigError([
      `${SECTION}: ${detail}${typeof reason === 'string' ? ` (${reason})` : ''}`,
    ]);
  }
}
