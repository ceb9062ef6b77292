import type { Clock } from '../core/clock.js';
import type { CodeFormat, CodeHasher } from '../core/codes.js';
import { InvalidRequestError, NotFoundError, UnavailableError } from '../core/errors.js';
import type { Grant, GrantPatch, GrantState } from '../core/grant.js';
import { effectiveState, transition, type GrantEvent } from '../core/grant-machine.js';
import { constantTimeEqual, hashToken, randomToken, timeOrderedId } from '../core/ids.js';
import { CodeTakenError, type GrantChange, type GrantNotifier, type GrantStore } from '../store/ports.js';
import { WakeQueue } from './wake-queue.js';

/** What a door asks for when it creates a grant. */
export interface CreateGrantInput<Request> {
  kind: string;
  request: Request;
  ttlMs: number;
  /** Give the grant a human code in this format. */
  codeFormat?: CodeFormat;
  /** Give the grant a secret (returned once, stored hashed), e.g. a device code. */
  withSecret?: boolean;
  /** A chosen id (e.g. a session name); random otherwise. */
  id?: string;
  /**
   * At most `max` live grants of this kind (`of: 'pending'`: at most `max` still pending, so a cap
   * on the codes that can be guessed does not count decided grants, whose codes are spent): when
   * that many are (or are being created), `refuse()` is thrown instead. The count and this
   * creation's place in it are taken in one step, so grants created at once on this node never
   * pass the cap together (see countLive for other nodes). A kind's grants are always capped the
   * same way.
   */
  capacity?: Capacity;
  /**
   * Who creates it and the most live grants of this kind it may hold (NewGrant.owner, ownerCap):
   * a store that `countsOwners` refuses past `max` with OwnerCapError, exactly.
   */
  owner?: { id: string; max: number };
}

/** A cap on the grants of a kind (`CreateGrantInput.capacity`). */
export interface Capacity {
  max: number;
  refuse: () => Error;
  /** What counts against `max`: every live grant (the default), or the pending ones only. */
  of?: 'live' | 'pending';
}

/**
 * The count of each kind's live (or pending) grants read from the store, reused for a second, and
 * the reads under way: callers meanwhile share the one read, and the creations finishing during
 * it are added to what it returns (it may have missed them).
 */
class CountsRead {
  readonly counts = new Map<string, { count: number; at: number }>();
  readonly reads = new Map<string, { done: Promise<void>; finished: number }>();

  constructor(readonly read: (kind: string, now: number) => Promise<number>) {}

  /** A creation of `kind` finished: it is in no count read before it. */
  created(kind: string): void {
    const cached = this.counts.get(kind);
    if (cached) cached.count++;
    const reading = this.reads.get(kind);
    if (reading) reading.finished++;
  }
}

/** A new grant with its code and secret in clear: the only time they exist outside a hash. */
export interface CreatedGrant<Request> {
  grant: Grant<Request>;
  code?: string;
  secret?: string;
}

/**
 * `created` with `secret` added when there is one (no `secret` key otherwise). Assigned, not spread
 * into the literal (`...(secret ? { secret } : {})`): that takes V8's slow path on Node 20, as
 * `createCounted` explains, on every grant created.
 */
function withSecret<Request>(created: CreatedGrant<Request>, secret: string | undefined): CreatedGrant<Request> {
  if (secret !== undefined) created.secret = secret;
  return created;
}

/** Something to tell about each grant event (metrics, audit). */
export interface GrantObserver {
  created?(grant: Grant): void;
  transitioned?(grant: Grant, from: GrantState): void;
  /**
   * Telling the other nodes of a stored change failed (`error`); `retryInMs` is when it is tried
   * again, undefined when it is given up (their waiters then read the change at their timeout, the
   * grant's expiry, or when their connection to the notifier is made again).
   */
  publishFailed?(change: GrantChange, error: unknown, retryInMs: number | undefined): void;
}

/**
 * When a change the store holds could not be published, how long to wait before each new try
 * (about 16 s in all): long enough for a connection to be made again, short against a long-poll.
 */
export const PUBLISH_RETRY_DELAYS_MS: readonly number[] = [250, 500, 1_000, 2_000, 4_000, 8_000];

/** How often a compare-and-set is retried when another writer wins the race. */
const CAS_RETRIES = 8;
/** How long a live-grant count is reused. */
const LIVE_COUNT_MAX_AGE_MS = 1_000;
/** How often a fresh code is drawn when the first ones are taken. */
const CODE_RETRIES = 10;

