/**
 * A bounded map of recent reads, for stores whose process is the only writer of the data underneath
 * (SQLite, whose data folder one server owns). Filled only by reads, which better-sqlite3 makes synchronous, and
 * emptied for a key after every write to it: a cached value is therefore always what the database
 * held at a moment no later write has passed, and a write is visible to every read that starts after
 * the write has returned. Eviction is first in, first out: entries live minutes at most, so recency
 * tracking on every hit would cost more than it saves.
 *
 * The fill order is a ring of keys beside the map, one slot per entry the cache can hold: a fill
 * takes the next slot and evicts the key it held. Nothing is allocated per entry beyond the map's
 * own slot (a linked queue allocates a node per fill, and at thousands of fills a second every node
 * outlived two scavenges and was promoted, to die in the old generation). A key invalidated and
 * filled again holds two slots, and the older one evicts it early: a cache may forget sooner, never
 * serve what a write replaced. The map never holds more keys than the ring has slots.
 */
export class ReadCache<Key, Value> {
  private readonly entries = new Map<Key, Value>();
  /** Keys in fill order; `next` is the slot of the oldest, which the next fill takes. */
  private readonly order: (Key | undefined)[];
  private next = 0;

  /** @param capacity entries kept, at least one; the oldest fill goes first when it is reached. */
  constructor(private readonly capacity: number) {
    // The ring needs a slot to turn on: with none, `next` would run past the end and nothing be evicted.
    if (!Number.isInteger(capacity) || capacity < 1) throw new RangeError(`a read cache holds at least one entry (capacity ${capacity})`);
    this.order = new Array<Key | undefined>(capacity).fill(undefined);
  }

  /** The cached value, or undefined when `key` was never filled, was invalidated or was evicted. */
  get(key: Key): Value | undefined {
    return this.entries.get(key);
  }

  /** Remembers what a read of `key` returned (a key already held keeps its place). */
  fill(key: Key, value: Value): void {
    if (!this.entries.has(key)) {
      const oldest = this.order[this.next];
      if (oldest !== undefined) this.entries.delete(oldest);
      this.order[this.next] = key;
      this.next = this.next + 1 === this.capacity ? 0 : this.next + 1;
    }
    this.entries.set(key, value);
  }

  /** Forgets `key`: called after each write to it. Its slot in the ring is taken in turn. */
  invalidate(key: Key): void {
    this.entries.delete(key);
  }

  /** Forgets everything (a write whose keys are not known, e.g. a sweep by time). */
  clear(): void {
    this.entries.clear();
    this.order.fill(undefined);
    this.next = 0;
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
