/**
 * A small pool of persistent `ntlm_auth --helper-protocol=ntlm-server-1` processes (as Squid and
 * FreeRADIUS run them): a process costs ~50 ms to start and ~2.5 ms a check once running.
 *
 * Each helper answers one request at a time, in order. A helper that times out, crashes, writes
 * garbage or answers out of turn is killed and replaced on the next request: its stream can no
 * longer be trusted to be in step, and an answer must never be matched to the wrong logon.
 * Every such failure is ERR_HTTPAUTH_WINBIND_UNAVAILABLE (503 with Retry-After).
 */
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { HttpAuthError, isHttpAuthError } from '../errors.js';
import { HelperOutputReader, parseHelperBlock } from './winbind-protocol.js';

export interface HelperPoolOptions {
  readonly command: string;
  readonly args: readonly string[];
  readonly env?: NodeJS.ProcessEnv | undefined;
  /** Most helper processes (default 4). */
  readonly size: number;
  /** Most requests waiting for a helper (default 256); beyond it requests fail at once. */
  readonly maxQueue: number;
  /** How long one check may take (default 10 s: winbind itself waits for the DC). */
  readonly timeoutMs: number;
}

function unavailable(cause: unknown): HttpAuthError {
  return isHttpAuthError(cause)
    ? cause
    : new HttpAuthError('ERR_HTTPAUTH_WINBIND_UNAVAILABLE', { cause });
}

interface Pending {
  readonly resolve: (fields: Map<string, string>) => void;
  readonly reject: (error: HttpAuthError) => void;
  readonly timer: NodeJS.Timeout;
}

/** One helper process. */
class Helper {
  readonly #child: ChildProcess;
  readonly #reader = new HelperOutputReader();
  #pending: Pending | undefined;
  #dead = false;
  readonly #onDeath: (helper: Helper) => void;

  constructor(options: HelperPoolOptions, onDeath: (helper: Helper) => void) {
    this.#onDeath = onDeath;
    this.#child = spawn(options.command, [...options.args], {
      stdio: ['pipe', 'pipe', 'ignore'],
      env: options.env ?? process.env,
    });
    // The pool must not keep the process alive (helpers exit when their stdin closes): the
    // child and its pipes each hold the event loop until unref'd.
    this.#child.unref();
    for (const pipe of [this.#child.stdin, this.#child.stdout]) {
      (pipe as unknown as { unref?: () => void } | null)?.unref?.();
    }
    this.#child.stdout?.setEncoding('latin1');
    this.#child.stdout?.on('data', (chunk: string) => this.#onData(chunk));
    this.#child.stdin?.on('error', (error) => this.#die(error));
    this.#child.once('error', (error) => this.#die(error));
    this.#child.once('exit', (code, signal) =>
      this.#die(new Error(`ntlm_auth exited (${signal ?? code})`)),
    );
  }

  get dead(): boolean {
    return this.#dead;
  }

  request(text: string, timeoutMs: number): Promise<Map<string, string>> {
    return new Promise((resolve, reject) => {
      if (this.#dead || this.#pending !== undefined) {
        reject(unavailable(new Error('helper not ready')));
        return;
      }
      const timer = setTimeout(() => this.#die(new Error('ntlm_auth timed out')), timeoutMs);
      this.#pending = { resolve, reject, timer };
      this.#child.stdin?.write(text);
    });
  }

  kill(): void {
    this.#die(new Error('pool closed'));
  }

  #onData(chunk: string): void {
    let blocks: string[][];
    try {
      blocks = this.#reader.push(chunk);
    } catch (error) {
      this.#die(error);
      return;
    }
    for (const block of blocks) {
      const pending = this.#pending;
      // An answer nobody asked for: the stream is out of step.
      if (pending === undefined) return this.#die(new Error('unsolicited helper output'));
      this.#pending = undefined;
      clearTimeout(pending.timer);
      try {
        pending.resolve(parseHelperBlock(block));
      } catch (error) {
        pending.reject(unavailable(error));
        return this.#die(error);
      }
    }
  }

  #die(cause: unknown): void {
    if (this.#dead) return;
    this.#dead = true;
    const pending = this.#pending;
    this.#pending = undefined;
    if (pending !== undefined) {
      clearTimeout(pending.timer);
      pending.reject(unavailable(cause));
    }
    this.#child.stdout?.removeAllListeners('data');
    this.#child.stdin?.destroy();
    if (this.#child.exitCode === null && this.#child.signalCode === null) {
      this.#child.kill('SIGKILL');
    }
    this.#onDeath(this);
  }
}

/** Runs requests on up to `size` helpers, queueing the rest (bounded). */
export class HelperPool {
  readonly #options: HelperPoolOptions;
  readonly #helpers = new Set<Helper>();
  readonly #waiting: Array<(helper: Helper | undefined) => void> = [];
  /** Helpers handed to a request, from acquire to release, so no other request takes them. */
  readonly #reserved = new WeakSet<Helper>();
  #closed = false;

  constructor(options: HelperPoolOptions) {
    this.#options = options;
  }

  /** Live helper processes, for tests and metrics. */
  get processes(): number {
    return this.#helpers.size;
  }

  async request(text: string): Promise<Map<string, string>> {
    const helper = await this.#acquire();
    try {
      return await helper.request(text, this.#options.timeoutMs);
    } finally {
      this.#release(helper);
    }
  }

  close(): void {
    this.#closed = true;
    for (const helper of this.#helpers) helper.kill();
    for (const waiter of this.#waiting.splice(0)) waiter(undefined);
  }

  async #acquire(): Promise<Helper> {
    if (this.#closed) throw unavailable(new Error('pool closed'));
    for (const helper of this.#helpers) {
      if (!this.#reserved.has(helper) && !helper.dead) return this.#mark(helper);
    }
    if (this.#helpers.size < this.#options.size) return this.#mark(this.#spawn());
    if (this.#waiting.length >= this.#options.maxQueue) {
      throw unavailable(new Error('too many requests waiting for ntlm_auth'));
    }
    const helper = await new Promise<Helper | undefined>((resolve) => this.#waiting.push(resolve));
    if (helper === undefined) throw unavailable(new Error('pool closed'));
    return helper;
  }

  #mark(helper: Helper): Helper {
    this.#reserved.add(helper);
    return helper;
  }

  #spawn(): Helper {
    const helper = new Helper(this.#options, (dead) => {
      this.#helpers.delete(dead);
      // A waiter blocked on a full pool gets a fresh helper in the dead one's place.
      const waiter = this.#waiting.shift();
      if (waiter !== undefined) waiter(this.#closed ? undefined : this.#mark(this.#spawn()));
    });
    this.#helpers.add(helper);
    return helper;
  }

  #release(helper: Helper): void {
    this.#reserved.delete(helper);
    if (helper.dead) return;
    const waiter = this.#waiting.shift();
    if (waiter !== undefined) waiter(this.#mark(helper));
  }
}
