/** The value of each base64url character, by character code. */
const BASE64URL_VALUES: readonly number[] = (() => {
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
  const values = new Array<number>(128).fill(0);
  for (let i = 0; i < alphabet.length; i++) values[alphabet.charCodeAt(i)] = i;
  return values;
})();

/** Characters of a code hash that make its key: 5 base64url characters, 30 bits. */
const KEY_CHARACTERS = 5;

/**
 * The key of a code hash (base64url SHA-256) in the index: its first 30 bits as a number. 30 bits
 * fit V8's small integers, which a Map holds without a heap object per key: wider keys cost an
 * allocation and a pointer for the collector to trace per live code. Accidental sharing stays rare
 * (about one new code in ten thousand with 100k live ones, one in a thousand at a million); a shared
 * key only makes a new code count as taken, so that another is drawn, and a look-up always checks
 * the whole hash on the grant it finds.
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

  /** Forgets every code (before the index is read again from the table). */
  clear(): void {
    this.holders.clear();
  }

  /** Codes held (for tests and metrics). */
  get size(): number {
    return this.holders.size;
  }
}
