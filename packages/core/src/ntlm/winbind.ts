/**
 * NTLM through winbind, for hosts joined to a domain with Samba (`net ads join`): the DC checks
 * the response through winbindd's NETLOGON secure channel, and winbind's `ntlm_auth` helper
 * hands back the User-Session-Key (the MS-NLMP 3.3 session base key), so this acceptor still
 * checks the MIC, the channel binding and the target name itself.
 *
 *   ntlm({ domain: 'SAMDOM', winbind: true })
 *   ntlm({ domain: 'SAMDOM', winbind: { poolSize: 8, timeoutMs: 5_000 } })
 *
 * The process must be allowed on winbindd's privileged pipe (member of the group owning
 * /var/lib/samba/winbindd_privileged, usually `winbindd_priv`), as for Squid's ntlm_auth.
 * After a logon, `wbinfo` gives the account's canonical name, its SID and its group SIDs
 * (nested groups included: winbind expands them from the logon's validation info); names for
 * the SIDs come from the authenticator's `directory` option. When wbinfo fails the logon still
 * succeeds, without SIDs, and an `httpauth:warning` event says ERR_HTTPAUTH_WINBIND_UNAVAILABLE.
 */
import { execFile } from 'node:child_process';
import { attemptedName, HttpAuthError } from '../errors.js';
import { checkOfLogonStatus } from './failure-detail.js';
import { publishWarning } from '../events.js';
import { canonicalSid } from '../directory/sid.js';
import type {
  NtHashLookup,
  NtlmLogonRequest,
  NtlmLogonResult,
  NtlmVerifier,
} from './credentials.js';
import { ntlmv1Challenge } from './keys.js';
import { NTLMV1_RESPONSE_LENGTH } from './ntlmv2-response.js';
import { HelperPool } from './winbind-helper.js';
import { formatHelperRequest, helperVerdict, isCredentialFailure } from './winbind-protocol.js';

/**
 * Options of {@link winbindVerifier} and of `ntlm({ winbind })`: where the `ntlm_auth` and `wbinfo`
 * helpers are, the domain, the helper pool and its queue, and the timeout.
 */
export interface WinbindOptions {
  /** NetBIOS domain sent when the client names none (default: winbind's own domain). */
  readonly domain?: string;
  /** The helper (default `ntlm_auth` on the PATH). */
  readonly ntlmAuthPath?: string;
  /** Extra helper arguments, e.g. `--configfile=/etc/samba/smb.conf`. */
  readonly ntlmAuthArgs?: readonly string[];
  /** `wbinfo` for the account's SIDs (default `wbinfo` on the PATH). */
  readonly wbinfoPath?: string;
  /** Ask wbinfo for the canonical name, user SID and group SIDs after a logon (default true). */
  readonly groups?: boolean;
  /** Most helper processes (default 4). */
  readonly poolSize?: number;
  /** Most checks waiting for a helper before new ones fail with 503 (default 256). */
  readonly maxQueue?: number;
  /** How long one check or one wbinfo call may take (default 10 s). */
  readonly timeoutMs?: number;
  /** Environment of the helpers (default: this process's). */
  readonly env?: NodeJS.ProcessEnv;
}

export interface WinbindVerifier extends NtlmVerifier {
  /** Live helper processes. */
  readonly processes: number;
  /** Stop the helpers (they also exit with this process). */
  close(): void;
}

const MAX_WBINFO_OUTPUT = 1 << 20;

function invalid(): never {
  throw new HttpAuthError('ERR_HTTPAUTH_INVALID_OPTIONS');
}

function count(value: number | undefined, fallback: number): number {
  const chosen = value ?? fallback;
  if (!Number.isInteger(chosen) || chosen <= 0) invalid();
  return chosen;
}

/** The challenge the helper must check against (MS-NLMP 3.3.1: the ESS nonce for NTLMv1). */
function helperChallenge(request: NtlmLogonRequest): Buffer {
  if (request.ntChallengeResponse.length === NTLMV1_RESPONSE_LENGTH) {
    return ntlmv1Challenge(request.flags, request.serverChallenge, request.lmChallengeResponse);
  }
  return Buffer.from(request.serverChallenge);
}

function runWbinfo(
  path: string,
  args: readonly string[],
  timeoutMs: number,
  env: NodeJS.ProcessEnv | undefined,
): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(
      path,
      [...args],
      { timeout: timeoutMs, maxBuffer: MAX_WBINFO_OUTPUT, env: env ?? process.env },
      (error, stdout) => (error === null ? resolve(String(stdout)) : reject(error)),
    );
  });
}

/** `wbinfo -n` prints `S-1-5-21-… SID_USER (1)`; `-s` prints `DOMAIN\name 1`. */
export function parseNameToSid(output: string): string | undefined {
  const sid = /^(S-1-[0-9-]+)\s+SID_USER\b/m.exec(output)?.[1];
  return sid === undefined ? undefined : canonicalSid(sid);
}

export function parseSidToName(output: string): { domain: string; user: string } | undefined {
  const match = /^([^\\\n]+)\\(.+) 1$/m.exec(output.trimEnd());
  return match === null ? undefined : { domain: match[1] as string, user: match[2] as string };
}

