/**
 * Names for SIDs: what turns a PAC's `S-1-5-21-…-1104` into `SAMDOM\WebUsers`, so policies can
 * say `requireGroup('SAMDOM\\WebUsers')`.
 *
 *   const directory = createSidResolver({ lookup: ldapSidLookup({ url: 'ldaps://dc1', … }) });
 *   createAuthenticator({ packages, directory });   // or the adapters' `directory` option
 *
 * After a successful logon the authenticator hands the principal to `resolvePrincipal`, which
 * adds the names of its group SIDs to `principal.groups` (the SIDs stay in `groupSids`). Names
 * come from a bounded cache with a time-to-live; the SIDs the cache lacks go to the lookup in
 * batches (one LDAP search per batch), and concurrent logons share a lookup in flight.
 *
 * A directory that cannot answer never refuses a logon the security package accepted: the
 * principal keeps its SIDs, an `httpauth:warning` event says ERR_HTTPAUTH_DIRECTORY_UNAVAILABLE,
 * and lookups pause for `retryAfterMs` so every logon does not wait out the timeout.
 */
import { HttpAuthError } from '../errors.js';
import { publishWarning } from '../events.js';
import type { Principal } from '../principal.js';
import { TtlCache } from './cache.js';
import { canonicalSid } from './sid.js';
import { wellKnownSidName } from './well-known.js';

/** A source of names: Active Directory over LDAP (@httpauth/ldap), winbind, a fixed table. */
export interface SidNameLookup {
  /**
   * Names (`DOMAIN\name`) of the SIDs the source knows; unknown SIDs are left out of the map.
   * Throws when the source cannot answer. `signal` aborts when the resolver stops waiting.
   */
  lookupSids(sids: readonly string[], signal: AbortSignal): Promise<ReadonlyMap<string, string>>;
  /** Releases the source's connections; the resolver's `close()` calls it. */
  close?(): Promise<void>;
}

/** What the authenticator's `directory` option takes. Must never throw. */
export interface PrincipalDirectory {
  /**
   * The principal with names for its group SIDs added to `groups`; on any failure, the principal
   * unchanged.
   */
  resolvePrincipal(principal: Principal): Promise<Principal>;
}

/**
 * Options of {@link createSidResolver}: the lookup that names SIDs, the cache lifetimes and size,
 * the batch size, how long a logon waits for names and how long to skip a failing directory.
 */
export interface SidResolverOptions {
  readonly lookup: SidNameLookup;
  /** How long a name is kept (default 10 minutes: a renamed group shows late by at most this). */
  readonly ttlMs?: number;
  /** How long "no such SID" is kept (default 1 minute). */
  readonly negativeTtlMs?: number;
  /** Largest number of cached SIDs (default 10,000); the least recently used go first. */
  readonly maxEntries?: number;
  /** Most SIDs in one lookup (default 100: one LDAP filter of about 9 KB). */
  readonly batchSize?: number;
  /** How long a logon waits for names (default 3 s); then it goes on with SIDs. */
  readonly timeoutMs?: number;
  /** After a failed lookup, how long logons skip the directory (default 10 s). */
  readonly retryAfterMs?: number;
  /** Clock in milliseconds, for tests. */
  readonly now?: () => number;
}

/**
 * What `SidResolver.names` resolves to: the names found, and how many SIDs stayed unnamed because
 * the directory failed.
 */
export interface SidNames {
  /** Names of the SIDs that have one, by canonical SID. */
  readonly names: ReadonlyMap<string, string>;
  /** How many SIDs were left without an answer because the directory failed. */
  readonly unresolved: number;
}

export interface SidResolver extends PrincipalDirectory {
  /** Names for these SIDs. Never throws. */
  names(sids: readonly string[]): Promise<SidNames>;
  readonly cacheSize: number;
  /** Empty the cache (after a rename, in tests). */
  clear(): void;
  /** Empties the cache and closes the lookup. */
  close(): Promise<void>;
}

const MAX_NAME_LENGTH = 512;

function positive(value: number | undefined, fallback: number): number {
  const chosen = value ?? fallback;
  if (typeof chosen !== 'number' || !Number.isFinite(chosen) || chosen <= 0) {
    throw new HttpAuthError('ERR_HTTPAUTH_INVALID_OPTIONS');
  }
  return chosen;
}

function chunks<T>(items: readonly T[], size: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}

/** Wait for the lookup or the abort, whichever comes first. */
function untilAborted<T>(work: Promise<T>, signal: AbortSignal): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(new Error('directory lookup timed out'));
    if (signal.aborted) onAbort();
    signal.addEventListener('abort', onAbort, { once: true });
    work.then(resolve, reject).finally(() => signal.removeEventListener('abort', onAbort));
  });
}

/** Keep only well-formed answers, keyed by canonical SID. */
function validAnswers(found: unknown): Map<string, string> {
  if (!(found instanceof Map)) throw new Error('the lookup did not answer a Map');
  const answers = new Map<string, string>();
  for (const [sid, name] of found as Map<unknown, unknown>) {
    const key = typeof sid === 'string' ? canonicalSid(sid) : undefined;
    if (key === undefined || typeof name !== 'string') continue;
    if (name.length === 0 || name.length > MAX_NAME_LENGTH) continue;
    answers.set(key, name);
  }
  return answers;
}

