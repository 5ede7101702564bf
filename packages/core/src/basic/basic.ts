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
import { kerberosPasswordCheck, type BasicKerberosOptions } from './kerberos.js';

export type { BasicKerberosOptions } from './kerberos.js';

/** process.emitWarning code for Basic over Kerberos allowed on plain HTTP. */
export const BASIC_KERBEROS_INSECURE_WARNING = 'HTTPAUTH_BASIC_KERBEROS_INSECURE';

/** The operator-only detail of a refusal: who tried (never the password). */
const attempted = (user: string) => ({ user: attemptedName(user) });

/**
 * Your password check for `basic({ verify })`: true when `password` is right for `user`. A throw or
 * a rejected promise is answered with ERR_HTTPAUTH_CREDENTIAL_SOURCE_FAILED, never a crash.
 */
export type BasicVerifier = (user: string, password: string) => boolean | Promise<boolean>;

/**
 * Options of `basic()`, the HTTP Basic package (RFC 7617): the realm and how passwords are checked
 * (`verify`, or `kerberos` to ask the realm's KDC). Basic is refused over plain HTTP unless
 * `allowInsecure` is set.
 */
export interface BasicOptions {
  /** The protection space shown to the user (RFC 7617 §2 realm). */
  readonly realm: string;
  /** Answers whether the password is right: your code, or `htpasswdFile(path)`. */
  readonly verify?: BasicVerifier;
  /**
   * Check passwords with the realm's Kerberos KDC instead of `verify` (docs/basic.md, "Kerberos
   * passwords"); the principal is then `user@REALM`.
   */
  readonly kerberos?: BasicKerberosOptions;
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
    // Exactly one way to check passwords.
    (typeof options.verify === 'function') === (options.kerberos !== undefined)
  ) {
    throw new HttpAuthError('ERR_HTTPAUTH_INVALID_OPTIONS');
  }
  const realm = options.realm;
  const allowInsecure = options.allowInsecure === true;
  const kerberos =
    options.kerberos === undefined ? undefined : kerberosPasswordCheck(options.kerberos);
  if (kerberos !== undefined && allowInsecure) {
    process.emitWarning(
      'Basic with Kerberos passwords is allowed over plain HTTP (allowInsecure): domain ' +
        'passwords cross the network in the clear. Use it for local tests only.',
      { code: BASIC_KERBEROS_INSECURE_WARNING },
    );
  }
  const verify = async (user: string, password: string): Promise<Principal | undefined> => {
    if (kerberos !== undefined) {
      const verified = await kerberos(user, password);
      return {
        name: verified.principal,
        user: verified.user,
        realm: verified.realm,
        mechanism: 'Basic',
      };
    }
    const ok = (await (options.verify as BasicVerifier)(user, password)) === true;
    return ok ? { name: user, user, realm, mechanism: 'Basic' } : undefined;
  };
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
    let principal: Principal | undefined;
    try {
      principal = await verify(user, password);
    } catch (error) {
      // A refusal from the KDC (locked, expired, unverified) names the user for the operator too.
      if (isHttpAuthError(error)) {
        if (error.detail !== undefined) throw error;
        throw new HttpAuthError(error.code, {
          cause: error,
          ...(error.reason === undefined ? {} : { reason: error.reason }),
          detail: attempted(user),
        });
      }
      return fail('ERR_HTTPAUTH_CREDENTIAL_SOURCE_FAILED', error);
    }
    if (principal === undefined) {
      throw new HttpAuthError('ERR_HTTPAUTH_BAD_CREDENTIALS', { detail: attempted(user) });
    }
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
