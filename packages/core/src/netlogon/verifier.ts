/**
 * NTLM pass-through to Active Directory (MS-NRPC), the way a Windows member server does it: the
 * client's response goes to a domain controller over a NETLOGON secure channel
 * (NetrLogonSamLogonEx, ./sam-logon.ts), and only the DC's "yes" accepts the user. The answer
 * carries the user's SID, groups and the session base key, so the acceptor still checks the MIC
 * and derives the session keys itself.
 *
 *   const verifier = domainControllerVerifier({
 *     domain: 'SAMDOM', servers: ['dc1.samdom.test'],
 *     machineAccount: 'WEB1$', machinePasswordFile: '/etc/httpauth/web1.password',
 *   });
 *
 * Failover: the servers are tried in order, starting with the last one that answered; with none
 * given, DNS SRV `_ldap._tcp.dc._msdcs.<dnsDomain>` lists them (RFC 2782 order). When none answers
 * within `timeoutMs`, the verifier throws ERR_HTTPAUTH_DOMAIN_CONTROLLER_UNAVAILABLE (503).
 */
import { Resolver } from 'node:dns/promises';
import { HttpAuthError } from '../errors.js';
import { checkOfLogonStatus } from '../ntlm/failure-detail.js';
import type { NtlmLogonRequest, NtlmLogonResult, NtlmVerifier } from '../ntlm/verifier.js';
import { loadMachineSecret } from './machine-secret.js';
import type { MachineSecretOptions } from './machine-secret.js';
import { logonVerdict, ntStatusName } from './logon-status.js';
import { decodeSamLogonExResponse, encodeSamLogonEx, OPNUM_SAM_LOGON_EX } from './sam-logon.js';
import type { SamInfo4 } from './sam-logon.js';
import { SecureChannel } from './secure-channel.js';
import { RpcError } from './rpc-error.js';

/**
 * A domain controller to ask, with a fixed NETLOGON port or, without one, the port the endpoint
 * mapper on 135 gives.
 */
export interface DomainControllerServer {
  readonly host: string;
  /** NETLOGON's TCP port; omitted: ask the endpoint mapper on 135. */
  readonly port?: number;
}

/**
 * Options of {@link domainControllerVerifier} and of `ntlm({ domainController })`: the DCs (or DNS
 * SRV discovery), the machine account and its secret, the time limit and the connection pool.
 */
export interface DomainControllerOptions extends MachineSecretOptions {
  /** `host`, `host:port` (fixed NETLOGON port) or objects; omitted: DNS SRV lookup. */
  readonly servers?: readonly (string | DomainControllerServer)[];
  /** The machine account this server was joined with, e.g. `WEB1$` (the `$` may be omitted). */
  readonly machineAccount: string;
  /** Bound on one verification across every DC tried (default 5000 ms). */
  readonly timeoutMs?: number;
  /** Pooled connections per DC, i.e. logons in flight per DC (default 4). */
  readonly maxConnections?: number;
  /** DNS domain for the SRV lookup (default: the NTLM domain's DNS name). */
  readonly dnsDomain?: string;
  /** DNS servers for the SRV lookup, e.g. the DCs' own (default: the system's resolvers). */
  readonly dnsServers?: readonly string[];
}

/** What the verifier adds to NtlmLogonResult for the principal. */
export interface DomainLogonResult extends NtlmLogonResult {
  readonly validation: SamInfo4;
}

export interface DomainControllerVerifier extends NtlmVerifier {
  /** The NetBIOS computer name the CHALLENGE must advertise (the account without `$`). */
  readonly computerName: string;
  /**
   * Sends the response to a DC (NetrLogonSamLogonEx, MS-NRPC §3.5.4.5.1) and resolves its
   * validation info, or `undefined` when the DC refuses the credentials.
   */
  verify(request: NtlmLogonRequest): Promise<DomainLogonResult | undefined>;
  /** Close every pooled connection. */
  close(): void;
}

const DEFAULT_TIMEOUT_MS = 5000;
const DEFAULT_MAX_CONNECTIONS = 4;
const SRV_TTL_MS = 10 * 60 * 1000;
const MIN_STEP_TIMEOUT_MS = 250;

function parseServer(value: string | DomainControllerServer): DomainControllerServer {
  if (typeof value === 'object' && value !== null && typeof value.host === 'string') {
    if (value.port !== undefined && !validPort(value.port)) invalid();
    return value;
  }
  if (typeof value !== 'string' || value.length === 0) invalid();
  const match = /^(\[[^\]]+\]|[^:]+)(?::(\d+))?$/.exec(value);
  if (match === null) invalid();
  const host = (match[1] as string).replace(/^\[|\]$/g, '');
  const port = match[2] === undefined ? undefined : Number(match[2]);
  if (port !== undefined && !validPort(port)) invalid();
  return port === undefined ? { host } : { host, port };
}

