/**
 * The `auth` section: mechanisms in challenge order and their settings. NTLM's relay protection
 * (MS-NLMP §3.2.5.1.2 channel bindings, MsvAvTargetName) applies to auth.ntlm and to
 * Negotiate's NTLM fallback alike; its channel binding mode defaults to `require` when the
 * gateway terminates TLS. Types, ranges and defaults come from the schema (config-schema.ts);
 * this module adds the checks that relate settings to each other.
 */
import type { ChannelBindingMode } from '@httpauth/core';
import type { ConfigReader, Json } from './config-checks.js';
import { machineComputerName, parseDomainController } from './config-dc.js';
import { MECHANISMS } from './config-types.js';
import type {
  BasicConfig,
  BasicKerberosConfig,
  ConfigOverrides,
  DigestConfig,
  GatewayConfig,
  MechanismName,
  NegotiateConfig,
  NtlmConfig,
} from './config-types.js';

function bindingMode(value: unknown): ChannelBindingMode | undefined {
  return value === 'none' || value === 'allow' || value === 'require' ? value : undefined;
}

/** `certificates`: client certificates are configured, so no mechanism at all is allowed. */
function parseMechanisms(a: Json, read: ConfigReader, certificates: boolean): MechanismName[] {
  const listed = a['mechanisms'];
  const mechanisms = Array.isArray(listed)
    ? listed.filter((m): m is MechanismName => MECHANISMS.includes(m as MechanismName))
    : MECHANISMS.filter((m) => a[m] !== undefined);
  if (mechanisms.length === 0 && !certificates && (listed === undefined || Array.isArray(listed)))
    read.problems.push(
      'auth: configure at least one of negotiate, ntlm, digest, basic (or listen.tls.clientCertificates)',
    );
  for (const m of mechanisms)
    if (a[m] === undefined)
      read.problems.push(`auth.${m} is listed in auth.mechanisms but not configured`);
  return mechanisms;
}

function parseNegotiate(raw: unknown, read: ConfigReader): NegotiateConfig {
  const n = read.section(raw);
  const keytab = read.optionalFile(n['keytab']);
  const principals = read.strings(n['principals']);
  return {
    ...(keytab === undefined ? {} : { keytab }),
    ...(principals === undefined ? {} : { principals }),
    kerberosOnly: read.bool(n['kerberosOnly'], 'auth.negotiate.kerberosOnly'),
    allowRc4: read.bool(n['allowRc4'], 'auth.negotiate.allowRc4'),
    clockSkewSec: read.num(n['clockSkewSec'], 'auth.negotiate.clockSkewSec'),
  };
}

/** Target names from the file, or from the comma-separated override (which must name one). */
function targetNamesOf(
  n: Json,
  overrides: ConfigOverrides,
  read: ConfigReader,
): string[] | undefined {
  if (overrides.ntlmTargetNames === undefined) return read.strings(n['targetNames']);
  const names = overrides.ntlmTargetNames
    .split(',')
    .map((t) => t.trim())
    .filter((t) => t !== '');
  if (names.length === 0)
    read.problems.push('auth.ntlm.targetNames must list at least one SPN when given');
  return names.length === 0 ? undefined : names;
}

function parseNtlm(
  raw: unknown,
  overrides: ConfigOverrides,
  inherited: ChannelBindingMode,
  read: ConfigReader,
): NtlmConfig {
  const n = read.section(raw);
  const override =
    overrides.ntlmChannelBinding !== undefined &&
    read.override(
      overrides.ntlmChannelBinding,
      'auth.ntlm.channelBinding',
      'NTLM channel binding override',
    )
      ? bindingMode(overrides.ntlmChannelBinding)
      : undefined;
  const targetNames = targetNamesOf(n, overrides, read);
  const hostNames = read.strings(n['hostNames']);
  const dnsDomain = read.optionalStr(n['dnsDomain']);
  const domainController =
    n['domainController'] === undefined
      ? undefined
      : parseDomainController(n['domainController'], read, dnsDomain);
  const computerName = read.optionalStr(n['computerName']);
  // The DC refuses a logon whose CHALLENGE names another computer than the secure channel's
  // (MS-NRPC §3.5.4.5.1): with a DC the computer name is the machine account's.
  const machine =
    domainController === undefined ? '' : machineComputerName(domainController.machineAccount);
  if (domainController !== undefined && computerName !== undefined && machine !== '') {
    if (computerName.toUpperCase() !== machine)
      read.problems.push(
        'auth.ntlm.computerName must be the machine account without $ ' +
          `(${machine}) with domainController, or be left out`,
      );
  }
  const smbpasswd = read.optionalFile(n['smbpasswd']);
  return {
    channelBinding: override ?? bindingMode(n['channelBinding']) ?? inherited,
    ...(targetNames === undefined || targetNames.length === 0 ? {} : { targetNames }),
    ...(hostNames === undefined || hostNames.length === 0 ? {} : { hostNames }),
    allowMissingTargetName: read.bool(
      n['allowMissingTargetName'],
      'auth.ntlm.allowMissingTargetName',
    ),
    ...(smbpasswd === undefined ? {} : { smbpasswd }),
    ...(domainController === undefined ? {} : { domainController }),
    domain: read.str(n['domain'], 'auth.ntlm.domain'),
    ...(computerName === undefined ? {} : { computerName }),
    ...(dnsDomain === undefined ? {} : { dnsDomain }),
  };
}

