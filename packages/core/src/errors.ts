// size: every stable error code in one table (docs/errors.md mirrors it, a test compares).
/**
 * Stable error codes. Every failure that leaves the engine carries one of these codes and a fixed
 * message: no token bytes, user names or passwords ever appear in an error or in a log line.
 *
 * Each code has a `kind` that says what the adapter should answer. Only the authenticator and the
 * adapters turn a kind into an HTTP status (see `statusForKind`):
 *  - `malformed`   400: the request is not well-formed (bad header grammar, undecodable token)
 *  - `denied`      401: well-formed credentials that do not authenticate (a new challenge follows)
 *  - `forbidden`   403: authenticated, but policy refuses this principal
 *  - `unavailable` 503: a dependency (store, domain controller) cannot answer; retry later
 *  - `config`      thrown at start-up for invalid options; never reaches a client
 *
 * The table in docs/errors.md documents every code; a test keeps the two in step.
 */
export type ErrorKind = 'malformed' | 'denied' | 'forbidden' | 'unavailable' | 'config';

/** One entry of {@link ERROR_CODES}: the error's kind (its HTTP status) and fixed message. */
export interface ErrorSpec {
  readonly kind: ErrorKind;
  readonly message: string;
}

function spec(kind: ErrorKind, message: string): ErrorSpec {
  return { kind, message };
}

/**
 * Every stable error code with its kind (which decides the HTTP status) and its fixed message; the
 * table in docs/errors.md lists the same codes.
 */
