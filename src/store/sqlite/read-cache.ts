import { FifoMap } from 'toad-cache';

/**
 * A bounded map of recent reads, for stores whose process is the only writer of the data underneath
 * (SQLite with its exclusive lock). Filled only by reads, which better-sqlite3 makes synchronous, and
 * emptied for a key after every write to it: a cached value is therefore always what the database
 * held at a moment no later write has passed, and a write is visible to every read that starts after
 * the write has returned. Eviction is first in, first out: entries live minutes at most, so recency
 * tracking on every hit would cost more than it saves. The queue is toad-cache's linked FIFO: a
 * plain Map evicting its first key (`keys().next()`) walks over every entry deleted since the Map
 * last compacted, thousands of them, and that walk cost a quarter of creating a grant.
 */
export class ReadCache<Key, Value> {
  private readonly entries: FifoMap<Value>;

  /** @param capacity entries kept; the oldest fill goes first when it is reached. */
  constructor(capacity: number) {
    this.entries = new FifoMap<Value>(capacity, 0);
  }

  /** The cached value, or undefined when `key` was never filled or was invalidated. */
  get(key: Key): Value | undefined {
    return this.entries.get(key);
  }

  /** Remembers what a read of `key` returned. */
  fill(key: Key, value: Value): void {
    this.entries.set(key, value);
  }

  /** Forgets `key`: called after each write to it. */
  invalidate(key: Key): void {
    this.entries.delete(key);
  }

  /** Forgets everything (a write whose keys are not known, e.g. a sweep by time). */
  clear(): void {
    this.entries.clear();
  }

  /** Entries held now (for tests and metrics). */
  get size(): number {
    return this.entries.size;
  }
}

/** Freezes a value and everything it holds, so that a cached object cannot be changed by a caller. */
export function deepFreeze<T>(value: T): T {
  if (value !== null && typeof value === 'object' && !Object.isFrozen(value)) {
    Object.freeze(value);
    // for-in, not Object.values: no array is made for each object frozen (values are JSON, so
    // there are no inherited enumerable keys to skip).
    for (const key in value) deepFreeze(value[key]);
  }
  return value;
}

/**
 * Freezes a grant for the cache: the grant itself, and deeply what its request and result hold (its
 * other fields are strings and numbers), without walking each of its fields as deepFreeze would.
 */
export function freezeGrant<T extends { request: unknown; result: unknown }>(grant: T): T {
  deepFreeze(grant.request);
  deepFreeze(grant.result);
  return Object.freeze(grant);
}
