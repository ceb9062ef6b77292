import type BetterSqlite3 from 'better-sqlite3';

/**
 * Resolves once no transaction is open on `sqlite`. A door's Kysely transaction holds the one
 * connection across awaits, and a statement run on the connection meanwhile joins it: undone if it
 * rolls back, though its caller was told it was done. The stores' own synchronous writes wait for
 * the end here first (a transaction ends by itself: the doors' transactions touch only their tables).
 */
export async function outsideTransaction(sqlite: BetterSqlite3.Database): Promise<void> {
  while (sqlite.inTransaction) await new Promise((resolve) => setImmediate(resolve));
}
