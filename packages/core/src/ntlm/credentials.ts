/**
 * Where NTLM gets its verdict: the verifier interface, and the local sources built on it.
 *
 * An NTLM acceptor never sees a password. Either it holds the account's NT hash (NTOWFv1, what
 * Samba's smbpasswd and Windows' SAM store) and recomputes the client's proof itself, or it hands
 * the exchange to a domain controller, the one party holding domain accounts' hashes: winbind's
 * ntlm_auth, NETLOGON's NetrLogonSamLogonEx, which check the proof and answer with the session
 * base key and, for NETLOGON, the user's SIDs. Both shapes implement `NtlmVerifier`, so the
 * acceptor (MIC, key exchange, channel binding, policy) is the same whichever answers.
 */
import { randomBytes } from 'node:crypto';
import { md4 } from '../crypto/md4.js';
import { HttpAuthError, fail, isHttpAuthError } from '../errors.js';
import { domainControllerVerifier } from '../netlogon/verifier.js';
import type { DomainControllerOptions } from '../netlogon/verifier.js';
import { desl, ntlmv1Challenge, ntowfv2, ntProofStr, sessionBaseKeyV2 } from './keys.js';
import { NTLMV1_RESPONSE_LENGTH, NT_PROOF_LENGTH } from './ntlmv2-response.js';
import { bytesEqual as sameBytes } from '../crypto/constant-time.js';
import type { NtlmVerifier } from './verifier.js';

export type { NtlmLogonRequest, NtlmLogonResult, NtlmVerifier } from './verifier.js';

/** One account of a local source. */
export interface NtHashEntry {
  /** NTOWFv1 (MD4 of the UTF-16LE password), 16 bytes. */
  readonly ntHash: Buffer;
  /** LMOWFv1, 16 bytes; only used when LM responses are explicitly allowed. */
  readonly lmHash?: Buffer;
  readonly disabled?: boolean;
  /** Canonical account name. */
  readonly user?: string;
  readonly groups?: readonly string[];
}

/** A callback source: the NT hash (or a fuller entry) of `user`, or undefined when unknown. */
export type NtHashLookup = (
  user: string,
  domain: string,
) => Buffer | NtHashEntry | undefined | Promise<Buffer | NtHashEntry | undefined>;

// Unknown and disabled accounts are checked against this so they cost what a real check costs.
const DUMMY_HASH = randomBytes(16);
const ACCOUNT = { check: 'account' } as const;
const PROOF = { check: 'proof' } as const;

/**
 * A verifier over NT hashes: NTLMv2 (and NTLMv1 / LM when the acceptor lets those through).
 * The acceptor applies the version policy before calling it.
 */
