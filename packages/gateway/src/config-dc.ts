/**
 * `auth.ntlm.domainController`: NTLM pass-through to Active Directory over NETLOGON (MS-NRPC
 * §3.5.4.5.1 NetrLogonSamLogonEx on an AES secure channel), checked by the DCs the gateway's
 * machine account was joined to, instead of an smbpasswd file. The machine secret is read from a
 * file only (never inline in the configuration): its password, or its NT hash as 32 hex digits.
 * The machine account's form (MS-NRPC §3.5.4.4.2 ComputerName: up to 15 characters and an
 * optional `$`) and the one-of-two secret files are checked by the schema.
 */
import type { ConfigReader } from './config-checks.js';
import type { DomainControllerConfig } from './config-types.js';

const PATH = 'auth.ntlm.domainController';
/**
 * `host`, `host:port` or `[v6]:port`, as core's `servers` accepts. Checked here rather than in
 * the schema because the port must also be in range, and the problem names the entry.
 */
const SERVER = /^(\[[^\]]+\]|[^:\s[\]]+)(?::(\d{1,5}))?$/;

function serverProblems(servers: readonly string[]): string[] {
  return servers
    .filter((server) => {
      const match = SERVER.exec(server);
      const port = match?.[2];
      return match === null || (port !== undefined && !(Number(port) > 0 && Number(port) < 65536));
    })
    .map((server) => `${PATH}.servers: "${server}" is not host or host:port`);
}

export function parseDomainController(
  raw: unknown,
  read: ConfigReader,
  ntlmDnsDomain: string | undefined,
): DomainControllerConfig {
  const d = read.section(raw);
  const servers = read.strings(d['servers']);
  read.problems.push(...serverProblems(servers ?? []));
  const dnsDomain = read.optionalStr(d['dnsDomain']);
  if (d['servers'] === undefined && d['dnsDomain'] === undefined && ntlmDnsDomain === undefined)
    read.problems.push(`${PATH} needs servers, or dnsDomain for a DNS SRV lookup of the DCs`);
  const machinePasswordFile = read.optionalFile(d['machinePasswordFile']);
  const machineNtHashFile = read.optionalFile(d['machineNtHashFile']);
  return {
    ...(servers === undefined || servers.length === 0 ? {} : { servers }),
    machineAccount: read.str(d['machineAccount'], `${PATH}.machineAccount`),
    ...(machinePasswordFile === undefined ? {} : { machinePasswordFile }),
    ...(machineNtHashFile === undefined ? {} : { machineNtHashFile }),
    ...(dnsDomain === undefined ? {} : { dnsDomain }),
    timeoutMs: read.num(d['timeoutMs'], `${PATH}.timeoutMs`),
  };
}

/** The NetBIOS computer name the machine account stands for (`WEB1$` → `WEB1`). */
export function machineComputerName(machineAccount: string): string {
  return machineAccount.replace(/\$$/, '').toUpperCase();
}
