import { MISSED_CHANGES, type GrantChange, type GrantNotifier, type MessageBus } from '../ports.js';
import { KeyedListeners } from './keyed-listeners.js';

/** Wake-ups and messages within one process: listeners by grant id and by topic. */
export class MemoryNotifier implements GrantNotifier, MessageBus {
  private readonly grants = new KeyedListeners<GrantChange>();
  private readonly topics = new KeyedListeners<string>();

  subscribe(id: string, listener: (change: GrantChange) => void): () => void {
    return this.grants.listen(id, listener);
  }

  /** Delivers a change to local listeners; adapters that span nodes call this on receipt too. */
  deliver(change: GrantChange): void {
    this.grants.deliver(change.id, change);
  }

  /**
   * Wakes every local subscriber to read its grant again, with version `MISSED_CHANGES`: called by
   * the adapters that span nodes when their listening connection comes back, since the changes
   * other nodes published meanwhile never arrived.
   */
  resync(): void {
    this.grants.deliverToAll((id) => ({ id, version: MISSED_CHANGES }));
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
    return this.grants.size;
  }
}
