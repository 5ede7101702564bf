/** Helpers shared by the PBKDF2-based string-to-key functions (RFC 3962 §4, RFC 8009 §4). */
import { pbkdf2 } from 'node:crypto';

import { fail } from '../../errors.js';
import { makeKey } from './key.js';
import type { KerberosKey } from './key.js';

// MIT krb5 refuses iteration counts of 2^24 and above; so do we (they would stall the event loop).
const MAX_ITERATIONS = 0x1000000;

/** The iteration count from 4-byte big-endian s2kparams, or `defaultCount` when absent. */
export function iterationCount(params: Uint8Array | undefined, defaultCount: number): number {
  if (params === undefined || params.length === 0) return defaultCount;
  if (params.length !== 4) fail('ERR_HTTPAUTH_INVALID_OPTIONS');
  const count = ((params[0]! << 24) | (params[1]! << 16) | (params[2]! << 8) | params[3]!) >>> 0;
  // RFC 3962 §4 reads 0 as 2^32 iterations: refuse it along with other impractical counts.
  if (count === 0 || count >= MAX_ITERATIONS) fail('ERR_HTTPAUTH_INVALID_OPTIONS');
  return count;
}

/** Salts are octet strings (RFC 4120 §5.2.9); text salts such as REALM+principal are UTF-8. */
export function saltBytes(salt: string | Uint8Array): Buffer {
  return typeof salt === 'string' ? Buffer.from(salt, 'utf8') : Buffer.from(salt);
}

/** A PBKDF2 with node:crypto's argument order: `pbkdf2Sync` (blocks) or `pbkdf2Pooled` (below). */
type Pbkdf2<Result> = (
  password: Buffer,
  salt: Buffer,
  iterations: number,
  keyBytes: number,
  digest: string,
) => Result;

/**
 * One enctype's PBKDF2-based string-to-key. RFC 3962 §4 and RFC 8009 §4 share its shape:
 * tkey = PBKDF2(password, salt', iterations, key length); key = KDF(tkey, "kerberos").
 */
export interface PasswordKeyRecipe {
  readonly enctype: number;
  readonly digest: string;
  readonly keyBytes: number;
  /** The iteration count when the KDC sends no s2kparams. */
  readonly defaultIterations: number;
  /** salt' from the salt: RFC 3962 uses it as is, RFC 8009 prefixes the enctype name. */
  pbkdf2Salt(salt: string | Uint8Array): Buffer;
  /** The key's bytes from tkey: KDF(tkey, "kerberos"). */
  keyBytesFromTkey(tkey: Buffer): Buffer;
}

/** The key from tkey; wipes tkey and the derived bytes (the key holds its own copy). */
function keyFromTkey(recipe: PasswordKeyRecipe, tkey: Buffer): KerberosKey {
  const keyBytes = recipe.keyBytesFromTkey(tkey);
  tkey.fill(0);
  const key = makeKey(recipe.enctype, keyBytes);
  keyBytes.fill(0);
  return key;
}

/**
 * The string-to-key of `recipe`, with PBKDF2 run by `pbkdf2`: synchronously, or on the thread pool
 * (then the key comes as a promise), so each enctype states its derivation once for both.
 */
export function passwordKey(
  pbkdf2: Pbkdf2<Buffer>,
  recipe: PasswordKeyRecipe,
  password: string,
  salt: string | Uint8Array,
  params?: Uint8Array,
): KerberosKey;
export function passwordKey(
  pbkdf2: Pbkdf2<Promise<Buffer>>,
  recipe: PasswordKeyRecipe,
  password: string,
  salt: string | Uint8Array,
  params?: Uint8Array,
): Promise<KerberosKey>;
export function passwordKey(
  pbkdf2: Pbkdf2<Buffer | Promise<Buffer>>,
  recipe: PasswordKeyRecipe,
  password: string,
  salt: string | Uint8Array,
  params?: Uint8Array,
): KerberosKey | Promise<KerberosKey> {
  const iterations = iterationCount(params, recipe.defaultIterations);
  const tkey = pbkdf2(
    Buffer.from(password, 'utf8'),
    recipe.pbkdf2Salt(salt),
    iterations,
    recipe.keyBytes,
    recipe.digest,
  );
  return tkey instanceof Promise
    ? tkey.then((derived) => keyFromTkey(recipe, derived))
    : keyFromTkey(recipe, tkey);
}

/**
 * How many PBKDF2 derivations run on libuv's thread pool at once: half the pool (at least one),
 * so a burst of password logons leaves threads for what else needs them (dns.lookup of a KDC's
 * name, file reads) instead of queueing them behind every derivation.
 */
const POOL_SIZE = Number.parseInt(process.env.UV_THREADPOOL_SIZE ?? '', 10);
export const PBKDF2_CONCURRENCY = Math.max(
  1,
  Math.floor((Number.isInteger(POOL_SIZE) && POOL_SIZE > 0 ? POOL_SIZE : 4) / 2),
);
// Process-wide, like the thread pool it rations; holds no client data.
let running = 0;
const waiting: (() => void)[] = [];

/** Derivations running now (for tests and metrics). */
export function pbkdf2InFlight(): number {
  return running;
}

/** PBKDF2 on the thread pool, at most PBKDF2_CONCURRENCY at a time; the rest wait in order. */
export async function pbkdf2Pooled(
  password: Buffer,
  salt: Buffer,
  iterations: number,
  keyBytes: number,
  digest: string,
): Promise<Buffer> {
  if (running >= PBKDF2_CONCURRENCY) await new Promise<void>((resolve) => waiting.push(resolve));
  running += 1;
  try {
    return await new Promise<Buffer>((resolve, reject) =>
      pbkdf2(password, salt, iterations, keyBytes, digest, (error, derived) =>
        error === null ? resolve(derived) : reject(error),
      ),
    );
  } finally {
    running -= 1;
    waiting.shift()?.();
  }
}