function validPort(port: number): boolean {
  return Number.isInteger(port) && port > 0 && port < 65536;
}

function invalid(): never {
  throw new HttpAuthError('ERR_HTTPAUTH_INVALID_OPTIONS');
}

function unavailable(reason: string, cause?: unknown): HttpAuthError {
  return new HttpAuthError('ERR_HTTPAUTH_DOMAIN_CONTROLLER_UNAVAILABLE', { cause, reason });
}

/** The operator's reason for an RPC failure: the code, and the NTSTATUS when there was one. */
function rpcReason(error: RpcError): string {
  if (error.code === 'NETLOGON_STATUS' && error.status !== undefined) {
    return `SECURE_CHANNEL_${ntStatusName(error.status)}`;
  }
  if (error.code === 'RPC_FAULT' && error.status !== undefined) {
    return `RPC_FAULT_0x${error.status.toString(16).padStart(8, '0')}`;
  }
  return error.code;
}

/**
 * An NTLM verifier that asks Active Directory, as a Windows member server does: NetrLogonSamLogonEx
 * (MS-NRPC §3.5.4.5.1) over a NETLOGON secure channel with the machine account, trying the DCs in
 * turn. Throws `ERR_HTTPAUTH_INVALID_OPTIONS` on bad options; a logon when no DC answers in time
 * throws `ERR_HTTPAUTH_DOMAIN_CONTROLLER_UNAVAILABLE`.
 */
