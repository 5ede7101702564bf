/**
 * The Basic security package, RFC 7617. Opt-in: the password crosses the wire in the clear
 * (base64 is not encryption), so the package refuses plain HTTP unless `allowInsecure` is set,
 * and then is not even offered in challenges on plain HTTP. Every refusal (insecure transport,
 * malformed token, wrong password, a verifier that fails) is a `reject` result, never a throw.
 */
import { attemptedName, HttpAuthError, fail, isHttpAuthError } from '../errors.js';
import { formatChallenge, hasControl } from '../grammar/http-auth.js';
import type {
  AcceptContext,
  AcceptResult,
  Credentials,
  SecurityPackage,
} from '../security-package.js';
import { rejectRefusals } from '../security-package.js';
import type { Principal } from '../principal.js';
import { decodeBasicToken } from './credentials.js';

export type BasicVerifier = (user: string, password: string) => boolean | Promise<boolean>;

export interface BasicOptions {
  /** The protection space shown to the user (RFC 7617 §2 realm). */
  readonly realm: string;
  /** Answers whether the password is right: your code, or `htpasswdFile(path)`. */
  readonly verify: BasicVerifier;
  /** Accept Basic over plain HTTP (`AuthRequest.secure` false). Off by default. */
  readonly allowInsecure?: boolean;
}

/** Create the Basic security package. Throws ERR_HTTPAUTH_INVALID_OPTIONS on bad options. */
export function basic(options: BasicOptions): SecurityPackage {
  if (
    typeof options !== 'object' ||
    options === null ||
    typeof options.realm !== 'string' ||
    options.realm === '' ||
    hasControl(options.realm) ||
    typeof options.verify !== 'function'
  ) {
    throw new HttpAuthError('ERR_HTTPAUTH_INVALID_OPTIONS');
  }
  const realm = options.realm;
  const verify = options.verify;
  const allowInsecure = options.allowInsecure === true;
  // RFC 7617 §2.1: announce UTF-8; the realm goes out as its UTF-8 octets.
  const challenge = formatChallenge('Basic', [
    ['realm', Buffer.from(realm, 'utf8').toString('latin1')],
    ['charset', 'UTF-8'],
  ]);

  /** The checks of accept(), in order; the first that fails throws its HttpAuthError. */
  async function verifyCredentials(
    credentials: Credentials,
    context: AcceptContext,
  ): Promise<AcceptResult> {
    if (!context.request.secure && !allowInsecure) fail('ERR_HTTPAUTH_INSECURE_TRANSPORT');
    if (credentials.token68 === undefined) fail('ERR_HTTPAUTH_BASIC_MALFORMED');
    const { user, password } = decodeBasicToken(credentials.token68);
    let ok: boolean;
    try {
      ok = (await verify(user, password)) === true;
    } catch (error) {
      if (isHttpAuthError(error)) throw error;
      return fail('ERR_HTTPAUTH_CREDENTIAL_SOURCE_FAILED', error);
    }
    if (!ok) {
      throw new HttpAuthError('ERR_HTTPAUTH_BAD_CREDENTIALS', {
        detail: { user: attemptedName(user) },
      });
    }
    const principal: Principal = { name: user, user, realm, mechanism: 'Basic' };
    return { type: 'complete', principal };
  }

  return {
    name: 'Basic',
    scheme: 'Basic',
    connectionBound: false,
    challenges: (request) => (request.secure || allowInsecure ? [challenge] : []),
    accept: (credentials, context) => rejectRefusals(() => verifyCredentials(credentials, context)),
  };
}
