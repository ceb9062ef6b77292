import pg from 'pg';
import { sql } from 'kysely';
import { randomId } from '../../core/ids.js';
import type { DurableDb } from '../durable-schema.js';
import { MemoryNotifier } from '../memory/memory-notifier.js';
import { KeyedListeners } from '../memory/keyed-listeners.js';
import type { EphemeralStore, GrantChange, GrantNotifier, MessageBus } from '../ports.js';
import { encodeBusMessage, parseBusMessage, type BusEnvelope } from '../bus-message.js';
import { encodeChange, parseChange } from '../grant-change-message.js';

/** The channel grant changes travel on; NOTIFY is scoped to one database, so nodes of one database share it. */
export const PG_GRANT_CHANNEL = 'pairgate_grants';
/** The channel bus messages travel on. */
export const PG_BUS_CHANNEL = 'pairgate_bus';
/** NOTIFY refuses payloads of 8000 bytes or more; larger bus messages travel as a key of the ephemeral table. */
export const PG_NOTIFY_MAX_BYTES = 7_900;
/** How long a large bus message stays readable in the ephemeral table. */
const LARGE_MESSAGE_TTL_MS = 60_000;

/** The `application_name` of the listening connection. */
export const PG_LISTENER_NAME = 'pairgate-listener';

/** How long to wait before connecting the listener again after it lost PostgreSQL. */
const RECONNECT_MS = 500;

/**
 * Wake-ups and bus messages across nodes through PostgreSQL LISTEN/NOTIFY, for deployments with
 * PostgreSQL and no Redis. One dedicated connection listens (a pooled one cannot: LISTEN belongs to a session) and
 * hands each change to the local listeners; publishing is `pg_notify` on any pooled connection.
 * Each message names the node that sent it, so a node does not wake its own waiters twice.
 * While PostgreSQL is away the listener reconnects by itself and `connected` is false (so /readyz
 * says not ready); once it listens again every local waiter reads its grant again, since changes
 * notified in the gap never arrived. Bus messages sent in the gap are missed.
 */
export class PgNotifier implements GrantNotifier, MessageBus {
  private readonly local = new MemoryNotifier();
  private readonly topics = new KeyedListeners<string>();
  private readonly nodeId = randomId(8);
  /** Bus messages go out one after another, so other nodes receive them in the order they were sent. */
  private outbox: Promise<void> = Promise.resolve();
  /** Received bus messages are handed over one after another (a large one is fetched first). */
  private inbox: Promise<void> = Promise.resolve();
  private client: pg.Client | undefined;
  private reconnectTimer: NodeJS.Timeout | undefined;
  private closed = false;
  /** Whether the listening connection is up. */
  connected = false;

  constructor(
    private readonly connectionString: string,
    private readonly db: DurableDb,
    /** Where bus messages too large for NOTIFY are kept for the other nodes to read. */
    private readonly ephemeral: EphemeralStore,
  ) {}

  /** Connects the listener; fails when PostgreSQL does not answer. */
  async start(): Promise<void> {
    // Named, so that an operator (and a test) can tell the listening connection in pg_stat_activity.
    const client = new pg.Client({ connectionString: this.connectionString, connectionTimeoutMillis: 5_000, keepAlive: true, application_name: PG_LISTENER_NAME });
    const lost = (): void => {
      if (this.client !== client) return;
      this.client = undefined;
      this.connected = false;
      client.removeAllListeners('notification');
      client.end().catch(() => {});
      this.scheduleReconnect();
    };
    // Without an 'error' listener a dropped connection would crash the process.
    client.on('error', lost);
    client.on('end', lost);
    client.on('notification', (message) => {
      if (!message.payload) return;
      if (message.channel === PG_GRANT_CHANNEL) {
        const change = parseChange(message.payload);
        if (change && change.node !== this.nodeId) this.local.deliver({ id: change.id, version: change.version });
      } else if (message.channel === PG_BUS_CHANNEL) {
        const envelope = parseBusMessage(message.payload);
        if (envelope && envelope.node !== this.nodeId && this.topics.has(envelope.topic)) this.receive(envelope);
      }
    });
    try {
      await client.connect();
      await client.query(`LISTEN ${PG_GRANT_CHANNEL}`);
      await client.query(`LISTEN ${PG_BUS_CHANNEL}`);
    } catch (error) {
      client.removeAllListeners();
      client.on('error', () => {});
      await client.end().catch(() => {});
      throw error;
    }
    if (this.closed) {
      await client.end().catch(() => {});
      return;
    }
    this.client = client;
    this.connected = true;
  }

  private scheduleReconnect(): void {
    if (this.closed || this.reconnectTimer) return;
    this.reconnectTimer = setTimeout(() => {
      this.reconnectTimer = undefined;
      this.start().then(
        () => this.local.resync(),
        () => this.scheduleReconnect(),
      );
    }, RECONNECT_MS);
    this.reconnectTimer.unref();
  }

  subscribe(id: string, listener: (change: GrantChange) => void): () => void {
    return this.local.subscribe(id, listener);
  }

  async publish(change: GrantChange): Promise<void> {
    this.local.deliver(change);
    const payload = encodeChange(this.nodeId, change);
    await sql`select pg_notify(${PG_GRANT_CHANNEL}, ${payload})`.execute(this.db);
  }

  listen(topic: string, listener: (message: string) => void): () => void {
    return this.topics.listen(topic, listener);
  }

  async broadcast(topic: string, message: string): Promise<void> {
    this.topics.deliver(topic, message);
    const sent = this.outbox.then(() => this.send(topic, message));
    this.outbox = sent.catch(() => {});
    await sent;
  }

  private async send(topic: string, message: string): Promise<void> {
    let payload = encodeBusMessage({ node: this.nodeId, topic, message });
    if (Buffer.byteLength(payload) > PG_NOTIFY_MAX_BYTES) {
      const ref = `bus:${randomId(16)}`;
      await this.ephemeral.set(ref, message, LARGE_MESSAGE_TTL_MS, Date.now());
      payload = encodeBusMessage({ node: this.nodeId, topic, ref });
    }
    await sql`select pg_notify(${PG_BUS_CHANNEL}, ${payload})`.execute(this.db);
  }

  private receive(envelope: BusEnvelope): void {
    this.inbox = this.inbox
      .then(async () => {
        const message = envelope.message ?? (envelope.ref?.startsWith('bus:') ? await this.ephemeral.get(envelope.ref, Date.now()) : undefined);
        if (message !== undefined) this.topics.deliver(envelope.topic, message);
      })
      // A message that cannot be fetched (PostgreSQL away, expired) is missed, like one sent while disconnected.
      .catch(() => {});
  }

  /** Stops listening for good. */
  async close(): Promise<void> {
    this.closed = true;
    if (this.reconnectTimer) clearTimeout(this.reconnectTimer);
    const client = this.client;
    this.client = undefined;
    this.connected = false;
    if (client) {
      client.removeAllListeners('end');
      await client.end().catch(() => {});
    }
  }
}
