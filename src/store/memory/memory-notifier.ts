import type { GrantChange, GrantNotifier, MessageBus } from '../ports.js';
import { TopicListeners } from './topic-listeners.js';

/** Wake-ups and messages within one process: maps from grant id and from topic to their listeners. */
export class MemoryNotifier implements GrantNotifier, MessageBus {
  private readonly listeners = new Map<string, Set<(change: GrantChange) => void>>();
  private readonly topics = new TopicListeners();

  subscribe(id: string, listener: (change: GrantChange) => void): () => void {
    let set = this.listeners.get(id);
    if (!set) {
      set = new Set();
      this.listeners.set(id, set);
    }
    set.add(listener);
    return () => {
      const current = this.listeners.get(id);
      if (!current) return;
      current.delete(listener);
      if (current.size === 0) this.listeners.delete(id);
    };
  }

  /** Delivers a change to local listeners; adapters that span nodes call this on receipt too. */
  deliver(change: GrantChange): void {
    const set = this.listeners.get(change.id);
    if (!set) return;
    for (const listener of [...set]) listener(change);
  }

  async publish(change: GrantChange): Promise<void> {
    this.deliver(change);
  }

  listen(topic: string, listener: (message: string) => void): () => void {
    return this.topics.listen(topic, listener);
  }

  async broadcast(topic: string, message: string): Promise<void> {
    this.topics.deliver(topic, message);
  }

  /** Number of grants with at least one waiter (for metrics). */
  get watchedGrants(): number {
    return this.listeners.size;
  }
}