/**
 * The grant engine: creates grants, moves them through the state machine with compare-and-set,
 * publishes every change and lets clients wait for the next one. Doors use it instead of the store.
 */
export class GrantEngine {
  private readonly observers: GrantObserver[] = [];
  /** Publishes waiting to be tried again (`publish`), cleared by `close`. */
  private readonly retries = new Set<NodeJS.Timeout>();
  private closed = false;
  private readonly liveCounts: CountsRead;
  private readonly pendingCounts: CountsRead;
  /** Creations of each kind started here and not finished: not in any count read from the store yet. */
  private readonly creating = new Map<string, number>();
  /** Wake-ups of waiters, run a bounded number per turn of the event loop (`waitForChange`). */
  private readonly wakes = new WakeQueue();

  /**
   * `codes` hashes codes under the server's code key (`code-hash-key.ts`): every engine sharing
   * `grants` must use the same key, or it finds none of the others' codes.
   */
  constructor(
    private readonly grants: GrantStore,
    private readonly notifier: GrantNotifier,
    readonly clock: Clock,
    private readonly codes: CodeHasher,
  ) {
    this.liveCounts = new CountsRead((kind, now) => grants.countLive(kind, now));
    this.pendingCounts = new CountsRead((kind, now) => grants.countPending(kind, now));
  }

  /** The stored form of `canonicalCode` in door `kind` (for a door's own records of a code). */
  codeHash(kind: string, canonicalCode: string): string {
    return this.codes.hash(kind, canonicalCode);
  }

  /**
   * Whether the store keeps `CreateGrantInput.owner` caps itself (see GrantStore.countsOwners);
   * without it, a door that caps creators keeps the cap its own way.
   */
  get countsOwners(): boolean {
    return this.grants.countsOwners === true;
  }

  /** Registers an observer of creations and transitions. */
  observe(observer: GrantObserver): void {
    this.observers.push(observer);
  }

  /**
   * Creates a pending grant, with a unique live code and a secret when asked.
   *
   * Not an async function: the count is nearly always fresh, and then the place is taken and the
   * creation started in this call, with no promise and no turn of the microtask queue of its own
   * (one async layer fewer on every grant created).
   */
  create<Request>(input: CreateGrantInput<Request>): Promise<CreatedGrant<Request>> {
    try {
      if (input.capacity) {
        if (!this.reserveNow(input.kind, input.capacity)) return this.createAfterReserving(input, input.capacity);
      } else {
        this.creating.set(input.kind, (this.creating.get(input.kind) ?? 0) + 1);
      }
    } catch (error) {
      // A full capacity refuses here: as a rejected promise, as an async function would have.
      return Promise.reject(error);
    }
    return this.createCounted(input);
  }

  /** `create` once the live count has been read: it was stale, and the place could not be taken at once. */
  private async createAfterReserving<Request>(input: CreateGrantInput<Request>, capacity: Capacity): Promise<CreatedGrant<Request>> {
    await this.reserveAfterReading(input.kind, capacity);
    return this.createCounted(input);
  }

  /** Creates the grant whose place `create` took, and gives the place back when it is done. */
  private async createCounted<Request>(input: CreateGrantInput<Request>): Promise<CreatedGrant<Request>> {
    try {
      const secret = input.withSecret ? randomToken() : undefined;
      const id = input.id ?? timeOrderedId(this.clock.now());
      const secretHash = secret ? hashToken(secret) : null;
      // Written out, not `{ ...base, codeHash }`: on Node 20's V8 an object spread followed by more
      // properties takes a slow path (about 8,000 instructions, measured with callgrind), and this
      // runs on every grant created.
      const owner = input.owner?.id ?? null;
      const ownerCap = input.owner?.max;
      const newGrant = (codeHash: string | null) => ({ kind: input.kind, request: input.request, ttlMs: input.ttlMs, id, secretHash, codeHash, owner, ownerCap });
      if (!input.codeFormat) {
        const grant = await this.grants.create(newGrant(null), this.clock.now());
        this.tellCreated(grant);
        return withSecret({ grant }, secret);
      }
      for (let attempt = 0; attempt < CODE_RETRIES; attempt++) {
        const code = input.codeFormat.generate();
        try {
          const grant = await this.grants.create(newGrant(this.codes.hash(input.kind, code)), this.clock.now());
          this.tellCreated(grant);
          return withSecret({ grant, code }, secret);
        } catch (error) {
          if (!(error instanceof CodeTakenError)) throw error;
        }
      }
      // Ten collisions in a row means the live codes fill the space: the brute-force budget check
      // at start-up should have refused such a configuration.
      throw new UnavailableError('No free code could be found; try again shortly.', 'code_space_exhausted');
    } finally {
      const left = this.creating.get(input.kind)! - 1;
      if (left === 0) this.creating.delete(input.kind);
      else this.creating.set(input.kind, left);
    }
  }