export const ERROR_CODES = {
  // --- HTTP framing (RFC 9110 §11) ---
  ERR_HTTPAUTH_CREDENTIALS_REQUIRED: spec('denied', 'Authentication is required'),
  ERR_HTTPAUTH_HANDSHAKE_CONTINUE: spec(
    'denied',
    'The authentication handshake continues: answer the challenge',
  ),
  ERR_HTTPAUTH_HEADER_MALFORMED: spec('malformed', 'The authorization header is not well-formed'),
  ERR_HTTPAUTH_HEADER_TOO_LARGE: spec('malformed', 'The authorization header is too large'),
  ERR_HTTPAUTH_MULTIPLE_CREDENTIALS: spec(
    'malformed',
    'More than one set of credentials was sent in one request',
  ),
  ERR_HTTPAUTH_SCHEME_UNSUPPORTED: spec('denied', 'The authentication scheme is not offered here'),
  ERR_HTTPAUTH_CONNECTION_REQUIRED: spec(
    'malformed',
    'This scheme authenticates a connection and needs one to keep its handshake on',
  ),
  ERR_HTTPAUTH_HTTP11_REQUIRED: spec(
    'malformed',
    'This scheme authenticates a connection: retry the request over HTTP/1.1 (HTTP_1_1_REQUIRED)',
  ),
  ERR_HTTPAUTH_TOO_MANY_HANDSHAKES: spec(
    'unavailable',
    'Too many authentication handshakes are pending; try again later',
  ),
  ERR_HTTPAUTH_CLIENT_HANDSHAKE_QUOTA: spec(
    'unavailable',
    'Too many authentication handshakes are pending from this client; try again later',
  ),
  ERR_HTTPAUTH_HANDSHAKE_EXPIRED: spec(
    'denied',
    'The authentication handshake on this connection expired or was never started',
  ),
  ERR_HTTPAUTH_INSECURE_TRANSPORT: spec(
    'denied',
    'This scheme is refused over an unencrypted connection',
  ),
  ERR_HTTPAUTH_STORE_UNAVAILABLE: spec(
    'unavailable',
    'The replay and nonce store cannot be reached; try again later',
  ),
  ERR_HTTPAUTH_STORE_QUOTA: spec(
    'unavailable',
    'This principal holds too many live replay and nonce entries; try again later',
  ),
  ERR_HTTPAUTH_INTERNAL: spec('unavailable', 'The authentication engine failed unexpectedly'),
  ERR_HTTPAUTH_BODY_TOO_LARGE: spec(
    'malformed',
    'The request body is too large to check its integrity (Digest auth-int)',
  ),
  ERR_HTTPAUTH_BODY_UNREADABLE: spec(
    'malformed',
    'The request body could not be read to check its integrity (Digest auth-int)',
  ),

  // --- Options (thrown at registration) ---
  ERR_HTTPAUTH_INVALID_OPTIONS: spec('config', 'The authentication options are invalid'),

  // --- Credentials (any package) ---
  ERR_HTTPAUTH_BAD_CREDENTIALS: spec('denied', 'The credentials were not accepted'),
  ERR_HTTPAUTH_CREDENTIAL_SOURCE_FAILED: spec(
    'unavailable',
    'The credential source failed to answer',
  ),
  ERR_HTTPAUTH_DOMAIN_CONTROLLER_UNAVAILABLE: spec(
    'unavailable',
    'No domain controller answered in time; try again later',
  ),

  // --- Kerberos client (Basic verified by the KDC) ---
  ERR_HTTPAUTH_ACCOUNT_LOCKED: spec(
    'denied',
    'The account may not log on now (locked, disabled or revoked)',
  ),
  ERR_HTTPAUTH_PASSWORD_EXPIRED: spec('denied', 'The password has expired and must be changed'),
  ERR_HTTPAUTH_KDC_UNAVAILABLE: spec('unavailable', 'No Kerberos KDC answered; try again later'),
  ERR_HTTPAUTH_KDC_ERROR: spec(
    'unavailable',
    'The Kerberos KDC refused the request or sent a reply that does not fit it',
  ),
  ERR_HTTPAUTH_KDC_UNVERIFIED: spec(
    'denied',
    "The KDC's answer could not be verified with the service's keytab (a spoofed KDC?)",
  ),
  ERR_HTTPAUTH_KDC_FAST_REQUIRED: spec(
    'unavailable',
    'The Kerberos KDC requires FAST armoring (RFC 6113) for this logon',
  ),

  // --- Constrained delegation (MS-SFU S4U2Self / S4U2Proxy) and calling backends ---
  ERR_HTTPAUTH_DELEGATION_TARGET_NOT_ALLOWED: spec(
    'forbidden',
    'The backend service is not in the constrained delegation allow list',
  ),
  ERR_HTTPAUTH_DELEGATION_NOT_FORWARDABLE: spec(
    'forbidden',
    "The user's ticket is not forwardable: the account is sensitive or the service may not delegate it",
  ),
  ERR_HTTPAUTH_DELEGATION_REFUSED: spec(
    'forbidden',
    'The KDC refused to delegate the user to this backend service (S4U2Proxy)',
  ),
  ERR_HTTPAUTH_MUTUAL_AUTH_FAILED: spec(
    'unavailable',
    'The backend service did not prove its identity (no valid Kerberos AP-REP)',
  ),

  ERR_HTTPAUTH_DIRECTORY_UNAVAILABLE: spec(
    'unavailable',
    'The directory could not name the group SIDs; the logon goes on with SIDs only',
  ),
  ERR_HTTPAUTH_WINBIND_UNAVAILABLE: spec(
    'unavailable',
    "winbind's ntlm_auth helper did not answer in time or failed",
  ),

  // --- Digest (RFC 7616) ---
  ERR_HTTPAUTH_DIGEST_PARAMS: spec('malformed', 'The Digest credentials lack a required parameter'),
  ERR_HTTPAUTH_DIGEST_ALGORITHM: spec('denied', 'The Digest algorithm is not offered here'),
  ERR_HTTPAUTH_DIGEST_QOP: spec('denied', 'The Digest quality of protection is not offered here'),
  ERR_HTTPAUTH_DIGEST_URI_MISMATCH: spec(
    'malformed',
    'The Digest uri does not match the request target',
  ),
  ERR_HTTPAUTH_DIGEST_NONCE_INVALID: spec(
    'denied',
    'The Digest nonce was not issued by this server',
  ),
  ERR_HTTPAUTH_DIGEST_NONCE_STALE: spec('denied', 'The Digest nonce has expired'),
  ERR_HTTPAUTH_DIGEST_NC_REPLAY: spec(
    'denied',
    'The Digest nonce count did not increase (replayed request)',
  ),
  ERR_HTTPAUTH_DIGEST_OPAQUE_MISMATCH: spec('denied', 'The Digest opaque value does not match'),
  ERR_HTTPAUTH_DIGEST_REALM_MISMATCH: spec('denied', 'The Digest realm does not match'),
  ERR_HTTPAUTH_DIGEST_BODY_UNAVAILABLE: spec(
    'malformed',
    'The request body needed for Digest qop=auth-int could not be read',
  ),

  // --- Basic (RFC 7617) ---
  ERR_HTTPAUTH_BASIC_MALFORMED: spec('malformed', 'The Basic credentials are not well-formed'),

  // --- NTLM (MS-NLMP) ---
  ERR_HTTPAUTH_NTLM_MALFORMED: spec('malformed', 'The NTLM message is not well-formed'),
  ERR_HTTPAUTH_NTLM_UNEXPECTED_MESSAGE: spec(
    'denied',
    'The NTLM message arrived out of order for this connection',
  ),
  ERR_HTTPAUTH_NTLM_V1_REFUSED: spec('denied', 'NTLMv1 and LM responses are refused'),
  ERR_HTTPAUTH_NTLM_ANONYMOUS_REFUSED: spec('denied', 'Anonymous NTLM authentication is refused'),
  ERR_HTTPAUTH_NTLM_MIC_MISSING: spec(
    'denied',
    'The NTLM message integrity code is missing although announced',
  ),
  ERR_HTTPAUTH_NTLM_MIC_INVALID: spec('denied', 'The NTLM message integrity code is wrong'),
  ERR_HTTPAUTH_NTLM_TIMESTAMP_SKEW: spec(
    'denied',
    'The NTLM client timestamp is outside the allowed window',
  ),
  ERR_HTTPAUTH_NTLM_TIMESTAMP_MISSING: spec(
    'denied',
    'The NTLMv2 response carries no timestamp although channel binding is required',
  ),
  ERR_HTTPAUTH_NTLM_TARGET_NAME: spec(
    'denied',
    'The NTLM target name does not name a service of this server',
  ),
  ERR_HTTPAUTH_NTLM_SIGNATURE_INVALID: spec(
    'denied',
    'The NTLM message signature is wrong or out of sequence',
  ),

  // --- Channel bindings (RFC 5929, Extended Protection) ---
  ERR_HTTPAUTH_CHANNEL_BINDING_MISSING: spec(
    'denied',
    'Channel binding is required but the client sent none',
  ),
  ERR_HTTPAUTH_CHANNEL_BINDING_MISMATCH: spec(
    'denied',
    'The channel binding does not match this connection',
  ),

  // --- ASN.1 and Kerberos (RFC 4120, RFC 4121) ---
  ERR_HTTPAUTH_ASN1_MALFORMED: spec('malformed', 'The ASN.1 structure is not well-formed DER'),
  ERR_HTTPAUTH_GSS_MALFORMED: spec('malformed', 'The GSS-API token is not well-formed'),
  ERR_HTTPAUTH_KRB_NO_KEY: spec('denied', 'No key in the keytab matches the ticket'),
  ERR_HTTPAUTH_KRB_ENCTYPE_REFUSED: spec('denied', 'The Kerberos encryption type is refused'),
  ERR_HTTPAUTH_KRB_MODIFIED: spec(
    'denied',
    'The Kerberos message failed its integrity check (KRB_AP_ERR_MODIFIED)',
  ),
  ERR_HTTPAUTH_KRB_KEY_INVALID: spec(
    'denied',
    'The Kerberos key does not match its encryption type',
  ),
  ERR_HTTPAUTH_KEYTAB_INVALID: spec(
    'unavailable',
    'The Kerberos keytab cannot be read or is not a valid keytab',
  ),
  ERR_HTTPAUTH_KRB_DELEGATION_INVALID: spec(
    'denied',
    'The delegated Kerberos credential is not valid',
  ),
  ERR_HTTPAUTH_KRB_SKEW: spec('denied', 'The Kerberos clock skew is too great (KRB_AP_ERR_SKEW)'),
  ERR_HTTPAUTH_KRB_TICKET_EXPIRED: spec(
    'denied',
    'The Kerberos ticket has expired (KRB_AP_ERR_TKT_EXPIRED)',
  ),
  ERR_HTTPAUTH_KRB_TICKET_NOT_YET_VALID: spec(
    'denied',
    'The Kerberos ticket is not yet valid (KRB_AP_ERR_TKT_NYV)',
  ),
  ERR_HTTPAUTH_KRB_REPLAY: spec(
    'denied',
    'The Kerberos authenticator was replayed (KRB_AP_ERR_REPEAT)',
  ),
  ERR_HTTPAUTH_KRB_WRONG_SERVICE: spec(
    'denied',
    'The Kerberos ticket is for another service (KRB_AP_ERR_NOT_US)',
  ),
  ERR_HTTPAUTH_KRB_BAD_MATCH: spec(
    'denied',
    'The Kerberos authenticator does not match the ticket (KRB_AP_ERR_BADMATCH)',
  ),
  ERR_HTTPAUTH_KRB_PAC_INVALID: spec('denied', 'The Kerberos PAC failed verification'),
  ERR_HTTPAUTH_KRB_PAC_CLIENT_MISMATCH: spec(
    'denied',
    'The Kerberos PAC names another client than the ticket',
  ),
  ERR_HTTPAUTH_KRB_TRANSITED_UNCHECKED: spec(
    'denied',
    'The Kerberos ticket crossed realms that no KDC checked (TRANSITED-POLICY-CHECKED unset)',
  ),
  ERR_HTTPAUTH_KRB_TIMES_INVALID: spec('denied', 'The Kerberos ticket carries impossible times'),
  ERR_HTTPAUTH_SPNEGO_MALFORMED: spec('malformed', 'The SPNEGO token is not well-formed'),
  ERR_HTTPAUTH_SPNEGO_NO_MECH: spec('denied', 'No offered SPNEGO mechanism is acceptable'),
  ERR_HTTPAUTH_SPNEGO_MIC_INVALID: spec('denied', 'The SPNEGO mechListMIC is missing or wrong'),
  ERR_HTTPAUTH_SPNEGO_REJECTED: spec('denied', 'The client abandoned the SPNEGO negotiation'),

  // --- Client certificates (RFC 5280, MS KB5014754) ---
  ERR_HTTPAUTH_CERT_MALFORMED: spec('malformed', 'The client certificate is not well-formed'),
  ERR_HTTPAUTH_CERT_UNTRUSTED: spec(
    'denied',
    'The client certificate does not chain to a trusted certification authority',
  ),
  ERR_HTTPAUTH_CERT_EXPIRED: spec('denied', 'A certificate of the client chain has expired'),
  ERR_HTTPAUTH_CERT_NOT_YET_VALID: spec(
    'denied',
    'A certificate of the client chain is not yet valid',
  ),
  ERR_HTTPAUTH_CERT_USAGE: spec(
    'denied',
    'The client certificate is not meant for client authentication (key usage or extended key usage)',
  ),
  ERR_HTTPAUTH_CERT_REVOKED: spec('denied', 'A certificate of the client chain has been revoked'),
  ERR_HTTPAUTH_CERT_REVOCATION_UNAVAILABLE: spec(
    'unavailable',
    'The revocation status of the client certificate is unknown (no current CRL); try again later',
  ),
  ERR_HTTPAUTH_CERT_UNMAPPED: spec('denied', 'The client certificate does not map to an account'),
  ERR_HTTPAUTH_CERT_ISSUER_NOT_ALLOWED: spec(
    'denied',
    'The client certificate was not issued by a certification authority allowed for account logon',
  ),
  ERR_HTTPAUTH_CERT_MAPPING_AMBIGUOUS: spec(
    'denied',
    'More than one account maps the client certificate',
  ),
  ERR_HTTPAUTH_CERT_ACCOUNT_DISABLED: spec(
    'denied',
    'The account the client certificate maps to is disabled',
  ),
  ERR_HTTPAUTH_CERT_ACCOUNT_LOCKED: spec(
    'denied',
    'The account the client certificate maps to is locked out',
  ),
  ERR_HTTPAUTH_CERT_ACCOUNT_EXPIRED: spec(
    'denied',
    'The account the client certificate maps to has expired',
  ),
  ERR_HTTPAUTH_CERT_REQUIRED: spec(
    'forbidden',
    'A client certificate is required (the server offers no other authentication)',
  ),

  // --- Gateway ---
  ERR_HTTPAUTH_UPSTREAM_UNAVAILABLE: spec(
    'unavailable',
    'The upstream service cannot be reached (the gateway answers 502)',
  ),
  ERR_HTTPAUTH_PATH_AMBIGUOUS: spec(
    'malformed',
    'The request path is ambiguous (encoded slash, dot segment or control, backslash or ;)',
  ),
  ERR_HTTPAUTH_BODY_FRAMING: spec(
    'malformed',
    'The request body framing is ambiguous (Content-Length with Transfer-Encoding, or a transfer coding other than chunked)',
  ),
  ERR_HTTPAUTH_UPGRADE_UNSUPPORTED: spec(
    'malformed',
    'The gateway only tunnels Upgrade: websocket (h2c or TLS would carry unchecked requests)',
  ),

  // --- Authorization and impersonation ---
  ERR_HTTPAUTH_FORBIDDEN: spec('forbidden', 'The authenticated principal is not allowed here'),
  ERR_HTTPAUTH_IMPERSONATION_DENIED: spec(
    'forbidden',
    'Impersonation of this principal is not allowed by policy',
  ),
  ERR_HTTPAUTH_IMPERSONATION_UNMAPPED: spec(
    'forbidden',
    'The principal does not map to a local user',
  ),
  ERR_HTTPAUTH_USER_LOOKUP_FAILED: spec(
    'unavailable',
    'The system user database did not answer; try again later',
  ),
  ERR_HTTPAUTH_CCACHE_MALFORMED: spec(
    'malformed',
    'The Kerberos credential cache is not a well-formed version 4 file',
  ),
  ERR_HTTPAUTH_IMPERSONATION_FAILED: spec(
    'unavailable',
    'Acting as the user failed: the identity switch or the credential cache could not be set up',
  ),
} as const satisfies Record<string, ErrorSpec>;

