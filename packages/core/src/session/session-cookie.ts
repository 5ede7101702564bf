/**
 * Authentication sessions, like mod_auth_gssapi's GssapiUseSessions: after a successful
 * handshake the server hands the client an encrypted, authenticated cookie that carries the
 * principal, so later requests skip the handshake (one Kerberos AP-REQ per session instead of
 * one per request; no NTLM round trips on new connections).
 *
 * Cookie value (base64url): version (1) || key-id length (1) || key id || IV (12) ||
 * AES-256-GCM ciphertext || tag (16). The additional data binds the cookie name, the version, the
 * key id and the issuer (the `issuer` option, else the host the request was sent to), so a cookie
 * cannot be moved between applications or hosts that share a key. The AES key is HKDF-SHA256 of
 * the configured secret, so any secret length works and secrets are never used directly as keys.
 *
 * Over TLS the cookie is named `__Host-<name>` with Secure, Path=/ and no Domain (RFC 6265bis
 * §4.1.3.2): a browser then refuses the cookie from anyone but this host, so a sibling subdomain
 * (or a man in the middle on plain HTTP) cannot plant its own session, its attacker's identity,
 * into the victim's browser. Only the prefixed name is read on TLS requests.
 *
 * Rotation: the first key seals, every listed key opens. Expiry is inside the sealed payload and
 * never later than the principal's own expiry (the Kerberos ticket's end time).
 */
import { createCipheriv, createDecipheriv, hkdfSync, randomBytes } from 'node:crypto';
import { HttpAuthError } from '../errors.js';
import { findCookieValue } from './cookie-find.js';
import type { Principal } from '../principal.js';

/** 2: the issuer joined the additional data; version 1 cookies are refused (the user re-authenticates). */
const VERSION = 2;
const HOST_PREFIX = '__Host-';
const IV_BYTES = 12;
const TAG_BYTES = 16;
/** Browsers keep at most about 4 KiB per cookie; a principal with many SIDs must still fit. */
const MAX_COOKIE_CHARS = 4096;
/** Opened cookies remembered at once (see SessionCookies.#opened). */
const OPENED_CACHE_SIZE = 10_000;

/** A key for authentication-session cookies; list several in `sessions.keys` to rotate them. */
export interface SessionKey {
  /** A short identifier (1-32 characters of [A-Za-z0-9_-]) written in clear into the cookie. */
  readonly id: string;
  /** At least 32 bytes of secret material (a Buffer, or a string of at least 32 characters). */
  readonly secret: Buffer | string;
}

/**
 * Options of authentication-session cookies (the `sessions` option of `createAuthenticator`): the
 * keys, the cookie's name, lifetime and attributes.
 */
export interface SessionOptions {
  /** The first key seals new cookies; all of them open cookies (key rotation). */
  readonly keys: readonly SessionKey[];
  readonly cookieName?: string;
  /** Session lifetime; never beyond the principal's `expiresAt`. Default one hour. */
  readonly maxAgeMs?: number;
  readonly sameSite?: 'Strict' | 'Lax' | 'None';
  readonly path?: string;
  /** A Domain attribute shares the cookie with subdomains; it turns the `__Host-` prefix off. */
  readonly domain?: string;
  /**
   * Name the cookie `__Host-<cookieName>` on TLS requests (default true unless `domain` or a path
   * other than '/' is set, which the prefix forbids; true with either is an invalid option).
   */
  readonly hostPrefix?: boolean;
  /**
   * Who issued the cookie, bound into its additional data: a cookie only opens where it was
   * sealed. Default: the host name of the request (Host, or HTTP/2 :authority, without the port),
   * or the `domain` when one is set. Set one id per application when several share keys.
   */
  readonly issuer?: string;
}

/** What a cookie operation needs of the request: whether it came over TLS, and its headers. */
export interface SessionRequest {
  readonly secure: boolean;
  readonly headers: Readonly<Record<string, string | readonly string[] | undefined>>;
}

/** What a valid session cookie holds: its id, the principal, and when it was issued and expires. */
export interface SessionData {
  readonly id: string;
  readonly principal: Principal;
  readonly issuedAt: number;
  readonly expiresAt: number;
}

/** A cookie value that opened, under the name and issuer it opened with. */
interface OpenedCookie {
  readonly name: string;
  readonly issuer: string;
  readonly data: SessionData;
}

interface DerivedKey {
  readonly id: string;
  readonly idBytes: Buffer;
  readonly key: Buffer;
}

const KEY_ID = /^[A-Za-z0-9_-]{1,32}$/;
const COOKIE_NAME = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]{1,64}$/;

function invalid(): never {
  throw new HttpAuthError('ERR_HTTPAUTH_INVALID_OPTIONS');
}

/** The host name a request was sent to: Host (HTTP/2 :authority), lower-cased, port removed. */
function requestHostName(request: SessionRequest): string {
  const raw = request.headers.host ?? request.headers[':authority'];
  if (typeof raw !== 'string') return '';
  const host = raw.trim().toLowerCase();
  if (host.startsWith('[')) {
    const end = host.indexOf(']');
    return end === -1 ? host : host.slice(0, end + 1);
  }
  const colon = host.indexOf(':');
  return colon === -1 ? host : host.slice(0, colon);
}

