/**
 * Listeners by topic within one process: the local half of every `MessageBus` (the in-process one
 * is nothing more; the PostgreSQL and Redis ones deliver here what other nodes sent).
 */
export class TopicListeners {
  private readonly listeners = new Map<string, Set<(message: string) => void>>();

  /** Adds `listener` to `topic`; returns the function that removes it. */
  listen(topic: string, listener: (message: string) => void): () => void {
    let set = this.listeners.get(topic);
    if (!set) {
      set = new Set();
      this.listeners.set(topic, set);
    }
    set.add(listener);
    return () => {
      const current = this.listeners.get(topic);
      if (!current) return;
      current.delete(listener);
      if (current.size === 0) this.listeners.delete(topic);
    };
  }

  /** Calls the listeners of `topic` with `message`; one that throws does not keep it from the others. */
  deliver(topic: string, message: string): void {
    const set = this.listeners.get(topic);
    if (!set) return;
    for (const listener of [...set]) {
      try {
        listener(message);
      } catch {
        // A listener's failure is its own (a socket that closed meanwhile, say).
      }
    }
  }

  /** Whether any listener is on `topic` here: messages for topics nobody listens to are not fetched. */
  has(topic: string): boolean {
    return this.listeners.has(topic);
  }
}
