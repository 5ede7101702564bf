/**
 * Security packages from the gateway configuration, in the configured challenge order.
 */
import { readFileSync } from 'node:fs';
import * as core from '@httpauth/core';
import type { SecurityPackage } from '@httpauth/core';
import type { GatewayConfig } from './config.js';
import type { BasicKerberosConfig } from './config-types.js';
import { GatewayConfigError } from './config.js';

/** A file a setting names (`what`), or a GatewayConfigError saying which and why. */
export function readConfiguredFile(path: string, what: string): Buffer {
  try {
    return readFileSync(path);
  } catch (error) {
    throw new GatewayConfigError([
      `cannot read ${what} ${path}: ${(error as NodeJS.ErrnoException).code ?? 'error'}`,
    ]);
  }
}

function readSecret(path: string, what: string, minBytes: number): Buffer {
  const secret = readConfiguredFile(path, what);
  // A trailing newline from `echo` or an editor is not part of the secret.
  const text = secret.toString('utf8');
  const trimmed = /^[\x20-\x7e]+\r?\n?$/.test(text) ? Buffer.from(text.trimEnd(), 'utf8') : secret;
  if (trimmed.length < minBytes)
    throw new GatewayConfigError([`${what} ${path} must hold at least ${minBytes} bytes`]);
  return trimmed;
}

export { readSecret };

/** A proxy stands in front of (some) connections: one connection may carry many clients. */
function behindProxy(config: GatewayConfig): boolean {
  return config.trustProxy || config.trustedProxies.length > 0;
}

/** The packages, and how to release what they hold (the DC verifier's pooled connections). */
export interface BuiltPackages {
  readonly packages: SecurityPackage[];
  close(): void;
}

/** Build the packages; file and option errors become GatewayConfigError with a clear message. */
export function buildPackages(config: GatewayConfig): BuiltPackages {
  const { auth } = config;
  const packages: SecurityPackage[] = [];
  let shared: core.DomainControllerVerifier | undefined;
  const close = (): void => shared?.close();
  try {
    for (const mechanism of auth.mechanisms) {
      try {
        // auth.ntlm and Negotiate's NTLM fallback share one verifier: each secure-channel set-up
        // (MS-NRPC §3.1.4.1 ServerAuthenticate3) replaces the session key the DC holds for the
        // machine account, so two verifiers for one account would keep undoing each other.
        if (
          shared === undefined &&
          auth.ntlm?.domainController !== undefined &&
          usesNtlm(mechanism, config)
        )
          shared = dcVerifier(config);
        packages.push(buildOne(mechanism, config, shared));
      } catch (error) {
        if (error instanceof GatewayConfigError) throw error;
        const detail = error instanceof core.HttpAuthError ? error.message : String(error);
        throw new GatewayConfigError([`auth.${mechanism}: ${detail}${causeOf(error)}`]);
      }
    }
  } catch (error) {
    close();
    throw error;
  }
  return { packages, close };
}

function usesNtlm(mechanism: string, config: GatewayConfig): boolean {
  return (
    mechanism === 'ntlm' ||
    (mechanism === 'negotiate' && config.auth.negotiate?.kerberosOnly !== true)
  );
}

function dcVerifier(config: GatewayConfig): core.DomainControllerVerifier {
  const n = config.auth.ntlm!;
  const dc = n.domainController!;
  return core.domainControllerVerifier({
    domain: n.domain,
    ...(dc.servers === undefined ? {} : { servers: dc.servers }),
    machineAccount: dc.machineAccount,
    ...(dc.machinePasswordFile === undefined
      ? {}
      : { machinePasswordFile: dc.machinePasswordFile }),
    ...(dc.machineNtHashFile === undefined ? {} : { machineNtHashFile: dc.machineNtHashFile }),
    ...((dc.dnsDomain ?? n.dnsDomain) === undefined
      ? {}
      : { dnsDomain: (dc.dnsDomain ?? n.dnsDomain) as string }),
    timeoutMs: dc.timeoutMs,
  });
}

function causeOf(error: unknown): string {
  const cause = (error as { cause?: unknown }).cause;
  if (cause === undefined) return '';
  const code = (cause as NodeJS.ErrnoException).code;
  return code === undefined ? ` (${String((cause as Error).message ?? cause)})` : ` (${code})`;
}

