/**
 * Listeners by key within one process: grant ids for the notifier, topics for the message bus. The
 * in-process notifier and bus are nothing more; the PostgreSQL and Redis ones deliver here what
 * other nodes sent.
 */
export class KeyedListeners<Event> {
  private readonly listeners = new Map<string, Set<(event: Event) => void>>();

  /** Adds `listener` to `key`; returns the function that removes it. */
  listen(key: string, listener: (event: Event) => void): () => void {
    let set = this.listeners.get(key);
    if (!set) {
      set = new Set();
      this.listeners.set(key, set);
    }
    set.add(listener);
    return () => {
      const current = this.listeners.get(key);
      if (!current) return;
      current.delete(listener);
      if (current.size === 0) this.listeners.delete(key);
    };
  }

  /**
   * Calls the listeners of `key` with `event`. One that throws does not keep it from the others,
   * nor fail the write that published it (a socket that closed meanwhile, say).
   */
  deliver(key: string, event: Event): void {
    const set = this.listeners.get(key);
    if (!set) return;
    for (const listener of [...set]) {
      try {
        listener(event);
      } catch {
        // The listener's own failure.
      }
    }
  }

  /** Calls the listeners of every key with `eventOf(key)`, as `deliver` does for one. */
  deliverToAll(eventOf: (key: string) => Event): void {
    for (const key of [...this.listeners.keys()]) this.deliver(key, eventOf(key));
  }

  /** Whether any listener is on `key` here (what nobody listens to need not be fetched). */
  has(key: string): boolean {
    return this.listeners.has(key);
  }

  /** Number of keys with at least one listener. */
  get size(): number {
    return this.listeners.size;
  }
}