  /** The live grant with this id. */
  get<Request, Result>(id: string): Promise<Grant<Request, Result> | undefined> {
    return this.grants.findById<Request, Result>(id, this.clock.now());
  }

  /** The live grant with this id, or a 404. */
  async require<Request, Result>(id: string, message = 'This request does not exist or has expired.'): Promise<Grant<Request, Result>> {
    const grant = await this.get<Request, Result>(id);
    if (!grant) throw new NotFoundError(message, 'grant_not_found');
    return grant;
  }

  /**
   * Reads a typed code in `format` and finds its live grant of `kind`. A malformed code is a 400 that
   * says what is wrong (no look-up is made); an unknown one is undefined.
   */
  async findByCode<Request, Result>(kind: string, format: CodeFormat, input: string): Promise<Grant<Request, Result> | undefined> {
    const parsed = format.parse(input);
    if (!parsed.ok) throw new InvalidRequestError(parsed.message, { problem: parsed.problem }, `code_${parsed.problem}`);
    return this.grants.findByCode<Request, Result>(kind, this.codes.hash(kind, parsed.code), this.clock.now());
  }

  /**
   * The live grant `id` of `kind`, if `secret` is its secret. The grant is found by its id and the
   * secret's hash compared in constant time, so no index of secrets exists to be probed.
   */
  async findWithSecret<Request, Result>(kind: string, id: string, secret: string): Promise<Grant<Request, Result> | undefined> {
    const presented = hashToken(secret);
    const grant = await this.get<Request, Result>(id);
    const stored = grant?.kind === kind ? grant.secretHash : null;
    // Compare even without a stored hash, so that the time taken does not say which check failed.
    const matches = constantTimeEqual(stored ?? presented, presented) && stored !== null;
    return matches ? grant : undefined;
  }

  /**
   * Approves a pending grant, recording `result`. `precondition`, when given, sees the grant as it
   * is decided (within the compare-and-set, so also on a retry) and refuses by throwing: a door's
   * own condition on the grant's request holds at the moment of the decision, not only when read.
   */
  approve<Result, Request = unknown>(id: string, result?: Result, precondition?: (grant: Grant<Request, Result>) => void): Promise<Grant<Request, Result>> {
    return this.move(id, 'approve', result, precondition);
  }

  /** Refuses a pending grant, recording `result` (e.g. a reason); `precondition` as for `approve`. */
  refuse<Result, Request = unknown>(id: string, result?: Result, precondition?: (grant: Grant<Request, Result>) => void): Promise<Grant<Request, Result>> {
    return this.move(id, 'refuse', result, precondition);
  }

  /**
   * Redeems an approved grant: of any number of concurrent callers exactly one gets it. The others,
   * and callers for a grant in another state, get the typed error of the state machine.
   */
  async redeem<Request, Result>(id: string): Promise<Grant<Request, Result>> {
    const redeemed = await this.grants.redeem<Request, Result>(id, this.clock.now());
    if (redeemed) {
      await this.changed(redeemed, 'approved');
      return redeemed;
    }
    const current = await this.require<Request, Result>(id);
    transition(current, 'redeem', this.clock.now()); // throws the precise reason
    throw new UnavailableError('The request changed while being redeemed; try again.', 'grant_busy');
  }

  /**
   * Applies a door's own change (e.g. updating what is shown, extending a session) with
   * compare-and-set, re-reading and re-deciding when another writer got there first.
   */
  async update<Request, Result>(
    id: string,
    decide: (grant: Grant<Request, Result>) => GrantPatch<Request, Result>,
  ): Promise<Grant<Request, Result>> {
    for (let attempt = 0; attempt < CAS_RETRIES; attempt++) {
      const current = await this.require<Request, Result>(id);
      const patch = decide(current);
      const next = await this.grants.update<Request, Result>(id, current.version, patch, this.clock.now());
      if (next) {
        await this.changed(next, current.state);
        return next;
      }
    }
    throw new UnavailableError('The request is being changed by someone else; try again.', 'grant_busy');
  }

