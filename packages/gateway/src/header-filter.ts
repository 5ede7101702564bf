/**
 * Which client request headers may reach the upstream.
 *
 * CGI (RFC 3875 §4.1.18), WSGI (PEP 3333), PHP and Rack expose a header as HTTP_<NAME> with `-`
 * turned into `_`, so `X_Remote_User` and `X-Remote-User` become the same variable and a forged
 * copy can win over the gateway's. The gateway therefore drops every header whose name contains
 * `_` (nginx's default, `underscores_in_headers off`): that covers identity headers an upstream
 * trusts that the gateway does not even know about. The same holds for every other character
 * than a letter, digit or `-` that RFC 9110 §5.6.2 allows in a token (`.`, `~`, `+`, `!`...):
 * some CGI hosts (lighttpd) map each of them to `_`, so `X-Remote.User` is HTTP_X_REMOTE_USER
 * there; nginx drops them too (`ignore_invalid_headers on`). On top of that, any header whose name folds
 * (case, and `_` to `-`) to an identity, signature or forwarding header is dropped, so the rule
 * holds even if the underscore rule is ever relaxed.
 *
 * Hop-by-hop headers (RFC 9110 §7.6.1) and those the client lists in Connection go too, and the
 * framing headers (Content-Length, Transfer-Encoding) are never copied: framing.ts sets them.
 */

/** Hop-by-hop headers (RFC 9110 §7.6.1) never forwarded in either direction. */
export const HOP_BY_HOP: ReadonlySet<string> = new Set([
  'connection',
  'keep-alive',
  'proxy-connection',
  'proxy-authenticate',
  'proxy-authorization',
  'te',
  'trailer',
  'transfer-encoding',
  'upgrade',
]);

/** A header name folded the way CGI-style servers fold it: lower case, `_` and `-` alike. */
export function foldHeaderName(name: string): string {
  return name.toLowerCase().replace(/_/g, '-');
}

/**
 * Headers through which a front end tells an application who the client is or which URL it
 * asked for: the forwarding headers the gateway sets itself (RFC 7239, X-Forwarded-*), and the
 * URL overrides some frameworks honour (IIS URL Rewrite and Symfony read X-Original-URL and
 * X-Rewrite-URL as the path to route, which would route around the rule the gateway applied;
 * X-Original-URI/-Method are what nginx's auth_request sends to the gateway, never upstream).
 */
const CLIENT_OR_URL_HEADERS = new Set([
  'forwarded',
  'x-real-ip',
  'x-client-ip',
  'true-client-ip',
  'x-original-url',
  'x-rewrite-url',
  'x-original-uri',
  'x-original-method',
]);

/** Header names made of letters, digits and `-` only (nginx's valid header names). */
const PLAIN_HEADER_NAME = /^[A-Za-z0-9-]+$/;

function isForwardingHeader(folded: string): boolean {
  return folded.startsWith('x-forwarded-') || CLIENT_OR_URL_HEADERS.has(folded);
}

const NO_TOKENS: ReadonlySet<string> = new Set();
/** The usual Connection values, tokenised once (`keep-alive`, `close`, `Upgrade`...). */
const COMMON_TOKENS = new Map<string, ReadonlySet<string>>();
const COMMON_TOKENS_SIZE = 64;
const COMMON_TOKEN_LENGTH = 64;
/** Header names judged at once (names are few in practice; a flood of new ones clears it). */
const NAME_CACHE_SIZE = 1000;

function tokenise(value: string): ReadonlySet<string> {
  return new Set(
    value
      .toLowerCase()
      .split(',')
      .map((t) => t.trim())
      .filter((t) => t !== ''),
  );
}

export class RequestHeaderFilter {
  readonly #protected: ReadonlySet<string>;
  /** What #judge said of each name seen: a pure function of the name, asked for every header. */
  readonly #judged = new Map<string, boolean>();

  /** `identityHeaders`: the user, groups, mechanism and signature header names. */
  constructor(identityHeaders: readonly string[]) {
    this.#protected = new Set(identityHeaders.map(foldHeaderName));
  }

  /**
   * Connection-listed names of a request or response (RFC 9110 §7.6.1). Asked twice per
   * proxied request with nearly always the same short value, so short values are kept.
   */
  static connectionTokens(value: string | undefined): ReadonlySet<string> {
    if (value === undefined || value === '') return NO_TOKENS;
    if (value.length > COMMON_TOKEN_LENGTH) return tokenise(value);
    let tokens = COMMON_TOKENS.get(value);
    if (tokens === undefined) {
      tokens = tokenise(value);
      if (COMMON_TOKENS.size >= COMMON_TOKENS_SIZE) COMMON_TOKENS.clear();
      COMMON_TOKENS.set(value, tokens);
    }
    return tokens;
  }

  /**
   * True when a client header of this (lower-cased) name may be forwarded. `connection` holds
   * the tokens of the request's Connection header.
   */
  allows(name: string, connection: ReadonlySet<string>): boolean {
    if (connection.has(name)) return false;
    let allowed = this.#judged.get(name);
    if (allowed === undefined) {
      allowed = this.#judge(name);
      if (this.#judged.size >= NAME_CACHE_SIZE) this.#judged.clear();
      this.#judged.set(name, allowed);
    }
    return allowed;
  }

  #judge(name: string): boolean {
    if (!PLAIN_HEADER_NAME.test(name)) return false;
    const folded = foldHeaderName(name);
    if (HOP_BY_HOP.has(folded)) return false;
    if (folded === 'content-length') return false;
    if (this.#protected.has(folded) || isForwardingHeader(folded)) return false;
    return true;
  }
}
