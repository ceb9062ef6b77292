import { PairgateError } from '../../core/errors.js';
import { dummyHash, hashPassword, needsRehash, verifyPassword } from './passwords.js';

/** The machine code of a password check or hash refused because the server is busy with others. */
export const PASSWORD_HASHING_BUSY = 'password_hashing_busy';

/** Seconds a refused request is told to wait: a queue's worth of hashes takes about that long. */
const BUSY_RETRY_AFTER_SECONDS = 1;

/** How many password hashes may run at once on a node, and how many may wait for a place. */
export interface PasswordHashingOptions {
  /** log2 of scrypt's N for new hashes (`PAIRGATE_SCRYPT_COST`). */
  cost: number;
  /** Hashes running at once (`PAIRGATE_PASSWORD_HASHES_AT_ONCE`). */
  atOnce: number;
  /** Hashes waiting for a place beyond those (`PAIRGATE_PASSWORD_HASH_QUEUE`); one more is refused. */
  waiting: number;
}

/**
 * The refusal of a hash that found every place taken and the queue full: 503, since it is the
 * server's load, not anything this client did (RFC 9110 15.6.4: "temporary overload"); a 429 would
 * tell a person who signed in once that they asked too often. Retry-After says when to try again.
 */
export function passwordHashingBusy(): PairgateError {
  return new PairgateError(PASSWORD_HASHING_BUSY, 503, 'The server is busy checking other passwords. Try again in a moment.', { retryAfterSeconds: BUSY_RETRY_AFTER_SECONDS });
}

/**
 * Every password hash of the accounts door (sign-in, registration, change, reset, deletion, the
 * dummy hash of unknown names) goes through one gate per node: at most `atOnce` scrypts run at
 * once, the next `waiting` wait their turn in order of arrival, and any more are refused at once
 * (`passwordHashingBusy`) without costing anything.
 *
 * Why: each scrypt holds 32 MiB (at the default cost) and one of libuv's threads (4 by default,
 * shared with file reads and DNS look-ups) for a tenth of a second or so. Unbounded, whoever sends
 * sign-ins as fast as the rate limits let them (a right password spends no failure budget) queued
 * hashes without end on those threads, and everyone else's sign-in waited behind them for seconds or
 * timed out. Bounded, the memory and threads hashes take are fixed, a wait is at most a queue's
 * worth of hashes, and what cannot be served soon is told so at once. The gate counts this node
 * only, as the threads and memory it protects are this node's.
 */
export class PasswordHashing {
  private running = 0;
  /** Hashes that took a place since the gate was made (`started`). */
  private begun = 0;
  /** The hashes waiting for a place, each woken with the place of one that ended (`release`). */
  private readonly queue: Array<() => void> = [];

  constructor(private readonly options: PasswordHashingOptions) {
    if (!(options.atOnce >= 1) || !(options.waiting >= 0)) throw new Error('a password hashing gate needs a place, and no negative queue');
  }

  /** log2 of scrypt's N for new hashes. */
  get cost(): number {
    return this.options.cost;
  }

  /** Hashes `password` at the configured cost; 503 `password_hashing_busy` when the gate is full. */
  hash(password: string): Promise<string> {
    return this.gated(() => hashPassword(password, this.options.cost));
  }

  /** Whether `password` matches `stored` (`verifyPassword`); 503 `password_hashing_busy` when the gate is full. */
  verify(password: string, stored: string): Promise<boolean> {
    return this.gated(() => verifyPassword(password, stored));
  }

  /** A hash of a random password at the configured cost (`dummyHash`), through the gate as well. */
  dummy(): Promise<string> {
    return this.gated(() => dummyHash(this.options.cost));
  }

  /**
   * Runs `work`, a password hash of another door's own format (the support door's supporter
   * passwords: `doors/support/supporter-passwords.ts`, handed this gate when its server runs the
   * accounts door), through this gate as the accounts' own hashes run; 503
   * `password_hashing_busy` when the gate is full.
   */
  run<T>(work: () => Promise<T>): Promise<T> {
    return this.gated(work);
  }

  /** Whether `stored` was made at another cost than the configured one (`needsRehash`). */
  needsRehash(stored: string): boolean {
    return needsRehash(stored, this.options.cost);
  }

  /** Hashes running now and waiting (for tests and metrics). */
  get load(): { running: number; waiting: number } {
    return { running: this.running, waiting: this.queue.length };
  }

  /**
   * Hashes that have taken a place (run or running) since the gate was made; refused ones are not
   * counted. For tests and metrics: how many scrypts a series of requests cost.
   */
  get started(): number {
    return this.begun;
  }

  private async gated<T>(work: () => Promise<T>): Promise<T> {
    if (this.running < this.options.atOnce) this.running++;
    else if (this.queue.length < this.options.waiting) await new Promise<void>((resolve) => this.queue.push(resolve));
    else throw passwordHashingBusy();
    // Here this hash holds a place: taken above, or handed over by the one that ended (`release`).
    this.begun++;
    try {
      return await work();
    } finally {
      this.release();
    }
  }

  /** Hands the place of a hash that ended to the first waiting, else frees it. */
  private release(): void {
    const next = this.queue.shift();
    if (next) next();
    else this.running--;
  }
}
