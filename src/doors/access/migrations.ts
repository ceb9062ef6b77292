import { sql, type Kysely } from 'kysely';
import type { MigrationSet } from '../../store/durable-schema.js';

/** Tables of app accesses and their (hashed) tokens; after the accounts tables they refer to. */
export const accessMigrations: MigrationSet = {
  '2026112211_access_app_accesses': {
    async up(db: Kysely<unknown>) {
      await db.schema
        .createTable('app_accesses')
        .addColumn('id', 'text', (col) => col.primaryKey())
        .addColumn('user_id', 'text', (col) => col.notNull().references('users.id').onDelete('cascade'))
        .addColumn('app_id', 'text', (col) => col.notNull())
        .addColumn('device_name', 'text', (col) => col.notNull())
        .addColumn('permissions', 'text', (col) => col.notNull())
        .addColumn('created_at', 'bigint', (col) => col.notNull())
        .addColumn('updated_at', 'bigint', (col) => col.notNull())
        .addColumn('expires_at', 'bigint')
        .execute();
      // One access per app and device for a user: a new request for it updates, never duplicates.
      await db.schema.createIndex('app_accesses_user_app').unique().on('app_accesses').columns(['user_id', 'app_id', 'device_name']).execute();
      await db.schema
        .createTable('app_access_tokens')
        .addColumn('token_hash', 'text', (col) => col.primaryKey())
        .addColumn('access_id', 'text', (col) => col.notNull().references('app_accesses.id').onDelete('cascade'))
        .addColumn('created_at', 'bigint', (col) => col.notNull())
        .execute();
      await db.schema.createIndex('app_access_tokens_access').on('app_access_tokens').column('access_id').execute();
    },
    async down(db: Kysely<unknown>) {
      await db.schema.dropTable('app_access_tokens').execute();
      await db.schema.dropTable('app_accesses').execute();
    },
  },
  // A token is written before its accept is recorded, and that accept may still lose (to another
  // accept of the same request, a refusal, the request's end): such a token is pending, 1, until its
  // accept wins (`AppAccesses.settle`), and the cap counts and revokes settled tokens only, so a
  // losing accept revokes nothing, not even by being counted in a winner's trim. Rows written before
  // (and by a node of the earlier version during a rolling upgrade) are settled: the default.
  '2026121400_access_token_pending': {
    async up(db: Kysely<unknown>) {
      await db.schema.alterTable('app_access_tokens').addColumn('pending', 'integer', (col) => col.notNull().defaultTo(0)).execute();
    },
    async down(db: Kysely<unknown>) {
      await db.schema.alterTable('app_access_tokens').dropColumn('pending').execute();
    },
  },
  // The cap came after accesses that hold more tokens (every accept of the same app added one): they
  // keep their 10 newest (MAX_TOKENS_PER_ACCESS when this was written: a migration stays as it ran),
  // in the order the cap revokes by (`AppAccesses.settle`: newest first, ties by hash), where until
  // the app's next accept each older one kept opening the account. Nothing to put back on the way
  // down: the revoked tokens are gone.
  '2026121401_access_tokens_capped': {
    async up(db: Kysely<unknown>) {
      await sql`delete from app_access_tokens where token_hash in (
        select token_hash from (
          select token_hash, row_number() over (partition by access_id order by created_at desc, token_hash desc) as newness
          from app_access_tokens
        ) ranked where newness > 10
      )`.execute(db);
    },
  },
  // The sweep deletes ended accesses a batch at a time (`AppAccesses.sweep`), each batch the first
  // `limit` by expiry then id: without an index every batch read the table until it found them (on
  // SQLite, in the order of the primary key). With `id` in it, the batch is read from the index
  // alone, already in the order asked for.
  '2026121500_access_accesses_expiry': {
    async up(db: Kysely<unknown>) {
      await db.schema.createIndex('app_accesses_expires').on('app_accesses').columns(['expires_at', 'id']).execute();
    },
    async down(db: Kysely<unknown>) {
      await db.schema.dropIndex('app_accesses_expires').execute();
    },
  },
};
