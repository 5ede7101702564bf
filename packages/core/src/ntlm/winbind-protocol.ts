/**
 * winbind's `ntlm_auth --helper-protocol=ntlm-server-1` line protocol (Samba, source3/utils/
 * ntlm_auth.c): one request is `Key: value` lines closed by a line holding `.`; the helper
 * answers the same way. `Key:: value` carries base64, which is how user and domain names go, so
 * no byte of a client-chosen name can end a line or the request.
 *
 *   LANMAN-Challenge: <8 bytes hex>        the server challenge (the ESS session nonce for v1)
 *   NT-Response: <hex>                     24 bytes (NTLMv1) or the NTLMv2 response
 *   LANMAN-Response: <24 bytes hex>        LM-only logons
 *   Username:: <base64 UTF-8>
 *   NT-Domain:: <base64 UTF-8>
 *   Request-User-Session-Key: Yes
 *   .
 *
 *   Authenticated: Yes                     Authenticated: No
 *   User-Session-Key: <16 bytes hex>       Authentication-Error: NT_STATUS_WRONG_PASSWORD
 *   .                                      .
 *
 * ntlm_auth prints a second `.` after a failed logon and answers `Error: …` to a request it
 * cannot parse; the parser skips empty blocks, and the helper treats anything else unexpected
 * as a broken helper (restarted: its stream can no longer be trusted to be in step).
 */
import { HttpAuthError } from '../errors.js';

export interface HelperRequest {
  readonly challenge: Buffer;
  readonly ntResponse: Buffer;
  readonly lmResponse?: Buffer | undefined;
  readonly user: string;
  readonly domain: string;
}

export type HelperVerdict =
  | { readonly authenticated: true; readonly userSessionKey: Buffer }
  | { readonly authenticated: false; readonly error: string };

/** Largest answer block accepted from a helper; real ones are under 200 bytes. */
export const MAX_HELPER_BLOCK_BYTES = 16 * 1024;

function unavailable(cause: string): never {
  throw new HttpAuthError('ERR_HTTPAUTH_WINBIND_UNAVAILABLE', { cause: new Error(cause) });
}

function base64(value: string): string {
  return Buffer.from(value, 'utf8').toString('base64');
}

/** The request text for one check. Lengths are checked so the helper never answers `Error:`. */
export function formatHelperRequest(request: HelperRequest): string {
  if (request.challenge.length !== 8) unavailable('the challenge is not 8 bytes');
  const lines = [`LANMAN-Challenge: ${request.challenge.toString('hex')}`];
  if (request.ntResponse.length >= 24) {
    lines.push(`NT-Response: ${request.ntResponse.toString('hex')}`);
  } else if (request.lmResponse?.length === 24) {
    lines.push(`LANMAN-Response: ${request.lmResponse.toString('hex')}`);
  } else {
    unavailable('no NT or LM response to check');
  }
  lines.push(`Username:: ${base64(request.user)}`);
  // Without NT-Domain, ntlm_auth asks winbind for its own domain.
  if (request.domain !== '') lines.push(`NT-Domain:: ${base64(request.domain)}`);
  lines.push('Request-User-Session-Key: Yes');
  lines.push('.');
  return `${lines.join('\n')}\n`;
}

/** One answer block (the lines before `.`) as a map; keys lower-cased, `::` values decoded. */
export function parseHelperBlock(lines: readonly string[]): Map<string, string> {
  const fields = new Map<string, string>();
  for (const line of lines) {
    const b64 = line.indexOf(':: ');
    const plain = line.indexOf(': ');
    let key: string;
    let value: string;
    if (b64 > 0 && (plain === -1 || b64 < plain)) {
      key = line.slice(0, b64);
      const encoded = line.slice(b64 + 3);
      if (!/^[A-Za-z0-9+/]*={0,2}$/.test(encoded)) unavailable('bad base64 in the helper answer');
      value = Buffer.from(encoded, 'base64').toString('utf8');
    } else if (plain > 0) {
      key = line.slice(0, plain);
      value = line.slice(plain + 2);
    } else {
      unavailable('a helper line without a key');
    }
    fields.set(key.toLowerCase(), value);
  }
  return fields;
}