/**
 * Builds the `directory` for `createAuthenticator` (and the adapters): it names the group SIDs of
 * each logon (from a PAC or a domain controller) through `lookup`, with a TTL cache, batching and
 * shared in-flight lookups. A failing directory never refuses a logon. Throws
 * `ERR_HTTPAUTH_INVALID_OPTIONS` without a usable `lookup`.
 */
export function createSidResolver(options: SidResolverOptions): SidResolver {
  const lookup = options?.lookup;
  if (lookup === null || typeof lookup !== 'object' || typeof lookup.lookupSids !== 'function') {
    throw new HttpAuthError('ERR_HTTPAUTH_INVALID_OPTIONS');
  }
  const ttlMs = positive(options.ttlMs, 10 * 60_000);
  const negativeTtlMs = positive(options.negativeTtlMs, 60_000);
  const maxEntries = positive(options.maxEntries, 10_000);
  const batchSize = positive(options.batchSize, 100);
  const timeoutMs = positive(options.timeoutMs, 3_000);
  const retryAfterMs = positive(options.retryAfterMs, 10_000);
  const clock = options.now ?? Date.now;
  if (!Number.isInteger(maxEntries) || !Number.isInteger(batchSize)) {
    throw new HttpAuthError('ERR_HTTPAUTH_INVALID_OPTIONS');
  }

  // null marks "the directory has no such SID", cached for negativeTtlMs.
  const cache = new TtlCache<string, string | null>(maxEntries);
  const inFlight = new Map<string, Promise<Map<string, string> | undefined>>();
  let pausedUntil = 0;

  /** One batch to the source; resolves undefined when it failed (and pauses lookups). */
  async function fetchBatch(sids: readonly string[]): Promise<Map<string, string> | undefined> {
    const controller = new AbortController();
    const timer = setTimeout(() => controller.abort(), timeoutMs);
    try {
      const answers = validAnswers(
        await untilAborted(
          Promise.resolve().then(() => lookup.lookupSids(sids, controller.signal)),
          controller.signal,
        ),
      );
      const now = clock();
      for (const sid of sids) {
        const name = answers.get(sid);
        cache.set(sid, name ?? null, now + (name === undefined ? negativeTtlMs : ttlMs));
      }
      return answers;
    } catch {
      controller.abort();
      pausedUntil = clock() + retryAfterMs;
      return undefined;
    } finally {
      clearTimeout(timer);
      for (const sid of sids) inFlight.delete(sid);
    }
  }

  async function names(sids: readonly string[]): Promise<SidNames> {
    const now = clock();
    const found = new Map<string, string>();
    const missing: string[] = [];
    const seen = new Set<string>();
    for (const raw of sids) {
      const sid = canonicalSid(raw);
      if (sid === undefined || seen.has(sid)) continue;
      seen.add(sid);
      const known = wellKnownSidName(sid) ?? cache.get(sid, now)?.value;
      if (known === null) continue;
      if (known !== undefined) found.set(sid, known);
      else missing.push(sid);
    }
    if (missing.length === 0) return { names: found, unresolved: 0 };
    if (now < pausedUntil) return degraded(found, missing.length);

    const toFetch = missing.filter((sid) => !inFlight.has(sid));
    for (const batch of chunks(toFetch, batchSize)) {
      const pending = fetchBatch(batch);
      for (const sid of batch) inFlight.set(sid, pending);
    }
    // Take every promise before the first await: a batch removes itself from inFlight when done.
    const waits = missing.map((sid) => [sid, inFlight.get(sid)] as const);
    let unresolved = 0;
    for (const [sid, pending] of waits) {
      const answers = await pending;
      if (answers === undefined) {
        unresolved++;
        continue;
      }
      const name = answers.get(sid);
      if (name !== undefined) found.set(sid, name);
    }
    return unresolved === 0 ? { names: found, unresolved } : degraded(found, unresolved);
  }

  function degraded(found: Map<string, string>, unresolved: number): SidNames {
    publishWarning({ code: 'ERR_HTTPAUTH_DIRECTORY_UNAVAILABLE', source: 'directory', unresolved });
    return { names: found, unresolved };
  }

  async function resolvePrincipal(principal: Principal): Promise<Principal> {
    const sids = principal.groupSids ?? [];
    if (sids.length === 0) return principal;
    try {
      const { names: byName } = await names(sids);
      const groups = new Set(principal.groups ?? []);
      for (const sid of sids) {
        const key = canonicalSid(sid);
        const name = key === undefined ? undefined : byName.get(key);
        if (name !== undefined) groups.add(name);
      }
      if (groups.size === (principal.groups?.length ?? 0)) return principal;
      return { ...principal, groups: [...groups] };
    } catch {
      // Never reached by design (names() does not throw); a valid logon is never refused here.
      return principal;
    }
  }

  return {
    names,
    resolvePrincipal,
    get cacheSize() {
      return cache.size;
    },
    clear() {
      cache.clear();
      pausedUntil = 0;
    },
    async close() {
      cache.clear();
      await lookup.close?.();
    },
  };
}