/**
 * A stable error code (`ERR_HTTPAUTH_*`), the key of {@link ERROR_CODES}; `HttpAuthError.code`
 * holds one.
 */
export type ErrorCode = keyof typeof ERROR_CODES;

/**
 * A brand shared by every copy of this module: an application can end up with two copies of
 * @httpauth/core (two versions in node_modules, or a package bundling its own), and an error
 * thrown by a security package from one copy must still be recognised by the other's
 * authenticator instead of becoming ERR_HTTPAUTH_INTERNAL.
 */
const BRAND = Symbol.for('@httpauth/core:HttpAuthError');

/** The one error type the engine throws. Parsers and verifiers never throw anything else. */
export class HttpAuthError extends Error {
  override readonly name = 'HttpAuthError';
  readonly code: ErrorCode;
  readonly kind: ErrorKind;
  /**
   * For the operator only (audit events, never the client): the precise cause behind a generic
   * code, e.g. a domain controller's `STATUS_ACCOUNT_LOCKED_OUT` behind ERR_HTTPAUTH_BAD_CREDENTIALS.
   */
  readonly reason?: string;
  /**
   * For the operator only, like `reason`: what the mechanism saw, to tell a misconfiguration
   * from an attack (the ticket's service principal, kvno and enctype; the NTLM domain, user and
   * workstation; the Digest algorithm). Never a secret: no token, hash, password or key.
   */
  readonly detail?: Readonly<Record<string, string | number | boolean>>;

