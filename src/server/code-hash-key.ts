import { randomBytes } from 'node:crypto';
import type { DurableDb } from '../store/durable-schema.js';
import type { Config } from './config.js';
import { loadSecretKey, parseSecretKey } from './secret-box.js';

/**
 * The key of the code hashes (`CodeHasher`): every node sharing the grants must hash codes under
 * the same one, or none finds another's codes. In order:
 *
 * 1. `PAIRGATE_CODE_HASH_KEY` when set (the same on every node): a copy of the database then
 *    gives no live code away;
 * 2. with PostgreSQL (several nodes), a key the first node drew and stored in the `server_keys`
 *    table, which every node reads: nothing to configure, but whoever reads the database reads the
 *    key too (a start-up warning says so);
 * 3. with the embedded database, the key file `code-hash.key` in the data folder (mode 0600),
 *    beside the database file but not in it, nor in its backups.
 *
 * A new key (a changed setting, a removed file) only ends the codes live at that moment: they are
 * no longer found, and are asked for again.
 */

/** Name of the key file in the data folder when no key is configured (embedded database). */
export const CODE_KEY_FILE = 'code-hash.key';
/** Its row in `server_keys` when no key is configured (PostgreSQL). */
const CODE_KEY_ROW = 'code-hash';

/** A row of `server_keys`: keys the server draws once and every node shares. */
export interface ServerKeyRow {
  name: string;
  /** 32 bytes, base64. */
  value: string;
  created_at: number;
}

declare module '../store/durable-schema.js' {
  interface Database {
    server_keys: ServerKeyRow;
  }
}

/** Where the code key comes from (said by `codeKeyWarning`). */
export function codeKeySource(config: Config): 'configured' | 'database' | 'file' {
  if (config.PAIRGATE_CODE_HASH_KEY) return 'configured';
  return config.PAIRGATE_DATABASE_URL ? 'database' : 'file';
}

/** The code key this node uses (see the module comment). */
export async function loadCodeHashKey(config: Config, db: DurableDb): Promise<Buffer> {
  switch (codeKeySource(config)) {
    case 'configured': return parseSecretKey(config.PAIRGATE_CODE_HASH_KEY, 'PAIRGATE_CODE_HASH_KEY');
    case 'file': return loadSecretKey('', config.PAIRGATE_DATA_DIR, 'PAIRGATE_CODE_HASH_KEY', CODE_KEY_FILE);
    case 'database': return sharedKey(db, CODE_KEY_ROW);
  }
}

/** The key named `name` in `server_keys`, drawn and stored by whichever node asks first. */
async function sharedKey(db: DurableDb, name: string): Promise<Buffer> {
  // Nodes starting at once each offer a key; the first insert wins and all read the winner's.
  await db.insertInto('server_keys')
    .values({ name, value: randomBytes(32).toString('base64'), created_at: Date.now() })
    .onConflict((conflict) => conflict.column('name').doNothing())
    .execute();
  const row = await db.selectFrom('server_keys').select('value').where('name', '=', name).executeTakeFirstOrThrow();
  return parseSecretKey(row.value, `the server_keys row ${name}`);
}

/** The start-up warning when the code key sits in the database it protects. */
export function codeKeyWarning(config: Config): string | undefined {
  if (codeKeySource(config) !== 'database') return undefined;
  return 'PAIRGATE_CODE_HASH_KEY is not set: codes are hashed under a key kept in PostgreSQL, so whoever can read the database can recover live codes; set the same key on every node (`openssl rand -base64 32`).';
}