  /**
   * Live grants of `kind`. Counting is a scan, so the figure read from the store is reused for a
   * second (one read at a time, shared by all who ask meanwhile), bumped by each creation this node
   * finishes, plus the creations it has started and not finished (a group commit holds dozens):
   * grants that expire or go meanwhile still count until the next read, so the figure is never below
   * what this node knows. Other nodes' creations since the last read are not seen (up to a second's
   * worth). Caps are kept with `CreateGrantInput.capacity`, which checks and counts in one step;
   * comparing this figure first only refuses early, before costly work.
   */
  async countLive(kind: string): Promise<number> {
    return this.count(this.liveCounts, kind);
  }

  private async count(counts: CountsRead, kind: string): Promise<number> {
    let live = this.freshCount(counts, kind);
    while (live === undefined) {
      await this.readCount(counts, kind);
      live = this.freshCount(counts, kind);
    }
    return live;
  }

  /** The counts `capacity` is kept with. */
  private countsOf(capacity: Capacity): CountsRead {
    return capacity.of === 'pending' ? this.pendingCounts : this.liveCounts;
  }

  /**
   * Counts this creation as live if fewer than `capacity.max` are, else throws `capacity.refuse()`:
   * true once its place is taken, false (nothing taken) when no fresh count is at hand, and then
   * `reserveAfterReading` reads one. The check and the count's increment happen with no await
   * between them: two creations can never both see the last free place.
   */
  private reserveNow(kind: string, capacity: Capacity): boolean {
    const live = this.freshCount(this.countsOf(capacity), kind);
    if (live === undefined) return false;
    if (live >= capacity.max) throw capacity.refuse();
    this.creating.set(kind, (this.creating.get(kind) ?? 0) + 1);
    return true;
  }

  /** `reserveNow` once a fresh count is read (the count it lacked may go stale again meanwhile). */
  private async reserveAfterReading(kind: string, capacity: Capacity): Promise<void> {
    do await this.readCount(this.countsOf(capacity), kind);
    while (!this.reserveNow(kind, capacity));
  }

  /**
   * The count of `kind` if the one read from the store is recent enough, else undefined. One read
   * "later" than now was read before the clock was stepped back: stale too, or it would pass for
   * fresh until the clock caught up (an hour's step kept a full kind refused for the hour).
   */
  private freshCount(counts: CountsRead, kind: string): number | undefined {
    const cached = counts.counts.get(kind);
    if (!cached) return undefined;
    const age = this.clock.now() - cached.at;
    if (age < 0 || age >= LIVE_COUNT_MAX_AGE_MS) return undefined;
    return cached.count + (this.creating.get(kind) ?? 0);
  }

  /**
   * Reads the count of `kind` from the store, once for all who ask meanwhile: a count is a scan,
   * and on a store a round-trip away every request arriving during it would start another.
   */
  private readCount(counts: CountsRead, kind: string): Promise<void> {
    const current = counts.reads.get(kind);
    if (current) return current.done;
    const at = this.clock.now();
    const reading = { finished: 0, done: Promise.resolve() };
    reading.done = counts
      .read(kind, at)
      .then((count) => {
        // A creation that finished during the read may be in it or not: counted twice rather than
        // not at all, until the next read.
        counts.counts.set(kind, { count: count + reading.finished, at });
      })
      .finally(() => counts.reads.delete(kind));
    counts.reads.set(kind, reading);
    return reading.done;
  }

  /** Counts a failed look-up or confirmation of the grant's code; returns the new count. */
  recordFailedAttempt(id: string): Promise<number> {
    return this.grants.recordFailedAttempt(id, this.clock.now());
  }

  /** Removes a grant (its owner ended it); waiters learn that it is gone. */
  async remove(id: string): Promise<boolean> {
    const current = await this.get(id);
    const removed = await this.grants.delete(id);
    if (removed) await this.publish({ id, version: (current?.version ?? 0) + 1 });
    return removed;
  }

