import { ConfigError } from '../core/errors.js';
import type { Stores } from '../store/ports.js';
import type { Config } from './config.js';
import { loadSecretKey, parseSecretKey } from './secret-box.js';

/**
 * The key of the code hashes (`CodeHasher`): every node sharing the grants must hash codes under
 * the same one, or none finds another's codes. In order:
 *
 * 1. `PAIRGATE_CODE_HASH_KEY` when set (the same on every node): a copy of the database then
 *    gives no live code away;
 * 2. with shared stores (several nodes), a key the first node drew and keeps with the grants
 *    (`Stores.sharedKey`: in Redis when grants are there, else PostgreSQL's `server_keys` table),
 *    which every node reads: nothing to configure, but whoever reads that store reads the key too
 *    (a start-up warning says so);
 * 3. with the embedded store, the key file `code-hash.key` in the data folder (mode 0600), beside
 *    the database file but not in it, nor in its backups.
 *
 * A new key (a changed setting, a removed file) only ends the codes live at that moment: they are
 * no longer found, and are asked for again. What is derived from it starts again too: the counters
 * of failed sign-ins with names that name no account (`signInNameKey`) begin at zero.
 */

/** Name of the key file in the data folder when no key is configured (embedded store). */
export const CODE_KEY_FILE = 'code-hash.key';
/** Its name among the shared stores' keys when no key is configured. */
const SHARED_NAME = 'code-hash';
/** What a new code key costs, said when the key file is unusable: only the codes live now. */
const CODE_KEY_LOSS = 'only the codes live at that moment stop being found (they are asked for again)';

/** The code key this node uses (see the module comment). */
export async function loadCodeHashKey(config: Config, stores: Pick<Stores, 'sharedKey'>): Promise<Buffer> {
  if (config.PAIRGATE_CODE_HASH_KEY) return parseSecretKey(config.PAIRGATE_CODE_HASH_KEY, 'PAIRGATE_CODE_HASH_KEY');
  if (!stores.sharedKey) return loadSecretKey('', config.PAIRGATE_DATA_DIR, 'PAIRGATE_CODE_HASH_KEY', CODE_KEY_FILE, CODE_KEY_LOSS);
  const key = await stores.sharedKey(SHARED_NAME);
  // Only a value written by another program could be of another size.
  if (key.length !== 32) throw new ConfigError('PAIRGATE_CODE_HASH_KEY', `the shared key "${SHARED_NAME}" in ${sharedStoreName(config)} does not hold 32 bytes in base64; remove it (a new one is drawn) or set PAIRGATE_CODE_HASH_KEY`);
  return key;
}

/** Where the shared stores keep their keys: with the grants. */
function sharedStoreName(config: Config): string {
  return config.PAIRGATE_REDIS_URL ? 'Redis' : 'PostgreSQL';
}

/** The start-up warning when the code key sits in the store whose copy it should protect. */
export function codeKeyWarning(config: Config): string | undefined {
  if (config.PAIRGATE_CODE_HASH_KEY || (!config.PAIRGATE_REDIS_URL && !config.PAIRGATE_DATABASE_URL)) return undefined;
  const where = sharedStoreName(config);
  return `PAIRGATE_CODE_HASH_KEY is not set: codes are hashed under a key kept in ${where} with them, so whoever can read ${where} can recover live codes (and the names of failed sign-ins, hashed under a key derived from it); set the same key on every node (\`openssl rand -base64 32\`).`;
}
