import type { Grant, GrantPatch, NewGrant } from '../core/grant.js';
import type { Redis } from 'ioredis';
import type { DurableDb } from './durable-schema.js';
import type { MigrationReport } from './migrate.js';

/**
 * The store ports: what doors and the engine may use. Adapters (SQLite, PostgreSQL, Redis) implement
 * them and must pass the contract suite in test/store/contract/. Every method that reads a grant
 * takes `now` and never returns one whose `expiresAt` has passed.
 */

/** Thrown by `GrantStore.create` when the code hash is taken by a live grant. */
export class CodeTakenError extends Error {
  constructor() {
    super('code already in use by a live grant');
  }
}

/** Thrown by `GrantStore.create` when the id is taken. */
export class IdTakenError extends Error {
  constructor() {
    super('id already in use');
  }
}

/**
 * Thrown by `GrantStore.create` of a store that counts owners (`countsOwners`) when the grant's
 * owner already holds `ownerCap` live grants of its kind.
 */
export class OwnerCapError extends Error {
  constructor(
    /** Milliseconds until the owner's first live grant expires and frees a place (at least 1). */
    readonly retryAfterMs: number,
  ) {
    super('the owner holds as many live grants as it may');
  }
}

/** Grants: ephemeral, single-use, compare-and-set. */
export interface GrantStore {
  /**
   * True for a store that counts each owner's live grants itself and enforces `NewGrant.ownerCap`
   * in `create`, exactly under concurrency (the SQLite store: the database's only writer). Absent
   * on the shared stores, whose doors keep such caps in the ephemeral store (NumberedSlots).
   */
  readonly countsOwners?: boolean;
  /**
   * Stores a new pending grant. Throws CodeTakenError when a live grant holds the same code hash
   * (an expired one holding it is replaced), IdTakenError when the id is taken, and (a store that
   * `countsOwners`) OwnerCapError when the owner holds `ownerCap` live grants of the kind.
   */
  create<Request>(grant: NewGrant<Request> & { id: string }, now: number): Promise<Grant<Request>>;
  /** The live grant with this id. */
  findById<Request, Result>(id: string, now: number): Promise<Grant<Request, Result> | undefined>;
  /** The live grant of `kind` whose code hashes to `codeHash`. */
  findByCode<Request, Result>(kind: string, codeHash: string, now: number): Promise<Grant<Request, Result> | undefined>;
  /**
   * Applies `patch` if the grant is live and still at `expectedVersion`; returns the new grant, or
   * undefined when another writer got there first (or it expired). A new code hash held by another
   * live grant throws CodeTakenError (an expired holder gives it up).
   */
  update<Request, Result>(
    id: string,
    expectedVersion: number,
    patch: GrantPatch<Request, Result>,
    now: number,
  ): Promise<Grant<Request, Result> | undefined>;
  /**
   * Moves an approved, live grant to redeemed, atomically: of any number of concurrent callers,
   * exactly one gets the grant, the others undefined.
   */
  redeem<Request, Result>(id: string, now: number): Promise<Grant<Request, Result> | undefined>;
  /** Adds one failed attempt to the grant and returns the new count (0 if it is gone). */
  recordFailedAttempt(id: string, now: number): Promise<number>;
  /**
   * Deletes every grant expired at `now`; returns how many of each kind went. A store that deletes
   * a batch at a time tells each batch's counts to `onBatch` as it is deleted, so a sweep that
   * fails midway has told what it deleted before (the expired-grant metrics count them).
   */
  sweepExpired(now: number, onBatch?: (counts: Record<string, number>) => void): Promise<Record<string, number>>;
  /** Live grants of a kind (for capacity checks and metrics). */
  countLive(kind: string, now: number): Promise<number>;
  /**
   * Live grants of a kind still pending: those whose code can still be looked up and approved. A
   * cap on codes (what a brute-force budget is computed for) counts these: a decided grant's code
   * is spent, though the grant lives on until it is redeemed or expires.
   */
  countPending(kind: string, now: number): Promise<number>;
  /** Deletes a grant outright (e.g. when its owner removes it). */
  delete(id: string): Promise<boolean>;
}

/** A grant change, as published to waiters. */
export interface GrantChange {
  id: string;
  /** The version the grant reached, or `MISSED_CHANGES`. */
  version: number;
}

/**
 * The version of a change delivered when changes may have been missed (a node's listening
 * connection to PostgreSQL or Redis dropped and came back): higher than any real version, so every
 * waiter wakes, and each reads its grant again to see whether anything did change.
 */
export const MISSED_CHANGES = Number.POSITIVE_INFINITY;

/** Wake-ups: every transition is published; waiters on any node learn of it at once. */
export interface GrantNotifier {
  /**
   * Calls `listener` on every change of grant `id` until the returned function is called, and with
   * version `MISSED_CHANGES` when changes may have been missed.
   */
  subscribe(id: string, listener: (change: GrantChange) => void): () => void;
  /** Tells every subscriber of `change.id` (on every node) that it changed. */
  publish(change: GrantChange): Promise<void>;
}

/**
 * Messages between the nodes of one deployment, by topic: what a socket held by one node says
 * reaches the sockets of the same topic held by any node (a support session's chat, say, when the
 * agent and the supporter are connected to different nodes). At most once, in the order one node
 * sent them; a node that is cut off misses what was said meanwhile.
 */
