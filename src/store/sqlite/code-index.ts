/** The value of each base64url character, by character code. */
const BASE64URL_VALUES: readonly number[] = (() => {
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
  const values = new Array<number>(128).fill(0);
  for (let i = 0; i < alphabet.length; i++) values[alphabet.charCodeAt(i)] = i;
  return values;
})();

/** Characters of a code hash that make its key: 8 base64url characters, 48 bits. */
const KEY_CHARACTERS = 8;

/**
 * The key of a code hash (base64url SHA-256) in the index: its first 48 bits as a number. A number
 * costs a fraction of the 43-character hash in memory, and 48 bits keep accidental sharing rare (about
 * one new code in three billion, with 100k live ones); a shared key only makes a new code count as
 * taken, so that another is drawn, and a look-up always checks the whole hash on the grant it finds.
 */
export function codeKey(codeHash: string): number {
  let key = 0;
  for (let i = 0; i < KEY_CHARACTERS; i++) key = key * 64 + BASE64URL_VALUES[codeHash.charCodeAt(i) & 127]!;
  return key;
}

/**
 * Which grant holds each live code, in memory, for the SQLite store. An index of random hashes in
 * the database dirties a random page on every insert, which cost most of a new grant's write; since
 * the process is the database's only writer, a map it keeps beside the table is as exact, and it is
 * rebuilt from the table at start-up. Entries hold grant ids; whether a holder is still live (not
 * expired, not moved to another code) is asked of the store, so an entry that outlived its grant only
 * costs a check and is then replaced or dropped.
 */
export class CodeIndex {
  private readonly holders = new Map<number, string>();

  /** The id of the grant holding `codeHash`'s key, if any. */
  holder(codeHash: string): string | undefined {
    return this.holders.get(codeKey(codeHash));
  }

  /** Records that grant `id` holds `codeHash`. */
  hold(codeHash: string, id: string): void {
    this.holders.set(codeKey(codeHash), id);
  }

  /** Drops `codeHash` if grant `id` still holds it (another grant may have taken it over since). */
  release(codeHash: string, id: string): void {
    const key = codeKey(codeHash);
    if (this.holders.get(key) === id) this.holders.delete(key);
  }

  /** Codes held (for tests and metrics). */
  get size(): number {
    return this.holders.size;
  }
}
