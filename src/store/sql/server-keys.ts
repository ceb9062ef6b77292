import { randomBytes } from 'node:crypto';
import type { DurableDb } from '../durable-schema.js';

/** A row of `server_keys`: keys the server draws once and every node shares. */
export interface ServerKeyRow {
  name: string;
  /** 32 bytes, base64. */
  value: string;
  created_at: number;
}

declare module '../durable-schema.js' {
  interface Database {
    server_keys: ServerKeyRow;
  }
}

/**
 * The key `name` in `server_keys`, drawn by whichever node asks first (`Stores.sharedKey` on
 * PostgreSQL): nodes starting at once each offer a key, the first insert wins, and all read it.
 */
export async function sharedKeyInTable(db: DurableDb, name: string): Promise<Buffer> {
  await db.insertInto('server_keys')
    .values({ name, value: randomBytes(32).toString('base64'), created_at: Date.now() })
    .onConflict((conflict) => conflict.column('name').doNothing())
    .execute();
  const row = await db.selectFrom('server_keys').select('value').where('name', '=', name).executeTakeFirstOrThrow();
  return Buffer.from(row.value, 'base64');
}
