import type { Kysely, Migration } from 'kysely';

/**
 * The durable schema, as Kysely sees it. Each table's row type is declared next to the code that
 * owns it and merged in here by module augmentation (`declare module '.../durable-schema.js'`), so
 * a door adds its tables without editing this file. Queries written against `Kysely<Database>` run
 * unchanged on SQLite and PostgreSQL: that query builder is the durable port.
 */
// eslint-disable-next-line @typescript-eslint/no-empty-object-type
export interface Database {}

/** The durable store doors receive. */
export type DurableDb = Kysely<Database>;

/**
 * Migrations by name; names start with a sortable date (`2026112201_...`) because Kysely applies
 * them in name order, and doors add theirs independently.
 */
export type MigrationSet = Record<string, Migration>;
