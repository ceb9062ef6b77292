import type { Redis } from 'ioredis';
import { randomId } from '../../core/ids.js';
import { MemoryNotifier } from '../memory/memory-notifier.js';
import { KeyedListeners } from '../memory/keyed-listeners.js';
import type { GrantChange, GrantNotifier, MessageBus } from '../ports.js';
import { encodeBusMessage, parseBusMessage } from '../bus-message.js';
import { encodeChange, parseChange } from '../grant-change-message.js';

/**
 * Wake-ups and bus messages across nodes through Redis pub/sub. Publishing delivers to local
 * listeners at once and PUBLISHes on `P grants` (or `P bus`); a dedicated subscriber connection (a
 * subscribed connection can run no other command) hands every message from another node to the
 * local listeners. After a reconnect it subscribes again (not ioredis: see openRedisStores); changes
 * published while it was away never arrive, so once subscribed again every local waiter reads its
 * grant again (see `MemoryNotifier.resync`). Bus messages sent meanwhile are missed here (the support
 * door replays its own from a log).
 */
export class RedisNotifier implements GrantNotifier, MessageBus {
  private readonly local = new MemoryNotifier();
  private readonly topics = new KeyedListeners<string>();
  private readonly nodeId = randomId(8);
  /** Set once subscribed: later 'ready' events are reconnects. */
  private started = false;
  readonly channel: string;
  readonly busChannel: string;

  constructor(
    private readonly publisher: Redis,
    private readonly subscriber: Redis,
    prefix: string,
  ) {
    this.channel = `${prefix}grants`;
    this.busChannel = `${prefix}bus`;
    subscriber.on('message', (channel: string, payload: string) => {
      if (channel === this.channel) {
        const change = parseChange(payload);
        if (change && change.node !== this.nodeId) this.local.deliver({ id: change.id, version: change.version });
      } else if (channel === this.busChannel) {
        const envelope = parseBusMessage(payload);
        if (envelope && envelope.node !== this.nodeId && envelope.message !== undefined) this.topics.deliver(envelope.topic, envelope.message);
      }
    });
    subscriber.on('ready', () => {
      if (this.started) void this.resubscribed();
    });
  }

  /**
   * After a reconnect: subscribes again and, once Redis confirms it, wakes the local waiters, whose
   * changes may have been published while nobody here listened.
   */
  private async resubscribed(): Promise<void> {
    try {
      await this.subscriber.subscribe(this.channel, this.busChannel);
    } catch {
      // Dropped again: the next 'ready' tries again.
      return;
    }
    this.local.resync();
  }

  /** Subscribes the dedicated connection; call once before use. */
  async start(): Promise<void> {
    await this.subscriber.subscribe(this.channel, this.busChannel);
    this.started = true;
  }

  listen(topic: string, listener: (message: string) => void): () => void {
    return this.topics.listen(topic, listener);
  }

  async broadcast(topic: string, message: string): Promise<void> {
    this.topics.deliver(topic, message);
    await this.publisher.publish(this.busChannel, encodeBusMessage({ node: this.nodeId, topic, message }));
  }

  subscribe(id: string, listener: (change: GrantChange) => void): () => void {
    return this.local.subscribe(id, listener);
  }

  async publish(change: GrantChange): Promise<void> {
    this.local.deliver(change);
    await this.publisher.publish(this.channel, encodeChange(this.nodeId, change));
  }
}