/**
 * Seals and opens authentication-session cookies: AES-256-GCM with an HKDF-derived key, bound to
 * the cookie name and the issuer host, named `__Host-` over TLS. The authenticator uses it for its
 * `sessions` option.
 */
export class SessionCookies {
  /** The configured name; on TLS requests with the prefix on, the cookie is `__Host-` + this. */
  readonly cookieName: string;
  readonly #hostPrefix: boolean;
  readonly #issuer: string | undefined;
  readonly #keys: readonly DerivedKey[];
  readonly #maxAgeMs: number;
  readonly #attributes: string;
  readonly #sameSite: string;
  /**
   * Cookie values that opened, with what they hold: a browser sends the same cookie with every
   * request, so AES-GCM runs once per session per process instead of once per request. Only
   * exact values that authenticated are kept; expiry is still checked on every use; the map is
   * bounded and simply cleared when full.
   */
  readonly #opened = new Map<string, OpenedCookie>();

  constructor(options: SessionOptions) {
    if (typeof options !== 'object' || options === null) invalid();
    if (!Array.isArray(options.keys) || options.keys.length === 0) invalid();
    this.cookieName = options.cookieName ?? 'httpauth_session';
    if (!COOKIE_NAME.test(this.cookieName)) invalid();
    this.#maxAgeMs = options.maxAgeMs ?? 3_600_000;
    if (!Number.isSafeInteger(this.#maxAgeMs) || this.#maxAgeMs <= 0) invalid();
    const seen = new Set<string>();
    this.#keys = options.keys.map((entry) => {
      if (!KEY_ID.test(entry.id) || seen.has(entry.id)) invalid();
      seen.add(entry.id);
      const secret =
        typeof entry.secret === 'string' ? Buffer.from(entry.secret, 'utf8') : entry.secret;
      if (!Buffer.isBuffer(secret) || secret.length < 32) invalid();
      const key = Buffer.from(
        hkdfSync('sha256', secret, Buffer.alloc(0), 'httpauth session v1', 32),
      );
      return { id: entry.id, idBytes: Buffer.from(entry.id, 'ascii'), key };
    });
    this.#sameSite = options.sameSite ?? 'Lax';
    if (!['Strict', 'Lax', 'None'].includes(this.#sameSite)) invalid();
    const path = options.path ?? '/';
    if (!/^\/[^;\s]*$/.test(path)) invalid();
    if (options.domain !== undefined && !/^[A-Za-z0-9.-]+$/.test(options.domain)) invalid();
    this.#attributes =
      `; Path=${path}` + (options.domain === undefined ? '' : `; Domain=${options.domain}`);
    // RFC 6265bis §4.1.3.2: a __Host- cookie has Path=/ and no Domain.
    const prefixAllowed = path === '/' && options.domain === undefined;
    if (options.hostPrefix !== undefined && typeof options.hostPrefix !== 'boolean') invalid();
    if (options.hostPrefix === true && !prefixAllowed) invalid();
    this.#hostPrefix = options.hostPrefix ?? prefixAllowed;
    if (this.cookieName.startsWith(HOST_PREFIX) && !prefixAllowed) invalid();
    if (
      options.issuer !== undefined &&
      (typeof options.issuer !== 'string' || options.issuer === '')
    ) {
      invalid();
    }
    this.#issuer = options.issuer ?? options.domain?.toLowerCase();
  }

  /** The cookie's name on this request: prefixed on TLS when the prefix is on. */
  nameFor(request: SessionRequest): string {
    return request.secure && this.#hostPrefix && !this.cookieName.startsWith(HOST_PREFIX)
      ? HOST_PREFIX + this.cookieName
      : this.cookieName;
  }

  #issuerFor(request: SessionRequest): string {
    return this.#issuer ?? requestHostName(request);
  }

  /** Additional data: name NUL version key-id NUL issuer (key ids cannot contain NUL). */
  #aad(key: DerivedKey, name: string, issuer: string): Buffer {
    return Buffer.concat([
      Buffer.from(name + '\0', 'ascii'),
      Buffer.of(VERSION),
      key.idBytes,
      Buffer.of(0),
      Buffer.from(issuer, 'utf8'),
    ]);
  }

