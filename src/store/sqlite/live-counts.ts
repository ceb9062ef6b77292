/**
 * The expiry times of one kind's live grants, as a binary min-heap of numbers (a typed array: no
 * object per grant for the collector to trace). A grant deleted, or whose expiry moved, before its
 * time is marked removed by its old expiry and skipped when that expiry comes up. Every expiry at
 * or before `expiredUpTo` has left the heap: that is how a removal knows whether its entry is there.
 */
class ExpiryQueue {
  private heap: Float64Array;
  private size = 0;
  /** Expiry times still in the heap whose grant is gone, with how many of each. */
  private readonly removed = new Map<number, number>();
  private removedCount = 0;

  private expiredUpTo: number;

  /** `expiredUpTo`: a queue made after its key's last one was dropped ignores what ended before. */
  constructor(capacity: number, expiredUpTo: number) {
    this.heap = new Float64Array(capacity);
    this.expiredUpTo = expiredUpTo;
  }

  add(expiresAt: number): void {
    if (expiresAt <= this.expiredUpTo) return;
    if (this.size === this.heap.length) {
      const grown = new Float64Array(this.heap.length * 2);
      grown.set(this.heap);
      this.heap = grown;
    }
    let i = this.size++;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (this.heap[parent]! <= expiresAt) break;
      this.heap[i] = this.heap[parent]!;
      i = parent;
    }
    this.heap[i] = expiresAt;
  }

  remove(expiresAt: number): void {
    if (expiresAt <= this.expiredUpTo) return;
    this.removed.set(expiresAt, (this.removed.get(expiresAt) ?? 0) + 1);
    this.removedCount++;
  }

  /** Live entries at `now` (a clock that went back counts as of the latest time seen). */
  count(now: number): number {
    const until = Math.max(now, this.expiredUpTo);
    while (this.size > 0 && this.heap[0]! <= until) this.forget(this.popMin());
    this.expiredUpTo = until;
    return this.size - this.removedCount;
  }

  /** The earliest expiry of a live entry at `now`, if any. */
  earliest(now: number): number | undefined {
    this.count(now);
    // An entry marked removed at the top is gone already: drop it, so it does not answer.
    while (this.size > 0 && this.removed.has(this.heap[0]!)) this.forget(this.popMin());
    return this.size > 0 ? this.heap[0] : undefined;
  }

  private forget(expiresAt: number): void {
    const marks = this.removed.get(expiresAt);
    if (marks === undefined) return;
    if (marks === 1) this.removed.delete(expiresAt);
    else this.removed.set(expiresAt, marks - 1);
    this.removedCount--;
  }

  private popMin(): number {
    const min = this.heap[0]!;
    const last = this.heap[--this.size]!;
    let i = 0;
    for (;;) {
      const left = 2 * i + 1;
      if (left >= this.size) break;
      const right = left + 1;
      const child = right < this.size && this.heap[right]! < this.heap[left]! ? right : left;
      if (this.heap[child]! >= last) break;
      this.heap[i] = this.heap[child]!;
      i = child;
    }
    if (this.size > 0) this.heap[i] = last;
    return min;
  }
}

/**
 * How many grants of each kind are live, kept exactly in memory by the SQLite store, which is the
 * database's only writer and so sees every grant come and go. Counting them in SQL was a scan of
 * every live grant's index entry (16 ms over 200,000, measured), run once a second by the engine
 * while grants were created, and nothing else could run meanwhile. Here a count only drops the
 * expiries that have passed since the last one.
 */
export class LiveCounts {
  private readonly kinds = new Map<string, ExpiryQueue>();
  /** The latest time keys were dropped at (`dropEmpty`): what ended by then is gone from every key. */
  private droppedUpTo = Number.NEGATIVE_INFINITY;

  /**
   * @param initialCapacity - expiries each key's queue has room for before it grows: many for a
   *   few kinds, few for the many owners (client networks) counted per kind.
   */
  constructor(private readonly initialCapacity = 64) {}

  /** A grant of `kind` now lives until `expiresAt` (added at start-up for every row, expired or not). */
  add(kind: string, expiresAt: number): void {
    this.queue(kind).add(expiresAt);
  }

  /** A grant of `kind` that was to live until `expiresAt` is gone, or its expiry moved. */
  remove(kind: string, expiresAt: number): void {
    this.kinds.get(kind)?.remove(expiresAt);
  }

  /** Grants of `kind` live at `now`. */
  count(kind: string, now: number): number {
    return this.kinds.get(kind)?.count(now) ?? 0;
  }

  /** When the first grant of `kind` live at `now` expires, if one is live. */
  earliestExpiry(kind: string, now: number): number | undefined {
    return this.kinds.get(kind)?.earliest(now);
  }

  /** Forgets the keys with no grant live at `now`, so that keys seen once do not stay for good. */
  dropEmpty(now: number): void {
    for (const [kind, queue] of this.kinds) if (queue.earliest(now) === undefined) this.kinds.delete(kind);
    this.droppedUpTo = Math.max(this.droppedUpTo, now);
  }

  /** Forgets every count (before they are read again from the table). */
  clear(): void {
    this.kinds.clear();
    this.droppedUpTo = Number.NEGATIVE_INFINITY;
  }

  /** Keys held (for tests). */
  get size(): number {
    return this.kinds.size;
  }

  private queue(kind: string): ExpiryQueue {
    let queue = this.kinds.get(kind);
    if (!queue) {
      queue = new ExpiryQueue(this.initialCapacity, this.droppedUpTo);
      this.kinds.set(kind, queue);
    }
    return queue;
  }
}