/** The verdict of an answer block; anything but a well-formed Yes or No is a broken helper. */
export function helperVerdict(fields: ReadonlyMap<string, string>): HelperVerdict {
  if (fields.has('error')) unavailable('the helper refused the request');
  const answer = fields.get('authenticated');
  if (answer === 'No') {
    return { authenticated: false, error: fields.get('authentication-error') ?? '' };
  }
  if (answer !== 'Yes') unavailable('the helper answered neither Yes nor No');
  const key = fields.get('user-session-key') ?? '';
  if (!/^[0-9a-fA-F]{32}$/.test(key)) unavailable('no 16-byte User-Session-Key');
  return { authenticated: true, userSessionKey: Buffer.from(key, 'hex') };
}

/**
 * Failures that mean "these credentials do not log on" (MS-ERREF §2.3): the client gets a 401.
 * ntlm_auth prints winbind's friendly text of the NTSTATUS (Samba's nt_err_desc table), older
 * builds the NTSTATUS name; both are matched. Any other failure (winbindd not running: "Reading
 * winbind reply failed!", no logon servers, the privileged pipe refused) is the service's problem
 * and answers 503: good credentials are never silently refused. NO_SUCH_DOMAIN is left out on
 * purpose: its text ("either does not exist or could not be contacted") covers an outage too.
 */
const CREDENTIAL_FAILURES: readonly RegExp[] = [
  /\bNT_STATUS_(LOGON_FAILURE|WRONG_PASSWORD|NO_SUCH_USER|ACCOUNT_(DISABLED|LOCKED_OUT|EXPIRED|RESTRICTION)|PASSWORD_(EXPIRED|MUST_CHANGE)|INVALID_LOGON_HOURS|INVALID_WORKSTATION|LOGON_TYPE_NOT_GRANTED)\b/,
  /attempted logon is invalid/i, // LOGON_FAILURE
  /current password is not correct/i, // WRONG_PASSWORD
  /specified account does not exist/i, // NO_SUCH_USER
  /account is currently disabled|account currently disabled/i, // ACCOUNT_DISABLED
  /automatically locked/i, // ACCOUNT_LOCKED_OUT
  /account has expired/i, // ACCOUNT_EXPIRED
  /password has expired|password must be changed/i, // PASSWORD_EXPIRED, PASSWORD_MUST_CHANGE
  /account restriction has prevented/i, // ACCOUNT_RESTRICTION
  /time restrictions/i, // INVALID_LOGON_HOURS
  /from the source workstation/i, // INVALID_WORKSTATION
  /not been granted the requested logon type/i, // LOGON_TYPE_NOT_GRANTED
];

export function isCredentialFailure(error: string): boolean {
  return CREDENTIAL_FAILURES.some((pattern) => pattern.test(error));
}

/**
 * Splits helper output into answer blocks. Bounded: a block longer than MAX_HELPER_BLOCK_BYTES
 * is garbage, and so is output that is not text lines.
 */
export class HelperOutputReader {
  #partial = '';
  #lines: string[] = [];
  #blockBytes = 0;

  /** Feed output; returns the complete non-empty blocks it finished. Throws on garbage. */
  push(chunk: string): string[][] {
    const blocks: string[][] = [];
    const parts = (this.#partial + chunk).split('\n');
    this.#partial = parts.pop() as string;
    for (const raw of parts) {
      const line = raw.endsWith('\r') ? raw.slice(0, -1) : raw;
      this.#blockBytes += line.length + 1;
      if (line === '.') {
        if (this.#lines.length > 0) blocks.push(this.#lines);
        this.#lines = [];
        this.#blockBytes = 0;
      } else {
        this.#lines.push(line);
      }
      if (this.#blockBytes > MAX_HELPER_BLOCK_BYTES) unavailable('oversized helper answer');
    }
    if (this.#partial.length + this.#blockBytes > MAX_HELPER_BLOCK_BYTES) {
      unavailable('oversized helper answer');
    }
    if (/\0/.test(chunk)) unavailable('binary helper output');
    return blocks;
  }
}
