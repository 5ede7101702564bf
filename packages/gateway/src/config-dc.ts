/**
 * `auth.ntlm.domainController`: NTLM pass-through to Active Directory over NETLOGON (MS-NRPC
 * §3.5.4.5.1 NetrLogonSamLogonEx on an AES secure channel), checked by the DCs the gateway's
 * machine account was joined to, instead of an smbpasswd file. The machine secret is read from a
 * file only (never inline in the configuration): its password, or its NT hash as 32 hex digits.
 */
import type { ConfigChecks } from './config-checks.js';
import type { DomainControllerConfig } from './config-types.js';

const PATH = 'auth.ntlm.domainController';
/** `host`, `host:port` or `[v6]:port`, as core's `servers` accepts. */
const SERVER = /^(\[[^\]]+\]|[^:\s[\]]+)(?::(\d{1,5}))?$/;
/** A NetBIOS computer name with an optional trailing `$` (MS-NRPC §3.5.4.4.2 ComputerName). */
const MACHINE_ACCOUNT = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,14}\$?$/;

export function parseDomainController(
  raw: unknown,
  checks: ConfigChecks,
  ntlmDnsDomain: string | undefined,
): DomainControllerConfig {
  const { problems, str, num, file, strings, section } = checks;
  const d = section(raw, PATH, [
    'servers',
    'machineAccount',
    'machinePasswordFile',
    'machineNtHashFile',
    'dnsDomain',
    'timeoutMs',
  ]);
  const servers = strings(d['servers'], `${PATH}.servers`);
  if (servers !== undefined && servers.length === 0)
    problems.push(`${PATH}.servers must list at least one host or host:port when given`);
  for (const server of servers ?? []) {
    const port = SERVER.exec(server)?.[2];
    if (!SERVER.test(server) || (port !== undefined && !(Number(port) > 0 && Number(port) < 65536)))
      problems.push(`${PATH}.servers: "${server}" is not host or host:port`);
  }
  const dnsDomain =
    d['dnsDomain'] === undefined ? undefined : str(d['dnsDomain'], `${PATH}.dnsDomain`);
  if (servers === undefined && dnsDomain === undefined && ntlmDnsDomain === undefined)
    problems.push(`${PATH} needs servers, or dnsDomain for a DNS SRV lookup of the DCs`);
  const machineAccount = str(d['machineAccount'], `${PATH}.machineAccount`);
  if (machineAccount !== '' && !MACHINE_ACCOUNT.test(machineAccount))
    problems.push(
      `${PATH}.machineAccount must be the computer account, e.g. WEB1$ (1 to 15 characters)`,
    );
  if ((d['machinePasswordFile'] === undefined) === (d['machineNtHashFile'] === undefined))
    problems.push(`${PATH} needs exactly one of machinePasswordFile, machineNtHashFile`);
  return {
    ...(servers === undefined || servers.length === 0 ? {} : { servers }),
    machineAccount,
    ...(d['machinePasswordFile'] === undefined
      ? {}
      : { machinePasswordFile: file(d['machinePasswordFile'], `${PATH}.machinePasswordFile`) }),
    ...(d['machineNtHashFile'] === undefined
      ? {}
      : { machineNtHashFile: file(d['machineNtHashFile'], `${PATH}.machineNtHashFile`) }),
    ...(dnsDomain === undefined ? {} : { dnsDomain }),
    timeoutMs: num(d['timeoutMs'], `${PATH}.timeoutMs`, 5000, 100, 60_000),
  };
}

/** The NetBIOS computer name the machine account stands for (`WEB1$` → `WEB1`). */
export function machineComputerName(machineAccount: string): string {
  return machineAccount.replace(/\$$/, '').toUpperCase();
}