export function ntHashVerifier(lookup: NtHashLookup): NtlmVerifier {
  return {
    async verify(request) {
      let found: Buffer | NtHashEntry | undefined;
      try {
        found = await lookup(request.user, request.domain);
      } catch (error) {
        if (isHttpAuthError(error)) throw error;
        throw new HttpAuthError('ERR_HTTPAUTH_CREDENTIAL_SOURCE_FAILED', { cause: error });
      }
      const entry: NtHashEntry | undefined = Buffer.isBuffer(found) ? { ntHash: found } : found;
      const usable = entry !== undefined && entry.disabled !== true && entry.ntHash.length === 16;
      const ntHash = usable ? entry.ntHash : DUMMY_HASH;
      const nt = request.ntChallengeResponse;
      const lm = request.lmChallengeResponse;
      let sessionBaseKey: Buffer | undefined;

      if (nt.length > NTLMV1_RESPONSE_LENGTH) {
        // NTLMv2 (MS-NLMP 3.3.2): the user name is upper-cased inside NTOWFv2, the domain is not.
        const responseKey = ntowfv2(ntHash, request.user, request.domain);
        const proof = ntProofStr(
          responseKey,
          request.serverChallenge,
          nt.subarray(NT_PROOF_LENGTH),
        );
        if (sameBytes(proof, nt.subarray(0, NT_PROOF_LENGTH))) {
          sessionBaseKey = sessionBaseKeyV2(responseKey, proof);
        }
        responseKey.fill(0);
      } else if (nt.length === NTLMV1_RESPONSE_LENGTH) {
        // NTLMv1 (MS-NLMP 3.3.1), with or without extended session security.
        const expected = desl(ntHash, ntlmv1Challenge(request.flags, request.serverChallenge, lm));
        if (sameBytes(expected, nt)) sessionBaseKey = md4(ntHash);
      } else if (lm.length === NTLMV1_RESPONSE_LENGTH) {
        // LM only: the weakest form, reachable only with allowLm.
        const lmHash = usable && entry.lmHash?.length === 16 ? entry.lmHash : DUMMY_HASH;
        const expected = desl(lmHash, request.serverChallenge);
        if (sameBytes(expected, lm) && lmHash !== DUMMY_HASH) {
          sessionBaseKey = Buffer.concat([lmHash.subarray(0, 8), Buffer.alloc(8)]);
        }
      } else {
        fail('ERR_HTTPAUTH_NTLM_MALFORMED');
      }
      // The same work for an unknown account as for a wrong password (the client learns neither);
      // the operator's detail says which (failure-detail.ts).
      if (!usable) throw new HttpAuthError('ERR_HTTPAUTH_BAD_CREDENTIALS', { detail: ACCOUNT });
      if (sessionBaseKey === undefined) {
        throw new HttpAuthError('ERR_HTTPAUTH_BAD_CREDENTIALS', { detail: PROOF });
      }
      return {
        sessionBaseKey,
        ...(entry.user === undefined ? {} : { user: entry.user }),
        ...(entry.groups === undefined ? {} : { groups: entry.groups }),
      };
    },
  };
}

/**
 * The verifier for the acceptor's options: `credentials`, or `domainController` (NTLM pass-through
 * over NETLOGON, ../netlogon/verifier.ts). With a DC, the CHALLENGE must name this server by its
 * machine account (MsvAvNbComputerName = account without `$`, or the DC refuses every logon), so
 * the computer name comes from the account; a different explicit `computerName` is a config error.
 */
export function verifierFromOptions(
  options: {
    readonly credentials?: NtlmVerifier | NtHashLookup;
    readonly domainController?: DomainControllerOptions;
    readonly computerName?: unknown;
  },
  domain: { readonly netbios: string; readonly dns: string },
): { verifier: NtlmVerifier; computerName?: string } {
  const dc = options.domainController;
  if (dc === undefined) {
    if (options.credentials === undefined) throw new HttpAuthError('ERR_HTTPAUTH_INVALID_OPTIONS');
    return { verifier: toVerifier(options.credentials) };
  }
  if (options.credentials !== undefined) throw new HttpAuthError('ERR_HTTPAUTH_INVALID_OPTIONS');
  const verifier = domainControllerVerifier({
    ...dc,
    domain: domain.netbios,
    dnsDomain: dc.dnsDomain ?? domain.dns,
  });
  const explicit = options.computerName;
  const explicitName =
    typeof explicit === 'string' ? explicit : (explicit as NtlmNameLike)?.netbios;
  if (explicitName !== undefined && explicitName.toUpperCase() !== verifier.computerName) {
    verifier.close();
    throw new HttpAuthError('ERR_HTTPAUTH_INVALID_OPTIONS');
  }
  return { verifier, computerName: verifier.computerName };
}

interface NtlmNameLike {
  readonly netbios?: string;
}

/** Accepts a verifier or a callback, as the `credentials` option does. */
export function toVerifier(source: NtlmVerifier | NtHashLookup): NtlmVerifier {
  if (typeof source === 'function') return ntHashVerifier(source);
  if (source !== null && typeof source === 'object' && typeof source.verify === 'function') {
    return source;
  }
  throw new HttpAuthError('ERR_HTTPAUTH_INVALID_OPTIONS');
}
