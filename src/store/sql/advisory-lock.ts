import { PostgresIntrospector, sql, type DatabaseIntrospector, type QueryExecutorProvider } from 'kysely';

/**
 * Whether a check-then-write on `db` needs a lock of its own: true on PostgreSQL, where several
 * nodes (and the connections of one node's pool) write at once, so under READ COMMITTED two
 * transactions can both read a count below a cap and both write. SQLite has one writer, and a
 * Kysely transaction holds its one connection until it ends, so its transactions are serial already.
 */
export function needsAdvisoryLocks(db: { readonly introspection: DatabaseIntrospector }): boolean {
  return db.introspection instanceof PostgresIntrospector;
}

/**
 * Takes a PostgreSQL transaction advisory lock (`pg_advisory_xact_lock`), held until `trx` ends.
 * The two-key form: the first names the kind of thing locked (`pairgate.<door>.<kind>`), the second
 * the key, both hashed by the server; keys that hash alike share a lock, which only serialises more.
 * Read what the write depends on after it, inside `trx`: each statement then sees what the previous
 * holder committed. PostgreSQL only (`needsAdvisoryLocks`).
 */
export async function advisoryXactLock(trx: QueryExecutorProvider, kind: string, key: string): Promise<void> {
  await sql`select pg_advisory_xact_lock(hashtext(${kind}), hashtext(${key}))`.execute(trx);
}