  /**
   * Waits until grant `id` has a version above `sinceVersion`, it expires, or `timeoutMs` passes;
   * returns the grant as it then is (undefined once gone). Subscribes before reading, so a change
   * between the read and the wait is never missed. A wake-up that finds the grant unchanged (the
   * notifier's `MISSED_CHANGES` after a reconnect, when nothing did change) waits on.
   */
  async waitForChange<Request, Result>(
    id: string,
    sinceVersion: number,
    timeoutMs: number,
    signal?: AbortSignal,
  ): Promise<Grant<Request, Result> | undefined> {
    let wake: () => void = () => {};
    let woken = Promise.resolve();
    const rearm = (): void => {
      woken = new Promise<void>((resolve) => {
        wake = resolve;
      });
    };
    rearm();
    let timedOut = false;
    // Through the engine's wake queue: an approval with thousands of waiters wakes them a turn of
    // the event loop at a time, other requests answered in between (WakeQueue). The wake-up reads
    // `wake` when it runs: a late one after a rearm only makes the loop below read again. Keyed
    // by the grant: each grant's waiters get their share of a turn, whatever another grant has.
    const wakeInTurn = (): void => this.wakes.run(() => wake(), id);
    const unsubscribe = this.notifier.subscribe(id, (change) => {
      if (change.version > sinceVersion) wakeInTurn();
    });
    const onAbort = (): void => wake();
    signal?.addEventListener('abort', onAbort, { once: true });
    let timer: NodeJS.Timeout | undefined;
    try {
      let current = await this.get<Request, Result>(id);
      if (!current || current.version > sinceVersion || signal?.aborted) return current;
      // Wake at expiry too, so a waiter learns that nobody decided in time.
      const untilExpiry = Math.max(0, current.expiresAt - this.clock.now()) + 5;
      // Queued too: waits opened together (a burst of clients with the same ?wait=) end together.
      timer = setTimeout(() => {
        timedOut = true;
        wakeInTurn();
      }, Math.min(timeoutMs, untilExpiry));
      for (;;) {
        await woken;
        rearm();
        current = await this.get<Request, Result>(id);
        if (timedOut || signal?.aborted || !current || current.version > sinceVersion) return current;
      }
    } finally {
      if (timer) clearTimeout(timer);
      signal?.removeEventListener('abort', onAbort);
      unsubscribe();
    }
  }

  /** The state of a grant at this instant, expiry applied. */
  stateOf(grant: Pick<Grant, 'state' | 'expiresAt'>): GrantState {
    return effectiveState(grant, this.clock.now());
  }

  /** Deletes expired grants; returns how many of each kind went, and tells each batch's to `onBatch` as it goes (`GrantStore.sweepExpired`). */
  async sweep(onBatch?: (counts: Record<string, number>) => void): Promise<Record<string, number>> {
    return this.grants.sweepExpired(this.clock.now(), onBatch);
  }

  private async move<Request, Result>(id: string, event: GrantEvent, result?: Result, precondition?: (grant: Grant<Request, Result>) => void): Promise<Grant<Request, Result>> {
    return this.update<Request, Result>(id, (grant) => {
      precondition?.(grant);
      return transition(grant, event, this.clock.now(), result);
    });
  }

  private async changed(grant: Grant, from: GrantState): Promise<void> {
    await this.publish({ id: grant.id, version: grant.version });
    if (grant.state !== from) for (const observer of this.observers) observer.transitioned?.(grant, from);
  }

  /**
   * Tells every waiter of a change already stored. This node's waiters are woken before the
   * notifier sends it on, so what can fail is only the other nodes' hearing of it: that is retried
   * in the background (`PUBLISH_RETRY_DELAYS_MS`), and the caller, whose change is made and kept,
   * is answered as made, not with an error that would have it try a decision already taken.
   */
  private async publish(change: GrantChange, attempt = 0): Promise<void> {
    try {
      await this.notifier.publish(change);
    } catch (error) {
      // Closing: the notifier is going, and nobody waits here any more.
      if (this.closed) return;
      const retryInMs = PUBLISH_RETRY_DELAYS_MS[attempt];
      for (const observer of this.observers) observer.publishFailed?.(change, error, retryInMs);
      if (retryInMs === undefined) return;
      const timer = setTimeout(() => {
        this.retries.delete(timer);
        void this.publish(change, attempt + 1);
      }, retryInMs);
      timer.unref();
      this.retries.add(timer);
    }
  }

  /** Stops publishing again what failed (the server is closing): call before the stores close. */
  close(): void {
    this.closed = true;
    for (const timer of this.retries) clearTimeout(timer);
    this.retries.clear();
  }

  private tellCreated(grant: Grant): void {
    // A new grant is live and pending both.
    this.liveCounts.created(grant.kind);
    this.pendingCounts.created(grant.kind);
    for (const observer of this.observers) observer.created?.(grant);
  }
}
