/**
 * Identity to the upstream. The gateway strips every incoming copy of its identity headers
 * (a client must never be able to say who it is by sending X-Remote-User itself), then sets them
 * from the authenticated principal, per request. Identity never travels by upstream connection,
 * so NTLM's connection-bound authentication cannot mix users up on a pooled upstream socket.
 *
 * Optional signature, so an upstream that can be reached around the gateway can still tell
 * headers set by the gateway from forged ones:
 *
 *   X-HttpAuth-Signature: t=<unix seconds>, v1=<base64url HMAC-SHA256(secret, payload)>
 *   payload = "httpauth-identity-v1" LF t LF method LF request-target LF user LF groups LF mechanism
 *
 * where user, groups and mechanism are the header values exactly as sent (empty when absent).
 * `verifyIdentitySignature` checks it (constant time, bounded clock skew).
 */
import { createHmac, timingSafeEqual } from 'node:crypto';
import type { Principal } from '@httpauth/core';
import { defaultOf } from './config-schema.js';

/**
 * The names of the identity headers the gateway sets for the upstream (`identity.*Header` in the
 * configuration), for {@link verifyIdentitySignature}.
 */
export interface IdentityHeaderNames {
  readonly userHeader: string;
  readonly groupsHeader: string;
  readonly mechanismHeader: string;
  readonly signatureHeader?: string;
}

/**
 * Header values must be visible ASCII: names and groups with other characters (UTF-8 user names,
 * spaces in group names, commas) are percent-encoded, as in a URI component.
 */
export function encodeHeaderValue(value: string): string {
  return value.replace(/[^\x21-\x7e]|[%,]/gu, (c) => encodeURIComponent(c).replace(/,/g, '%2C'));
}

/**
 * The identity header values for one principal: user, groups (names then SIDs, comma-separated) and
 * mechanism, percent-encoded to visible ASCII.
 */
export interface IdentityValues {
  readonly user: string;
  readonly groups: string;
  readonly mechanism: string;
}

/** The values the gateway sends for a principal. Groups: names, then SIDs, comma-separated. */
export function identityValues(principal: Principal, userFormat: 'name' | 'user'): IdentityValues {
  const groups = [...(principal.groups ?? []), ...(principal.groupSids ?? [])];
  return {
    user: encodeHeaderValue(userFormat === 'name' ? principal.name : principal.user),
    groups: groups.map(encodeHeaderValue).join(','),
    mechanism: principal.mechanism,
  };
}

function signaturePayload(
  timestamp: number,
  method: string,
  target: string,
  values: IdentityValues,
): string {
  return [
    'httpauth-identity-v1',
    String(timestamp),
    method.toUpperCase(),
    target,
    values.user,
    values.groups,
    values.mechanism,
  ].join('\n');
}

/**
 * The identity signature header value, `t=<unix seconds>, v1=<base64url HMAC-SHA256>`, over the
 * request's method and target and the identity header values, so an upstream can tell the gateway's
 * headers from forged ones.
 */
export function signIdentity(
  secret: Buffer,
  timestamp: number,
  method: string,
  target: string,
  values: IdentityValues,
): string {
  const mac = createHmac('sha256', secret)
    .update(signaturePayload(timestamp, method, target, values))
    .digest('base64url');
  return `t=${timestamp}, v1=${mac}`;
}

/**
 * Options of {@link verifyIdentitySignature}: the accepted clock skew, the header names when not
 * the defaults, and the current time (tests).
 */
export interface VerifyOptions {
  /** Accepted age of a signature, both ways, in seconds (default 60). */
  readonly maxSkewSec?: number;
  readonly names?: Partial<IdentityHeaderNames>;
  /** Current time in seconds, for tests. */
  readonly now?: number;
}

/** Request headers as node:http gives them (lower-case names), read by {@link verifyIdentitySignature}. */
export type IdentityRequestHeaders = Readonly<
  Record<string, string | readonly string[] | undefined>
>;

function single(headers: IdentityRequestHeaders, name: string): string | undefined {
  const value = headers[name.toLowerCase()];
  if (value === undefined) return undefined;
  if (typeof value === 'string') return value;
  return value.length === 1 ? value[0] : undefined;
}

/**
 * For the upstream: verify the gateway's signature over the identity headers of a request.
 * Returns the identity when the signature is valid and fresh, undefined otherwise.
 *
 *   const identity = verifyIdentitySignature(req.method, req.url, req.headers, secret);
 *   if (!identity) return res.writeHead(401).end();
 */
export function verifyIdentitySignature(
  method: string,
  target: string,
  headers: IdentityRequestHeaders,
  secret: Buffer,
  options: VerifyOptions = {},
): { user: string; groups: string[]; mechanism: string } | undefined {
  // The gateway's defaults, from its configuration schema.
  const names = {
    userHeader: defaultOf<string>('identity.userHeader').toLowerCase(),
    groupsHeader: defaultOf<string>('identity.groupsHeader').toLowerCase(),
    mechanismHeader: defaultOf<string>('identity.mechanismHeader').toLowerCase(),
    signatureHeader: defaultOf<string>('identity.signature.header').toLowerCase(),
    ...options.names,
  };
  const signature = single(headers, names.signatureHeader);
  if (signature === undefined) return undefined;
  const match = /^t=(\d{1,12}), v1=([A-Za-z0-9_-]{43})$/.exec(signature);
  if (match === null) return undefined;
  const timestamp = Number(match[1]);
  const now = options.now ?? Math.floor(Date.now() / 1000);
  if (Math.abs(now - timestamp) > (options.maxSkewSec ?? 60)) return undefined;
  const values: IdentityValues = {
    user: single(headers, names.userHeader) ?? '',
    groups: single(headers, names.groupsHeader) ?? '',
    mechanism: single(headers, names.mechanismHeader) ?? '',
  };
  const expected = createHmac('sha256', secret)
    .update(signaturePayload(timestamp, method, target, values))
    .digest();
  const given = Buffer.from(match[2] as string, 'base64url');
  if (given.length !== expected.length || !timingSafeEqual(given, expected)) return undefined;
  return {
    user: decodeURIComponent(values.user),
    groups: values.groups === '' ? [] : values.groups.split(',').map((g) => decodeURIComponent(g)),
    mechanism: values.mechanism,
  };
}