export function domainControllerVerifier(
  options: DomainControllerOptions & { readonly domain: string },
): DomainControllerVerifier {
  if (options === null || typeof options !== 'object') invalid();
  const domain = options.domain;
  if (typeof domain !== 'string' || !/^[^\\/:*?"<>|]{1,15}$/.test(domain)) invalid();
  if (typeof options.machineAccount !== 'string') invalid();
  const account = options.machineAccount.endsWith('$')
    ? options.machineAccount
    : `${options.machineAccount}$`;
  const computerName = account.slice(0, -1).toUpperCase();
  if (!/^[A-Za-z0-9][A-Za-z0-9_.-]{0,14}$/.test(computerName)) invalid();
  const ntHash = loadMachineSecret(options);
  const timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  const maxConnections = options.maxConnections ?? DEFAULT_MAX_CONNECTIONS;
  if (!Number.isInteger(timeoutMs) || timeoutMs <= 0) invalid();
  if (!Number.isInteger(maxConnections) || maxConnections < 1 || maxConnections > 64) invalid();
  const fixed = options.servers?.map(parseServer);
  if (fixed !== undefined && fixed.length === 0) invalid();
  const dnsDomain = options.dnsDomain;
  if (fixed === undefined && (typeof dnsDomain !== 'string' || dnsDomain.length === 0)) invalid();

  const resolver = new Resolver({ timeout: Math.min(timeoutMs, 2000), tries: 1 });
  if (options.dnsServers !== undefined) {
    try {
      resolver.setServers([...options.dnsServers]);
    } catch (error) {
      throw new HttpAuthError('ERR_HTTPAUTH_INVALID_OPTIONS', { cause: error });
    }
  }
  const channels = new Map<string, SecureChannel>();
  let preferred: string | undefined;
  let discovered: { servers: DomainControllerServer[]; until: number } | undefined;

  /**
   * Each network step (connect, one call) of one DC gets a share of the deadline, so a DC that
   * swallows packets leaves time for the next one in the list.
   */
  const stepTimeout = (serverCount: number): number =>
    Math.max(MIN_STEP_TIMEOUT_MS, Math.floor(timeoutMs / Math.max(1, serverCount)));

  const channelFor = (server: DomainControllerServer, serverCount: number): SecureChannel => {
    const key = `${server.host}|${server.port ?? ''}`;
    let channel = channels.get(key);
    if (channel === undefined) {
      channel = new SecureChannel({
        host: server.host,
        port: server.port,
        domain,
        accountName: account,
        computerName,
        ntHash,
        timeoutMs: stepTimeout(serverCount),
        maxConnections,
      });
      channels.set(key, channel);
    }
    return channel;
  };

  const servers = async (): Promise<DomainControllerServer[]> => {
    if (fixed !== undefined) return fixed;
    if (discovered !== undefined && discovered.until > Date.now()) return discovered.servers;
    let records;
    try {
      records = await resolver.resolveSrv(`_ldap._tcp.dc._msdcs.${dnsDomain as string}`);
    } catch (error) {
      throw unavailable('DNS_SRV_LOOKUP_FAILED', error);
    }
    const found = srvOrder(records).map((host) => ({ host }));
    if (found.length === 0) throw unavailable('DNS_SRV_NO_RECORDS');
    discovered = { servers: found, until: Date.now() + SRV_TTL_MS };
    return found;
  };

  const logonOnce = async (request: NtlmLogonRequest): Promise<DomainLogonResult | undefined> => {
    const list = await servers();
    const ordered = [...list].sort(
      (a, b) => Number(b.host === preferred) - Number(a.host === preferred),
    );
    let lastError: HttpAuthError | undefined;
    for (const server of ordered) {
      const channel = channelFor(server, ordered.length);
      let stub: Buffer;
      try {
        stub = await channel.call(
          OPNUM_SAM_LOGON_EX,
          encodeSamLogonEx({
            logonServer: `\\\\${server.host}`,
            computerName,
            domain: request.domain,
            user: request.user,
            workstation: request.workstation,
            parameterControl: 0,
            serverChallenge: request.serverChallenge,
            ntChallengeResponse: request.ntChallengeResponse,
            lmChallengeResponse: request.lmChallengeResponse,
          }),
        );
      } catch (error) {
        if (!(error instanceof RpcError)) throw error;
        lastError = unavailable(rpcReason(error), error);
        continue;
      }
      let answer;
      try {
        answer = decodeSamLogonExResponse(stub);
      } catch (error) {
        lastError = unavailable(
          error instanceof RpcError ? rpcReason(error) : 'RPC_MALFORMED',
          error,
        );
        continue;
      }
      preferred = server.host;
      if (answer.status !== 0) {
        const verdict = logonVerdict(answer.status);
        if (verdict.kind === 'unavailable') {
          lastError = unavailable(`LOGON_${verdict.reason}`);
          continue;
        }
        throw new HttpAuthError('ERR_HTTPAUTH_BAD_CREDENTIALS', {
          reason: verdict.reason,
          detail: { check: checkOfLogonStatus(verdict.reason) },
        });
      }
      const validation = answer.validation;
      if (validation === undefined || validation.logonDomainId === undefined) {
        lastError = unavailable('LOGON_NO_VALIDATION_INFO');
        continue;
      }
      return resultOf(validation);
    }
    throw lastError ?? unavailable('NO_DOMAIN_CONTROLLER');
  };

  return {
    computerName,
    async verify(request) {
      let timer: NodeJS.Timeout | undefined;
      const deadline = new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(unavailable('TIMEOUT')), timeoutMs);
      });
      try {
        return await Promise.race([logonOnce(request), deadline]);
      } finally {
        clearTimeout(timer);
      }
    },
    close() {
      resolver.cancel();
      for (const channel of channels.values()) channel.close();
      channels.clear();
    },
  };
}

/**
 * SRV targets in the order to try them (RFC 2782): lowest priority first; within one priority,
 * heavier weight first (deterministic instead of weighted-random: a member server prefers the
 * same DC, whose channel it already holds).
 */
export function srvOrder(
  records: readonly { name: string; priority: number; weight: number }[],
): string[] {
  return [...records]
    .sort((a, b) => a.priority - b.priority || b.weight - a.weight)
    .map((record) => record.name);
}

function resultOf(v: SamInfo4): DomainLogonResult {
  const domainSid = v.logonDomainId as string;
  const groupSids: string[] = [];
  const seen = new Set<string>();
  const add = (sid: string): void => {
    if (!seen.has(sid)) {
      seen.add(sid);
      groupSids.push(sid);
    }
  };
  for (const group of v.groupIds) add(`${domainSid}-${group.relativeId}`);
  for (const extra of v.extraSids) add(extra.sid);
  return {
    sessionBaseKey: Buffer.from(v.userSessionKey),
    user: v.effectiveName,
    domain: v.logonDomainName,
    userSid: `${domainSid}-${v.userId}`,
    groupSids,
    logonInfo: {
      logonDomainName: v.logonDomainName,
      logonServer: v.logonServer,
      fullName: v.fullName,
      primaryGroupSid: `${domainSid}-${v.primaryGroupId}`,
      userFlags: v.userFlags,
    },
    ...(v.upn === '' ? {} : { upn: v.upn }),
    ...(v.dnsLogonDomainName === '' ? {} : { dnsDomain: v.dnsLogonDomainName }),
    validation: v,
  };
}