export interface MessageBus {
  /** Calls `listener` with every message broadcast on `topic` by any node, this one included, until the returned function is called. */
  listen(topic: string, listener: (message: string) => void): () => void;
  /** Sends `message` to the listeners of `topic` on every node (this one's at once). */
  broadcast(topic: string, message: string): Promise<void>;
}

/**
 * The `latestEnd` of an `EphemeralStore.increment` that keeps a live counter's end: later than any
 * end a counter has, and an exact integer every store can bind (a bigint on PostgreSQL).
 */
export const ANY_END = Number.MAX_SAFE_INTEGER;

/** Ephemeral key-value data with a lifetime: attempt counters, announcements, nonces. */
export interface EphemeralStore {
  /**
   * True when other nodes count in this store too (Redis, PostgreSQL): attempts running on another
   * node are then not seen by this one, so failure budgets reserve each attempt in the store first.
   */
  readonly shared: boolean;
  /**
   * Adds one to `key` (created at 0 with lifetime `ttlMs`); returns the new value and when it
   * resets. A live counter that ends later than `latestEnd` (a window opened by a clock since
   * stepped back, or by another node's far ahead: `latestWindowEnd`) is restarted to end at
   * `now + ttlMs`, its count kept, in the same atomic step as the addition, so no increment made at
   * that moment, on any node, is lost. Without `latestEnd` a live counter keeps its end.
   */
  increment(key: string, ttlMs: number, now: number, latestEnd?: number): Promise<{ count: number; resetAt: number }>;
  /**
   * Takes one from the live counter `key`, keeping its end: an attempt that stops running (see
   * `FailureBudget`). Nothing when the key is absent, expired or at zero.
   */
  decrement(key: string, now: number): Promise<void>;
  /** Stores `value` under `key` for `ttlMs`. */
  set(key: string, value: string, ttlMs: number, now: number): Promise<void>;
  /** Stores `value` only if `key` is absent; true when it was stored. */
  setIfAbsent(key: string, value: string, ttlMs: number, now: number): Promise<boolean>;
  /** The live value of `key`. */
  get(key: string, now: number): Promise<string | undefined>;
  /** Reads and deletes `key` atomically (single use). */
  take(key: string, now: number): Promise<string | undefined>;
  /** Deletes `key`. */
  delete(key: string): Promise<void>;
  /**
   * Extends the live entry `key` to end `ttlMs` from `now`, its value kept, only while it holds
   * `value`, in one atomic step; true when it did. A holder renewing its hold this way never takes
   * back a key that lapsed and was taken by another meanwhile (a stalled process, a slow store),
   * which `set` would: both would then believe they hold it.
   */
  renewIfHeld(key: string, value: string, ttlMs: number, now: number): Promise<boolean>;
  /**
   * Deletes the live entry `key` only while it holds `value`, in one atomic step; true when it did.
   * A holder releasing its hold this way never frees one another took after its own lapsed, which
   * `delete` (or a `get` then a `delete`) would.
   */
  deleteIfHeld(key: string, value: string, now: number): Promise<boolean>;
  /** Live entries whose key starts with `prefix`. */
  list(prefix: string, now: number): Promise<{ key: string; value: string; expiresAt: number }[]>;
}

/** Everything a pairgate process stores, behind ports. */
export interface Stores {
  grants: GrantStore;
  notifier: GrantNotifier;
  /** Messages between nodes (the notifier's connection carries them too). */
  bus: MessageBus;
  ephemeral: EphemeralStore;
  /** Durable data: Kysely over a portable schema (SQLite or PostgreSQL underneath). */
  db: DurableDb;
  /** Removes expired ephemeral entries; returns how many. */
  sweepEphemeral(now: number): Promise<number>;
  /**
   * Where the HTTP rate limit counts, so limits hold across every node: `redis` in Redis
   * (@fastify/rate-limit's Redis store, under the key prefix `nameSpace`), `ephemeral` in the
   * ephemeral store (PostgreSQL without Redis). Absent: in process memory (one node).
   */
  rateLimit?: { kind: 'redis'; redis: Redis; nameSpace: string } | { kind: 'ephemeral' };
  /**
   * Writes a consistent copy of the durable database to the file `destination` while serving goes
   * on. Only the embedded database has it: PostgreSQL has its own tools (pg_dump).
   */
  backup?(destination: string): Promise<void>;
  /**
   * Checkpoints of the embedded database's WAL that failed so far, and the last one's error (a
   * full disk, say). Only the embedded database has them: the server logs new ones and exports the
   * count, as a WAL that cannot be copied back grows until it can.
   */
  checkpointFailures?(): { count: number; lastError: string | undefined };
  /**
   * Writes to the embedded database by another program noticed so far (ForeignWriteWatch): the
   * stores then read what they keep in memory again from it, and the server logs each.
   */
  foreignWrites?(): number;
  /**
   * A 32-byte key every node sharing these stores reads, drawn at random by the first to ask for
   * `name` and kept where the grants are (PostgreSQL's `server_keys` table, or Redis). Absent on
   * the embedded store, which no other node shares: its keys are files in the data folder.
   */
  sharedKey?(name: string): Promise<Buffer>;
  /** What opening did to the durable database's schema (`migrateToLatest`), for the start-up log. */
  migrated?: MigrationReport;
  /** Whether the backing services answer (for /readyz). */
  ping(): Promise<void>;
  /** Releases connections and timers. */
  close(): Promise<void>;
}
