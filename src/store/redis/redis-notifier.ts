import type { Redis } from 'ioredis';
import { randomId } from '../../core/ids.js';
import { MemoryNotifier } from '../memory/memory-notifier.js';
import type { GrantChange, GrantNotifier } from '../ports.js';
import { encodeChange, parseChange } from '../grant-change-message.js';

/**
 * Wake-ups across nodes through Redis pub/sub. Publishing delivers to local listeners at once and
 * PUBLISHes on `P grants`; a dedicated subscriber connection (a subscribed connection can run no
 * other command) hands every message from another node to the local listeners. ioredis
 * re-subscribes by itself after a reconnect; changes published while it was away wake their
 * waiters at timeout or expiry instead.
 */
export class RedisNotifier implements GrantNotifier {
  private readonly local = new MemoryNotifier();
  private readonly nodeId = randomId(8);
  readonly channel: string;

  constructor(
    private readonly publisher: Redis,
    private readonly subscriber: Redis,
    prefix: string,
  ) {
    this.channel = `${prefix}grants`;
    subscriber.on('message', (channel: string, payload: string) => {
      if (channel !== this.channel) return;
      const change = parseChange(payload);
      if (change && change.node !== this.nodeId) this.local.deliver({ id: change.id, version: change.version });
    });
  }

  /** Subscribes the dedicated connection; call once before use. */
  async start(): Promise<void> {
    await this.subscriber.subscribe(this.channel);
  }

  subscribe(id: string, listener: (change: GrantChange) => void): () => void {
    return this.local.subscribe(id, listener);
  }

  async publish(change: GrantChange): Promise<void> {
    this.local.deliver(change);
    await this.publisher.publish(this.channel, encodeChange(this.nodeId, change));
  }
}
