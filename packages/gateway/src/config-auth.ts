/**
 * The `auth` section: mechanisms in challenge order and their settings. NTLM's relay protection
 * (MS-NLMP §3.2.5.1.2 channel bindings, MsvAvTargetName) applies to auth.ntlm and to
 * Negotiate's NTLM fallback alike; its channel binding mode defaults to `require` when the
 * gateway terminates TLS.
 */
import type { ConfigChecks } from './config-checks.js';
import { machineComputerName, parseDomainController } from './config-dc.js';
import { MECHANISMS } from './config-types.js';
import type {
  BasicConfig,
  ConfigOverrides,
  DigestConfig,
  GatewayConfig,
  MechanismName,
  NegotiateConfig,
  NtlmConfig,
} from './config-types.js';

export function parseAuth(
  raw: unknown,
  overrides: ConfigOverrides,
  tls: boolean,
  checks: ConfigChecks,
): GatewayConfig['auth'] {
  const { problems, str, num, bool, file, strings, section, bindingMode } = checks;
  const a = section(raw, 'auth', ['realm', 'mechanisms', 'channelBinding', ...MECHANISMS]);
  const realm = overrides.realm ?? str(a['realm'], 'auth.realm', 'httpauth-gateway');
  const mechanismsRaw = a['mechanisms'];
  let mechanisms: MechanismName[] = [];
  if (mechanismsRaw === undefined) {
    mechanisms = MECHANISMS.filter((m) => a[m] !== undefined);
  } else if (
    !Array.isArray(mechanismsRaw) ||
    !mechanismsRaw.every((m) => MECHANISMS.includes(m as MechanismName))
  ) {
    problems.push(`auth.mechanisms must list some of ${MECHANISMS.join(', ')}`);
  } else {
    mechanisms = mechanismsRaw as MechanismName[];
  }
  if (mechanisms.length === 0)
    problems.push('auth: configure at least one of negotiate, ntlm, digest, basic');
  for (const m of mechanisms)
    if (a[m] === undefined)
      problems.push(`auth.${m} is listed in auth.mechanisms but not configured`);
  const explicitBinding = bindingMode(a['channelBinding'], 'auth.channelBinding');
  const channelBinding = explicitBinding ?? 'allow';

  let negotiate: NegotiateConfig | undefined;
  if (a['negotiate'] !== undefined) {
    const n = section(a['negotiate'], 'auth.negotiate', [
      'keytab',
      'principals',
      'kerberosOnly',
      'allowRc4',
      'clockSkewSec',
    ]);
    const principals = strings(n['principals'], 'auth.negotiate.principals');
    negotiate = {
      ...(n['keytab'] === undefined ? {} : { keytab: file(n['keytab'], 'auth.negotiate.keytab') }),
      ...(principals === undefined ? {} : { principals }),
      kerberosOnly: bool(n['kerberosOnly'], 'auth.negotiate.kerberosOnly', false),
      allowRc4: bool(n['allowRc4'], 'auth.negotiate.allowRc4', false),
      clockSkewSec: num(n['clockSkewSec'], 'auth.negotiate.clockSkewSec', 300, 1, 3600),
    };
  }
  let ntlm: NtlmConfig | undefined;
  if (a['ntlm'] !== undefined) {
    const n = section(a['ntlm'], 'auth.ntlm', [
      'smbpasswd',
      'domainController',
      'domain',
      'computerName',
      'dnsDomain',
      'channelBinding',
      'targetNames',
      'hostNames',
      'allowMissingTargetName',
    ]);
    const ntlmBinding =
      bindingMode(overrides.ntlmChannelBinding, 'NTLM channel binding override') ??
      bindingMode(n['channelBinding'], 'auth.ntlm.channelBinding') ??
      explicitBinding ??
      (!tls ? 'allow' : 'require');
    const targetNames =
      overrides.ntlmTargetNames === undefined
        ? strings(n['targetNames'], 'auth.ntlm.targetNames')
        : overrides.ntlmTargetNames
            .split(',')
            .map((t) => t.trim())
            .filter((t) => t !== '');
    if (targetNames !== undefined && targetNames.length === 0)
      problems.push('auth.ntlm.targetNames must list at least one SPN when given');
    const hostNames = strings(n['hostNames'], 'auth.ntlm.hostNames');
    if (hostNames !== undefined && hostNames.length === 0)
      problems.push('auth.ntlm.hostNames must list at least one host name when given');
    if ((n['smbpasswd'] === undefined) === (n['domainController'] === undefined))
      problems.push('auth.ntlm needs exactly one of smbpasswd, domainController');
    const dnsDomain =
      n['dnsDomain'] === undefined ? undefined : str(n['dnsDomain'], 'auth.ntlm.dnsDomain');
    const domainController =
      n['domainController'] === undefined
        ? undefined
        : parseDomainController(n['domainController'], checks, dnsDomain);
    const computerName =
      n['computerName'] === undefined
        ? undefined
        : str(n['computerName'], 'auth.ntlm.computerName');
    // The DC refuses a logon whose CHALLENGE names another computer than the secure channel's
    // (MS-NRPC §3.5.4.5.1): with a DC the computer name is the machine account's.
    if (
      domainController !== undefined &&
      computerName !== undefined &&
      computerName.toUpperCase() !== machineComputerName(domainController.machineAccount)
    )
      problems.push(
        'auth.ntlm.computerName must be the machine account without $ ' +
          `(${machineComputerName(domainController.machineAccount)}) with domainController, or be left out`,
      );
    ntlm = {
      channelBinding: ntlmBinding,
      ...(targetNames === undefined || targetNames.length === 0 ? {} : { targetNames }),
      ...(hostNames === undefined || hostNames.length === 0 ? {} : { hostNames }),
      allowMissingTargetName: bool(
        n['allowMissingTargetName'],
        'auth.ntlm.allowMissingTargetName',
        false,
      ),
      ...(n['smbpasswd'] === undefined
        ? {}
        : { smbpasswd: file(n['smbpasswd'], 'auth.ntlm.smbpasswd') }),
      ...(domainController === undefined ? {} : { domainController }),
      domain: str(n['domain'], 'auth.ntlm.domain'),
      ...(computerName === undefined ? {} : { computerName }),
      ...(dnsDomain === undefined ? {} : { dnsDomain }),
    };
  }
  let digest: DigestConfig | undefined;
  if (a['digest'] !== undefined) {
    const d = section(a['digest'], 'auth.digest', [
      'file',
      'htdigest',
      'algorithms',
      'nonceLifetimeSec',
      'nonceKeyFile',
    ]);
    if ((d['file'] === undefined) === (d['htdigest'] === undefined))
      problems.push('auth.digest needs exactly one of file, htdigest');
    const algorithms = strings(d['algorithms'], 'auth.digest.algorithms');
    digest = {
      ...(d['file'] === undefined ? {} : { file: file(d['file'], 'auth.digest.file') }),
      ...(d['htdigest'] === undefined
        ? {}
        : { htdigest: file(d['htdigest'], 'auth.digest.htdigest') }),
      ...(algorithms === undefined ? {} : { algorithms }),
      nonceLifetimeSec: num(d['nonceLifetimeSec'], 'auth.digest.nonceLifetimeSec', 300, 1, 86400),
      ...(d['nonceKeyFile'] === undefined
        ? {}
        : { nonceKeyFile: file(d['nonceKeyFile'], 'auth.digest.nonceKeyFile') }),
    };
  }
  let basic: BasicConfig | undefined;
  if (a['basic'] !== undefined) {
    const b = section(a['basic'], 'auth.basic', ['htpasswd', 'allowInsecure']);
    basic = {
      htpasswd: file(b['htpasswd'], 'auth.basic.htpasswd'),
      allowInsecure: bool(b['allowInsecure'], 'auth.basic.allowInsecure', false),
    };
  }

  return {
    realm,
    mechanisms,
    channelBinding,
    ...(negotiate === undefined ? {} : { negotiate }),
    ...(ntlm === undefined ? {} : { ntlm }),
    ...(digest === undefined ? {} : { digest }),
    ...(basic === undefined ? {} : { basic }),
  };
}