/** `wbinfo --user-sids` prints one SID a line. */
export function parseSidList(output: string): string[] {
  const sids: string[] = [];
  for (const line of output.split('\n')) {
    const trimmed = line.trim();
    if (trimmed === '') continue;
    const sid = canonicalSid(trimmed);
    if (sid === undefined) throw new Error('wbinfo printed something that is not a SID');
    if (!sids.includes(sid)) sids.push(sid);
  }
  return sids;
}

/**
 * An NTLM verifier that asks the domain through winbind's `ntlm_auth` helpers (a host joined with
 * Samba), then `wbinfo` for the account's SIDs. Throws `ERR_HTTPAUTH_INVALID_OPTIONS` on bad
 * options.
 */
export function winbindVerifier(options: WinbindOptions = {}): WinbindVerifier {
  if (options === null || typeof options !== 'object') invalid();
  if (
    options.domain !== undefined &&
    (typeof options.domain !== 'string' || options.domain === '')
  ) {
    invalid();
  }
  const timeoutMs = count(options.timeoutMs, 10_000);
  const wbinfo = options.wbinfoPath ?? 'wbinfo';
  const wantGroups = options.groups ?? true;
  if (typeof wantGroups !== 'boolean' || typeof wbinfo !== 'string') invalid();
  const args = options.ntlmAuthArgs ?? [];
  if (!Array.isArray(args) || args.some((arg) => typeof arg !== 'string')) invalid();
  const pool = new HelperPool({
    command: options.ntlmAuthPath ?? 'ntlm_auth',
    args: [...args, '--helper-protocol=ntlm-server-1'],
    env: options.env,
    size: count(options.poolSize, 4),
    maxQueue: count(options.maxQueue, 256),
    timeoutMs,
  });

  /** Canonical name, user SID and group SIDs; undefined (with a warning) when wbinfo fails. */
  async function accountFacts(domain: string, user: string) {
    try {
      const run = (wbArgs: string[]) => runWbinfo(wbinfo, wbArgs, timeoutMs, options.env);
      const userSid = parseNameToSid(await run([`--name-to-sid=${domain}\\${user}`]));
      if (userSid === undefined) throw new Error('wbinfo gave no user SID');
      const [name, groups] = await Promise.all([
        run([`--sid-to-name=${userSid}`]),
        run([`--user-sids=${userSid}`]),
      ]);
      const canonical = parseSidToName(name);
      const groupSids = parseSidList(groups).filter((sid) => sid !== userSid);
      return { userSid, groupSids, ...canonical };
    } catch {
      publishWarning({ code: 'ERR_HTTPAUTH_WINBIND_UNAVAILABLE', source: 'winbind' });
      return undefined;
    }
  }

  return {
    get processes() {
      return pool.processes;
    },
    close() {
      pool.close();
    },
    async verify(request: NtlmLogonRequest): Promise<NtlmLogonResult | undefined> {
      const domain = request.domain !== '' ? request.domain : (options.domain ?? '');
      const text = formatHelperRequest({
        challenge: helperChallenge(request),
        ntResponse: request.ntChallengeResponse,
        lmResponse: request.lmChallengeResponse,
        user: request.user,
        domain,
      });
      const verdict = helperVerdict(await pool.request(text));
      if (!verdict.authenticated) {
        if (isCredentialFailure(verdict.error)) {
          // ntlm_auth's NT_STATUS for the operator (never the client): a wrong password or an
          // account that may not log on.
          const reason = attemptedName(verdict.error);
          throw new HttpAuthError('ERR_HTTPAUTH_BAD_CREDENTIALS', {
            reason,
            detail: { check: checkOfLogonStatus(reason) },
          });
        }
        throw new HttpAuthError('ERR_HTTPAUTH_WINBIND_UNAVAILABLE', {
          cause: new Error(verdict.error),
        });
      }
      const facts =
        wantGroups && domain !== '' ? await accountFacts(domain, request.user) : undefined;
      return {
        sessionBaseKey: verdict.userSessionKey,
        ...(facts?.user === undefined ? {} : { user: facts.user, domain: facts.domain }),
        ...(facts === undefined ? {} : { userSid: facts.userSid, groupSids: facts.groupSids }),
        ...(facts === undefined && domain !== '' ? { domain: domain.toUpperCase() } : {}),
      };
    },
  };
}

/**
 * The `credentials` for ntlm(): the given ones, or a winbind verifier when `winbind` is set
 * (never both: which one answers must be unambiguous).
 */
export function winbindCredentials(options: {
  readonly credentials?: NtlmVerifier | NtHashLookup;
  readonly winbind?: boolean | WinbindOptions;
  readonly domainController?: unknown;
  readonly domain?: string | { readonly netbios: string };
}): NtlmVerifier | NtHashLookup | undefined {
  if (options === null || typeof options !== 'object') invalid();
  const winbind = options.winbind ?? false;
  // Without winbind the acceptor picks the source: `credentials` or `domainController`.
  if (winbind === false) return options.credentials;
  // One source only: winbind never silently wins over another configured source.
  if (options.credentials !== undefined || options.domainController !== undefined) invalid();
  if (winbind !== true && (winbind === null || typeof winbind !== 'object')) invalid();
  const domain = typeof options.domain === 'string' ? options.domain : options.domain?.netbios;
  const settings: WinbindOptions = winbind === true ? {} : winbind;
  return winbindVerifier({ ...(domain === undefined ? {} : { domain }), ...settings });
}
