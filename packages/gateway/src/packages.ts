/**
 * Security packages from the gateway configuration, in the configured challenge order.
 */
import { readFileSync } from 'node:fs';
import * as core from '@httpauth/core';
import type { SecurityPackage } from '@httpauth/core';
import type { GatewayConfig } from './config.js';
import { GatewayConfigError } from './config.js';

function readSecret(path: string, what: string, minBytes: number): Buffer {
  let secret: Buffer;
  try {
    secret = readFileSync(path);
  } catch (error) {
    throw new GatewayConfigError([
      `cannot read ${what} ${path}: ${(error as NodeJS.ErrnoException).code ?? 'error'}`,
    ]);
  }
  // A trailing newline from `echo` or an editor is not part of the secret.
  const text = secret.toString('utf8');
  const trimmed = /^[\x20-\x7e]+\r?\n?$/.test(text) ? Buffer.from(text.trimEnd(), 'utf8') : secret;
  if (trimmed.length < minBytes)
    throw new GatewayConfigError([`${what} ${path} must hold at least ${minBytes} bytes`]);
  return trimmed;
}

export { readSecret };

/** Build the packages; file and option errors become GatewayConfigError with a clear message. */
export function buildPackages(config: GatewayConfig): SecurityPackage[] {
  const { auth } = config;
  const packages: SecurityPackage[] = [];
  for (const mechanism of auth.mechanisms) {
    try {
      packages.push(buildOne(mechanism, config));
    } catch (error) {
      if (error instanceof GatewayConfigError) throw error;
      const detail = error instanceof core.HttpAuthError ? error.message : String(error);
      throw new GatewayConfigError([`auth.${mechanism}: ${detail}${causeOf(error)}`]);
    }
  }
  return packages;
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
        nonceLifetimeMs: (d.nonceLifetimeSec ?? 300) * 1000,
        ...(d.nonceKeyFile === undefined
          ? {}
          : { nonceKey: readSecret(d.nonceKeyFile, 'auth.digest.nonceKeyFile', 16) }),
      });
    }
    case 'basic': {
      const b = auth.basic!;
      return core.basic({
        realm: auth.realm,
        verify: core.htpasswdFile(b.htpasswd),
        allowInsecure: b.allowInsecure === true,
      });
    }
    case 'ntlm':
      // Behind a trusted proxy one connection carries many clients: no connection persistence.
      return core.ntlm({ ...ntlmOptions(config), persistOnConnection: !config.trustProxy });
    case 'negotiate': {
      const n = auth.negotiate!;
      return core.negotiate({
        ...(n.keytab === undefined ? {} : { keytab: n.keytab }),
        ...(n.principals === undefined ? {} : { principals: n.principals }),
        clockSkewMs: (n.clockSkewSec ?? 300) * 1000,
        allowRc4: n.allowRc4 === true,
        channelBinding: { mode: auth.channelBinding },
        kerberosOnly: n.kerberosOnly === true || auth.ntlm === undefined,
        ...(auth.ntlm === undefined
          ? {}
          : { ntlm: ntlmOptions(config), persistNtlm: !config.trustProxy }),
      });
    }
  }
}

/** NTLM acceptor options, the same for auth.ntlm and for Negotiate's NTLM fallback. */
function ntlmOptions(config: GatewayConfig): core.NtlmAcceptorOptions {
  const n = config.auth.ntlm!;
  return {
    domain: n.dnsDomain === undefined ? n.domain : { netbios: n.domain, dns: n.dnsDomain },
    ...(n.computerName === undefined ? {} : { computerName: n.computerName }),
    credentials: core.smbpasswdFile(n.smbpasswd),
    channelBinding: { mode: n.channelBinding },
    ...(n.targetNames === undefined ? {} : { targetNames: n.targetNames }),
    ...(n.hostNames === undefined ? {} : { hostNames: n.hostNames }),
    allowMissingTargetName: n.allowMissingTargetName,
  };
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
