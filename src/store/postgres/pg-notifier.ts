import pg from 'pg';
import { sql } from 'kysely';
import { randomId } from '../../core/ids.js';
import type { DurableDb } from '../durable-schema.js';
import { MemoryNotifier } from '../memory/memory-notifier.js';
import type { GrantChange, GrantNotifier } from '../ports.js';
import { encodeChange, parseChange } from '../grant-change-message.js';

/** The channel grant changes travel on; NOTIFY is scoped to one database, so nodes of one database share it. */
export const PG_GRANT_CHANNEL = 'pairgate_grants';

/** How long to wait before connecting the listener again after it lost PostgreSQL. */
const RECONNECT_MS = 500;

/**
 * Wake-ups across nodes through PostgreSQL LISTEN/NOTIFY, for deployments with PostgreSQL and no
 * Redis. One dedicated connection listens (a pooled one cannot: LISTEN belongs to a session) and
 * hands each change to the local listeners; publishing is `pg_notify` on any pooled connection.
 * Each message names the node that sent it, so a node does not wake its own waiters twice.
 * While PostgreSQL is away the listener reconnects by itself; waiters whose change fell in that gap
 * wake at their timeout or expiry instead, and `connected` is false (so /readyz says not ready).
 */
export class PgNotifier implements GrantNotifier {
  private readonly local = new MemoryNotifier();
  private readonly nodeId = randomId(8);
  private client: pg.Client | undefined;
  private reconnectTimer: NodeJS.Timeout | undefined;
  private closed = false;
  /** Whether the listening connection is up. */
  connected = false;

  constructor(
    private readonly connectionString: string,
    private readonly db: DurableDb,
  ) {}

  /** Connects the listener; fails when PostgreSQL does not answer. */
  async start(): Promise<void> {
    const client = new pg.Client({ connectionString: this.connectionString, connectionTimeoutMillis: 5_000, keepAlive: true });
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
      if (message.channel !== PG_GRANT_CHANNEL || !message.payload) return;
      const change = parseChange(message.payload);
      if (change && change.node !== this.nodeId) this.local.deliver({ id: change.id, version: change.version });
    });
    try {
      await client.connect();
      await client.query(`LISTEN ${PG_GRANT_CHANNEL}`);
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
      this.start().catch(() => this.scheduleReconnect());
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