  constructor(
    code: ErrorCode,
    options?: {
      cause?: unknown;
      reason?: string;
      detail?: Readonly<Record<string, string | number | boolean>>;
    },
  ) {
    const entry = ERROR_CODES[code];
    super(entry.message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.code = code;
    this.kind = entry.kind;
    if (options?.reason !== undefined) this.reason = options.reason;
    if (options?.detail !== undefined) this.detail = Object.freeze({ ...options.detail });
    // Not part of the declared type, so copies of the class stay structurally identical.
    Object.defineProperty(this, BRAND, { value: true });
  }
}

/** True for an HttpAuthError of this or any other copy of @httpauth/core, with a known code. */
export function isHttpAuthError(value: unknown): value is HttpAuthError {
  if (value instanceof HttpAuthError) return true;
  if (typeof value !== 'object' || value === null) return false;
  const candidate = value as { code?: unknown; kind?: unknown };
  return (
    (value as Record<symbol, unknown>)[BRAND] === true &&
    typeof candidate.code === 'string' &&
    Object.hasOwn(ERROR_CODES, candidate.code) &&
    candidate.kind === ERROR_CODES[candidate.code as ErrorCode].kind
  );
}

/** The HTTP status an adapter answers for an error kind (`config` never reaches a client). */
export function statusForKind(kind: ErrorKind): 400 | 401 | 403 | 503 | 500 {
  switch (kind) {
    case 'malformed':
      return 400;
    case 'denied':
      return 401;
    case 'forbidden':
      return 403;
    case 'unavailable':
      return 503;
    case 'config':
      return 500;
  }
}

/**
 * A name the client sent, for an operator-only `detail` (brute-force detection): bounded, so a
 * client cannot make one failure event arbitrarily large.
 */
export function attemptedName(name: string): string {
  return name.length > 256 ? `${name.slice(0, 256)}…` : name;
}

/**
 * The same error with more operator-only detail: what an outer phase knows (the ticket's service
 * principal, the NTLM user) joined to what the inner check said (which check, the clock
 * difference). The inner detail wins where both name a field. Code, reason and cause are kept.
 */
export function withDetail(
  error: HttpAuthError,
  detail: Readonly<Record<string, string | number | boolean>>,
): HttpAuthError {
  return new HttpAuthError(error.code, {
    ...(error.cause === undefined ? {} : { cause: error.cause }),
    ...(error.reason === undefined ? {} : { reason: error.reason }),
    detail: { ...detail, ...error.detail },
  });
}

/** Throw `error` with more detail when it is ours; anything else is rethrown as it is. */
export function rethrowWithDetail(
  error: unknown,
  detail: Readonly<Record<string, string | number | boolean>>,
): never {
  if (isHttpAuthError(error)) throw withDetail(error, detail);
  throw error;
}

/** Shorthand used by parsers: `fail('ERR_HTTPAUTH_NTLM_MALFORMED')` throws the typed error. */
export function fail(code: ErrorCode, cause?: unknown): never {
  throw new HttpAuthError(code, cause === undefined ? undefined : { cause });
}