  #attributesFor(request: SessionRequest): string {
    const secure = request.secure || this.#sameSite === 'None';
    return `${this.#attributes}; HttpOnly${secure ? '; Secure' : ''}; SameSite=${this.#sameSite}`;
  }

  /** Seal a session for `principal`; undefined when the principal has already expired. */
  issue(
    principal: Principal,
    now: number,
    request: SessionRequest,
  ): { data: SessionData; setCookie: string } | undefined {
    const limit = principal.expiresAt?.getTime();
    const expiresAt = Math.min(now + this.#maxAgeMs, limit ?? Number.POSITIVE_INFINITY);
    if (expiresAt <= now) return undefined;
    const data: SessionData = {
      id: randomBytes(16).toString('base64url'),
      principal,
      issuedAt: now,
      expiresAt,
    };
    const key = this.#keys[0] as DerivedKey;
    const iv = randomBytes(IV_BYTES);
    const cipher = createCipheriv('aes-256-gcm', key.key, iv);
    const name = this.nameFor(request);
    cipher.setAAD(this.#aad(key, name, this.#issuerFor(request)));
    const plaintext = Buffer.from(
      JSON.stringify({ s: data.id, p: principal, i: now, e: expiresAt }),
    );
    const ciphertext = Buffer.concat([cipher.update(plaintext), cipher.final()]);
    const value = Buffer.concat([
      Buffer.of(VERSION, key.idBytes.length),
      key.idBytes,
      iv,
      ciphertext,
      cipher.getAuthTag(),
    ]).toString('base64url');
    if (value.length > MAX_COOKIE_CHARS) return undefined;
    const maxAge = Math.max(1, Math.floor((expiresAt - now) / 1000));
    return {
      data,
      setCookie: `${name}=${value}; Max-Age=${maxAge}${this.#attributesFor(request)}`,
    };
  }

  /** A Set-Cookie value that removes the cookie (sent when a cookie did not open). */
  clearCookie(request: SessionRequest): string {
    return `${this.nameFor(request)}=; Max-Age=0${this.#attributesFor(request)}`;
  }

  /**
   * This application's cookie value from the request's Cookie header, if any. On TLS with the
   * prefix on only `__Host-<name>` is read: an unprefixed cookie may have been set by a sibling.
   */
  find(request: SessionRequest): string | undefined {
    const cookieHeader = request.headers.cookie;
    if (cookieHeader === undefined) return undefined;
    const headers = typeof cookieHeader === 'string' ? [cookieHeader] : cookieHeader;
    const prefix = this.nameFor(request) + '=';
    for (const header of headers) {
      if (header.length > 64 * 1024) continue;
      const value = findCookieValue(header, prefix);
      if (value !== undefined) return value;
    }
    return undefined;
  }

  /**
   * Open a cookie value. Tampered, foreign, expired or malformed cookies give undefined: the
   * caller falls back to a normal challenge.
   */
  open(value: string, now: number, request: SessionRequest): SessionData | undefined {
    const name = this.nameFor(request);
    const issuer = this.#issuerFor(request);
    // The cache remembers what opened under which name and issuer, not just the value: under
    // another name or issuer the value is decrypted again (and fails, its additional data
    // binds both). Keyed by the value alone, a request builds no key string of ~300 characters.
    const known = this.#opened.get(value);
    if (known !== undefined && known.name === name && known.issuer === issuer) {
      if (known.data.expiresAt > now) return known.data;
      this.#opened.delete(value);
      return undefined;
    }
    const data = this.#decrypt(value, now, name, issuer);
    if (data !== undefined) {
      if (this.#opened.size >= OPENED_CACHE_SIZE) this.#opened.clear();
      this.#opened.set(value, { name, issuer, data });
    }
    return data;
  }

  #decrypt(value: string, now: number, name: string, issuer: string): SessionData | undefined {
    if (value.length === 0 || value.length > MAX_COOKIE_CHARS || !/^[A-Za-z0-9_-]+$/.test(value)) {
      return undefined;
    }
    const raw = Buffer.from(value, 'base64url');
    if (raw.length < 2 || raw[0] !== VERSION) return undefined;
    const idLength = raw[1] as number;
    const ivStart = 2 + idLength;
    if (raw.length < ivStart + IV_BYTES + TAG_BYTES + 1) return undefined;
    const id = raw.subarray(2, ivStart).toString('ascii');
    const key = this.#keys.find((k) => k.id === id);
    if (key === undefined) return undefined;
    const iv = raw.subarray(ivStart, ivStart + IV_BYTES);
    const ciphertext = raw.subarray(ivStart + IV_BYTES, raw.length - TAG_BYTES);
    const tag = raw.subarray(raw.length - TAG_BYTES);
    let plaintext: Buffer;
    try {
      const decipher = createDecipheriv('aes-256-gcm', key.key, iv);
      decipher.setAAD(this.#aad(key, name, issuer));
      decipher.setAuthTag(tag);
      plaintext = Buffer.concat([decipher.update(ciphertext), decipher.final()]);
    } catch {
      return undefined;
    }
    let parsed: unknown;
    try {
      parsed = JSON.parse(plaintext.toString('utf8'));
    } catch {
      return undefined;
    }
    // Authentic (the tag verified), so the structure is ours; still check the types we rely on.
    const record = parsed as { s?: unknown; p?: unknown; i?: unknown; e?: unknown };
    if (
      typeof record.s !== 'string' ||
      typeof record.i !== 'number' ||
      typeof record.e !== 'number' ||
      typeof record.p !== 'object' ||
      record.p === null
    ) {
      return undefined;
    }
    if (record.e <= now) return undefined;
    const stored = record.p as Principal & { expiresAt?: string };
    const principal: Principal = {
      ...stored,
      expiresAt: stored.expiresAt === undefined ? undefined : new Date(stored.expiresAt),
    };
    return { id: record.s, principal, issuedAt: record.i, expiresAt: record.e };
  }
}
