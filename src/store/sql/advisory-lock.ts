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
 * Whether `db` takes row locks (`SELECT ... FOR UPDATE`, `FOR KEY SHARE`, `SKIP LOCKED`): true on
 * PostgreSQL. SQLite has no such clause (it is a syntax error there) and needs none: its one writer
 * runs transactions one at a time. The same test as `needsAdvisoryLocks`, named for what the
 * caller is about to write into its query.
 */
export function supportsRowLocks(db: { readonly introspection: DatabaseIntrospector }): boolean {
  return needsAdvisoryLocks(db);
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
