/**
 * Data-loss detection. Every store writes an epoch marker (keys.ts EPOCH_KEY) once, without TTL.
 * If it disappears or changes, Redis lost what it held (restarted without persistence, failed over
 * to an empty replica, flushed, evicted): every replay record and nonce count may be gone, so a
 * token accepted before could be accepted again. Replay-protected checks then stay refused (or
 * local) for a guard period: as long as the longest TTL this store wrote, at least
 * `dataLossGuardMs` (docs/several-nodes.md, "Data loss").
 */
import { randomUUID } from 'node:crypto';
import type { CommandDeadlines, Commands } from './client.js';
import { RedisFailure } from './client.js';
import { publishStoreState } from './events.js';

/** The longest TTL that stretches the data-loss guard (a day). */
const MAX_GUARD_TTL_MS = 86_400_000;

function parseEpoch(value: string | null): { id: string; until: number | undefined } | undefined {
  if (value === null) return undefined;
  const [id = '', until] = value.split(' ');
  const end = until === undefined ? undefined : Number(until);
  return { id, until: end !== undefined && Number.isFinite(end) ? end : undefined };
}

export interface DataLossGuardOptions {
  readonly commands: Commands;
  readonly deadlines: CommandDeadlines;
  /** The marker's Redis key: `<prefix>{httpauth-epoch}`. */
  readonly key: string;
  /** The shortest guard period in milliseconds; 0 turns the guard off. */
  readonly guardMs: number;
  readonly policy: 'closed' | 'local';
  readonly warn: (message: string) => void;
}

export class DataLossGuard {
  readonly #commands: Commands;
  readonly #deadlines: CommandDeadlines;
  readonly #key: string;
  readonly #guardMs: number;
  readonly #policy: 'closed' | 'local';
  readonly #warn: (message: string) => void;
  /** The epoch id last seen in Redis. */
  #epoch: string | undefined;
  /** Until when checks are refused after a data loss (ms since the epoch); 0 when not. */
  #guardUntil = 0;
  /** The longest TTL written through this store: how long a lost record could have mattered. */
  #longestTtl = 0;
  #watch: NodeJS.Timeout | undefined;

  constructor(options: DataLossGuardOptions) {
    this.#commands = options.commands;
    this.#deadlines = options.deadlines;
    this.#key = options.key;
    this.#guardMs = options.guardMs;
    this.#policy = options.policy;
    this.#warn = options.warn;
  }

  /** Remember a TTL written: a lost record of that TTL stretches the guard. */
  noteTtl(ttl: number): void {
    // Capped: one absurd TTL must not turn a data loss into a refusal without end.
    const counted = Math.min(ttl, MAX_GUARD_TTL_MS);
    if (counted > this.#longestTtl) this.#longestTtl = counted;
  }

  /** Milliseconds the guard still lasts (0 or less: not guarded). */
  remaining(now: number): number {
    return this.#guardUntil - now;
  }

  /**
   * While up, re-read the epoch marker now and then: a FLUSHALL, or an eviction under an
   * allkeys-* policy, empties Redis without a reconnection. A missing or changed marker calls
   * `onLoss` (the store goes down; the probe then finds the loss and starts the guard).
   */
  watch(intervalMs: number, isUp: () => boolean, onLoss: () => void): void {
    if (this.#watch !== undefined) return;
    this.#watch = setInterval(() => {
      if (!isUp()) return;
      this.#deadlines.bounded(this.#commands.get(this.#key)).then(
        (value) => {
          if (isUp() && parseEpoch(value)?.id !== this.#epoch) onLoss();
        },
        () => undefined, // an outage shows up in the requests and the probe
      );
    }, intervalMs);
    this.#watch.unref();
  }

  stop(): void {
    if (this.#watch !== undefined) clearInterval(this.#watch);
    this.#watch = undefined;
  }

  /**
   * Did Redis lose its data since this store last looked? Absent or different means a loss: the
   * guard starts. Only the slot holding the marker is checked on Redis Cluster
   * (docs/several-nodes.md).
   */
  async check(): Promise<void> {
    for (let attempt = 0; attempt < 3; attempt += 1) {
      const now = Date.now();
      const stored = parseEpoch(await this.#deadlines.bounded(this.#commands.get(this.#key)));
      if (stored === undefined) {
        // First contact of this store with an empty Redis is a fresh start; any later absence
        // is a loss.
        const lost = this.#epoch !== undefined;
        const until = lost ? this.#start(now) : 0;
        const id = randomUUID();
        const written = await this.#deadlines.bounded(
          this.#commands.set(this.#key, until > 0 ? `${id} ${until}` : id, 'NX'),
        );
        if (written === 'OK') {
          this.#epoch = id;
          return;
        }
        continue; // another node wrote it first: read theirs
      }
      if (this.#epoch !== undefined && stored.id !== this.#epoch) {
        const until = this.#start(now);
        if ((stored.until ?? 0) < until) {
          // Make the guard visible to nodes that start while it lasts (best effort).
          await this.#deadlines.bounded(
            this.#commands.set(this.#key, `${stored.id} ${until}`, 'XX'),
          );
        }
      }
      this.#epoch = stored.id;
      if (stored.until !== undefined && stored.until > now && this.#guardMs > 0) {
        this.#guardUntil = Math.max(this.#guardUntil, stored.until);
      }
      return;
    }
    throw new RedisFailure('reply');
  }

  /** Starts (or extends) the guard; returns its end, 0 when the guard is off. */
  #start(now: number): number {
    if (this.#guardMs === 0) return 0;
    const until = now + Math.max(this.#guardMs, this.#longestTtl);
    if (until > this.#guardUntil) {
      this.#guardUntil = until;
      publishStoreState({
        store: 'redis',
        state: 'down',
        policy: this.#policy,
        reason: 'data-loss',
      });
      this.#warn(
        `httpauth: Redis lost its data (restarted without persistence, failed over or flushed); ` +
          `replay-protected checks are ${this.#policy === 'local' ? 'served locally' : 'refused'} ` +
          `until ${new Date(until).toISOString()}, when every lost record would have expired`,
      );
    }
    return until;
  }
}