function parseDigest(raw: unknown, read: ConfigReader): DigestConfig {
  const d = read.section(raw);
  const file = read.optionalFile(d['file']);
  const htdigest = read.optionalFile(d['htdigest']);
  const algorithms = read.strings(d['algorithms']);
  const nonceKeyFile = read.optionalFile(d['nonceKeyFile']);
  return {
    ...(file === undefined ? {} : { file }),
    ...(htdigest === undefined ? {} : { htdigest }),
    ...(algorithms === undefined ? {} : { algorithms }),
    nonceLifetimeSec: read.num(d['nonceLifetimeSec'], 'auth.digest.nonceLifetimeSec'),
    ...(nonceKeyFile === undefined ? {} : { nonceKeyFile }),
  };
}

function parseBasicKerberos(
  raw: unknown,
  negotiateKeytab: string | undefined,
  read: ConfigReader,
): BasicKerberosConfig {
  const k = read.section(raw);
  const keytab = read.optionalFile(k['keytab']) ?? negotiateKeytab;
  const servicePrincipal = read.optionalStr(k['servicePrincipal']);
  const kdcs = read.strings(k['kdcs']);
  const trustedRealms = read.strings(k['trustedRealms']);
  // The schema's pattern cannot bound a port number.
  for (const kdc of kdcs ?? []) {
    const port = /:(\d+)$/.exec(kdc)?.[1];
    if (port !== undefined && (Number(port) < 1 || Number(port) > 65535))
      read.problems.push(`auth.basic.kerberos.kdcs: ${kdc} has no valid port (1-65535)`);
  }
  const krb5Conf = read.optionalFile(k['krb5Conf']);
  const dns = k['dnsLookupKdc'];
  return {
    realm: read.str(k['realm'], 'auth.basic.kerberos.realm'),
    ...(trustedRealms === undefined ? {} : { trustedRealms }),
    ...(keytab === undefined ? {} : { keytab }),
    ...(servicePrincipal === undefined ? {} : { servicePrincipal }),
    ...(kdcs === undefined ? {} : { kdcs }),
    ...(krb5Conf === undefined ? {} : { krb5Conf }),
    ...(typeof dns === 'boolean' ? { dnsLookupKdc: dns } : {}),
    timeoutMs: read.num(k['timeoutMs'], 'auth.basic.kerberos.timeoutMs'),
    allowRc4: read.bool(k['allowRc4'], 'auth.basic.kerberos.allowRc4'),
  };
}

function parseBasic(raw: unknown, negotiateKeytab: string | undefined, read: ConfigReader) {
  const b = read.section(raw);
  const basic: BasicConfig = {
    ...(b['htpasswd'] === undefined ? {} : { htpasswd: read.file(b['htpasswd']) }),
    ...(b['kerberos'] === undefined
      ? {}
      : { kerberos: parseBasicKerberos(b['kerberos'], negotiateKeytab, read) }),
    allowInsecure: read.bool(b['allowInsecure'], 'auth.basic.allowInsecure'),
  };
  return basic;
}

function negotiateKeytabOf(a: Json, read: ConfigReader): string | undefined {
  return read.optionalFile(read.section(a['negotiate'])['keytab']);
}

export function parseAuth(
  raw: unknown,
  overrides: ConfigOverrides,
  tls: boolean,
  read: ConfigReader,
  /** listen.tls.clientCertificates is set: it may stand alone. */
  certificates = false,
): GatewayConfig['auth'] {
  const a = read.section(raw);
  const explicitBinding = bindingMode(a['channelBinding']);
  // NTLM without a setting of its own: the auth-wide one when given, else require over TLS.
  const ntlmBinding = explicitBinding ?? (tls ? 'require' : 'allow');
  return {
    realm: overrides.realm ?? read.str(a['realm'], 'auth.realm'),
    mechanisms: parseMechanisms(a, read, certificates),
    channelBinding: read.choice<ChannelBindingMode>(a['channelBinding'], 'auth.channelBinding'),
    ...(a['negotiate'] === undefined ? {} : { negotiate: parseNegotiate(a['negotiate'], read) }),
    ...(a['ntlm'] === undefined
      ? {}
      : { ntlm: parseNtlm(a['ntlm'], overrides, ntlmBinding, read) }),
    ...(a['digest'] === undefined ? {} : { digest: parseDigest(a['digest'], read) }),
    ...(a['basic'] === undefined
      ? {}
      : { basic: parseBasic(a['basic'], negotiateKeytabOf(a, read), read) }),
  };
}