function buildOne(
  mechanism: GatewayConfig['auth']['mechanisms'][number],
  config: GatewayConfig,
  dc: core.DomainControllerVerifier | undefined,
): SecurityPackage {
  const { auth } = config;
  switch (mechanism) {
    case 'digest': {
      const d = auth.digest!;
      const credentials =
        d.file !== undefined ? core.digestFile(d.file) : core.htdigestFile(d.htdigest!);
      return core.digest({
        realm: auth.realm,
        credentials,
        ...(d.algorithms === undefined
          ? {}
          : { algorithms: d.algorithms as core.DigestAlgorithm[] }),
        nonceLifetimeMs: d.nonceLifetimeSec * 1000,
        ...(d.nonceKeyFile === undefined
          ? {}
          : { nonceKey: readSecret(d.nonceKeyFile, 'auth.digest.nonceKeyFile', 16) }),
      });
    }
    case 'basic': {
      const b = auth.basic!;
      const k = b.kerberos;
      return core.basic({
        realm: auth.realm,
        ...(k === undefined
          ? { verify: core.htpasswdFile(b.htpasswd!) }
          : { kerberos: basicKerberosOptions(k) }),
        allowInsecure: b.allowInsecure,
      });
    }
    case 'ntlm':
      // Behind a trusted proxy one connection carries many clients: no connection persistence.
      return core.ntlm({ ...ntlmOptions(config, dc), persistOnConnection: !behindProxy(config) });
    case 'negotiate': {
      const n = auth.negotiate!;
      return core.negotiate({
        kerberos: {
          ...(n.keytab === undefined ? {} : { keytab: n.keytab }),
          ...(n.principals === undefined ? {} : { principals: n.principals }),
          clockSkewMs: n.clockSkewSec * 1000,
          allowRc4: n.allowRc4,
        },
        channelBinding: { mode: auth.channelBinding },
        kerberosOnly: n.kerberosOnly || auth.ntlm === undefined,
        ...(auth.ntlm === undefined
          ? {}
          : { ntlm: { ...ntlmOptions(config, dc), persistOnConnection: !behindProxy(config) } }),
      });
    }
  }
}

/** core's basic({ kerberos }) options from auth.basic.kerberos. */
function basicKerberosOptions(k: BasicKerberosConfig): core.BasicKerberosOptions {
  const keytab = k.keytab ?? process.env['KRB5_KTNAME'];
  if (keytab === undefined || keytab === '')
    throw new GatewayConfigError([
      'auth.basic.kerberos.keytab: not set, and neither auth.negotiate.keytab nor KRB5_KTNAME names one',
    ]);
  // Read it now: a missing keytab fails the start (or the reload), not every logon.
  readConfiguredFile(keytab.replace(/^FILE:/, ''), 'auth.basic.kerberos.keytab');
  return {
    realm: k.realm,
    ...(k.trustedRealms === undefined ? {} : { trustedRealms: k.trustedRealms }),
    keytab,
    ...(k.servicePrincipal === undefined ? {} : { servicePrincipal: k.servicePrincipal }),
    ...(k.kdcs === undefined ? {} : { kdcs: k.kdcs }),
    ...(k.krb5Conf === undefined ? {} : { krb5Conf: k.krb5Conf }),
    ...(k.dnsLookupKdc === undefined ? {} : { dnsLookupKdc: k.dnsLookupKdc }),
    timeoutMs: k.timeoutMs,
    allowRc4: k.allowRc4,
  };
}

/** NTLM acceptor options, the same for auth.ntlm and for Negotiate's NTLM fallback. */
function ntlmOptions(
  config: GatewayConfig,
  dc: core.DomainControllerVerifier | undefined,
): core.NtlmAcceptorOptions {
  const n = config.auth.ntlm!;
  return {
    domain: n.dnsDomain === undefined ? n.domain : { netbios: n.domain, dns: n.dnsDomain },
    // With a DC, the CHALLENGE names the machine account's computer (core checks the same).
    ...(dc === undefined
      ? {
          ...(n.computerName === undefined ? {} : { computerName: n.computerName }),
          credentials: core.smbpasswdFile(n.smbpasswd!),
        }
      : { computerName: dc.computerName, credentials: dc }),
    channelBinding: { mode: n.channelBinding },
    ...(n.targetNames === undefined ? {} : { targetNames: n.targetNames }),
    ...(n.hostNames === undefined ? {} : { hostNames: n.hostNames }),
    allowMissingTargetName: n.allowMissingTargetName,
  };
}

/**
 * Start-up warning for Basic over Kerberos on plain HTTP: the users' domain passwords, which also
 * open every other Kerberos service of the realm, would cross the network readable by anyone.
 */
export function basicWarnings(config: GatewayConfig): string[] {
  const b = config.auth.basic;
  if (b?.kerberos === undefined || !b.allowInsecure || !config.auth.mechanisms.includes('basic'))
    return [];
  return [
    'auth.basic.allowInsecure with auth.basic.kerberos: Kerberos (domain) passwords are accepted ' +
      'over plain HTTP and cross the network in the clear; use it for local tests only',
  ];
}

/**
 * Start-up warnings about NTLM settings that leave the gateway open to relay: without required
 * channel bindings and without target names, an NTLM AUTHENTICATE message obtained from a client
 * by another server can be replayed here (MS-NLMP §3.1.5.2, Extended Protection).
 */
export function ntlmWarnings(config: GatewayConfig): string[] {
  const n = config.auth.ntlm;
  if (n === undefined) return [];
  const used =
    config.auth.mechanisms.includes('ntlm') ||
    (config.auth.mechanisms.includes('negotiate') && config.auth.negotiate?.kerberosOnly !== true);
  const namesChecked =
    (n.targetNames !== undefined || n.hostNames !== undefined) && !n.allowMissingTargetName;
  if (!used || n.channelBinding === 'require' || namesChecked) return [];
  return [
    'NTLM runs without required channel bindings and without target names: NTLM credentials ' +
      'can be relayed to this gateway; set auth.ntlm.channelBinding: require (with TLS) or ' +
      'auth.ntlm.hostNames or auth.ntlm.targetNames (without allowMissingTargetName)',
  ];
}
