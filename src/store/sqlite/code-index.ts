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
 * The key of a code hash (base64url SHA-256) in the index: its first 30 bits as a number. Accidental
 * sharing stays rare (about one new code in ten thousand with 100k live ones, one in a thousand at a
 * million); a shared key only makes a new code count as taken, so that another is drawn, and a
 * look-up always checks the whole hash on the grant it finds.
 */
export function codeKey(codeHash: string): number {
  let key = 0;
  for (let i = 0; i < KEY_CHARACTERS; i++) key = key * 64 + BASE64URL_VALUES[codeHash.charCodeAt(i) & 127]!;
  return key;
}

/** Bytes of an id kept in place: pairgate's own ids are 34 ASCII characters (`timeOrderedId`). */
const ID_BYTES = 34;
/** An empty table cell; a cell whose code was released (`REMOVED`) still lets a probe go on past it. */
const EMPTY = 0;
const REMOVED = -1;
/** Cells the table starts with (a power of two); it doubles when live and removed cells pass half. */
const INITIAL_CELLS = 1024;

/**
 * Which grant holds each live code, in memory, for the SQLite store. An index of random hashes in
 * the database dirties a random page on every insert, which cost most of a new grant's write; since
 * the process is the database's only writer, a table it keeps beside the database is as exact, and it
 * is rebuilt from the table at start-up. Entries hold grant ids; whether a holder is still live (not
 * expired, not moved to another code) is asked of the store, so an entry that outlived its grant only
 * costs a check and is then replaced or dropped.
 *
 * Held in typed arrays, not a Map of id strings: every live grant kept a string of its id (two heap
 * objects with its parts) that each full garbage collection marked, and with 300k live grants that
 * was most of the old generation and of a full collection's pause, which every request waits out.
 * The table is open addressing over the codes' 30-bit keys (`codeKey`, a number already random),
 * each cell naming a slot whose id's characters sit in one byte array; an id of another shape (a
 * door's chosen id) is kept as a string beside it.
 */
export class CodeIndex {
  /** Each cell's key plus one (`EMPTY`, `REMOVED`, or a key + 1). */
  private keys = new Int32Array(INITIAL_CELLS);
  /** Each used cell's slot in `ids`. */
  private slots = new Int32Array(INITIAL_CELLS);
  /** Cells holding a key, and cells marked removed (both lengthen probes). */
  private used = 0;
  private removed = 0;
  /** The ids' characters, `ID_BYTES` per slot; a slot's first byte is 0 when its id is in `otherIds`. */
  private ids = Buffer.alloc(INITIAL_CELLS * ID_BYTES);
  /** Ids not of pairgate's own shape, by slot. */
  private readonly otherIds = new Map<number, string>();
  /** Slots given back, for reuse; `nextSlot` is the first never used. */
  private freeSlots = new Int32Array(INITIAL_CELLS);
  private freeCount = 0;
  private nextSlot = 0;

  /** The id of the grant holding `codeHash`'s key, if any. */
  holder(codeHash: string): string | undefined {
    const cell = this.find(codeKey(codeHash));
    return cell < 0 ? undefined : this.idAt(this.slots[cell]!);
  }

  /** Records that grant `id` holds `codeHash` (in place of whichever grant held its key). */
  hold(codeHash: string, id: string): void {
    const key = codeKey(codeHash);
    const cell = this.find(key);
    if (cell >= 0) {
      this.writeId(this.slots[cell]!, id);
      return;
    }
    if ((this.used + this.removed + 1) * 2 > this.keys.length) this.rebuild();
    const free = this.freeCell(key);
    if (this.keys[free] === REMOVED) this.removed--;
    const slot = this.takeSlot();
    this.writeId(slot, id);
    this.keys[free] = key + 1;
    this.slots[free] = slot;
    this.used++;
  }

  /** Drops `codeHash` if grant `id` still holds it (another grant may have taken it over since). */
  release(codeHash: string, id: string): void {
    const cell = this.find(codeKey(codeHash));
    if (cell < 0 || !this.idIs(this.slots[cell]!, id)) return;
    this.giveSlot(this.slots[cell]!);
    this.keys[cell] = REMOVED;
    this.used--;
    this.removed++;
  }

  /** Forgets every code (before the index is read again from the table). */
  clear(): void {
    this.keys = new Int32Array(INITIAL_CELLS);
    this.slots = new Int32Array(INITIAL_CELLS);
    this.ids = Buffer.alloc(INITIAL_CELLS * ID_BYTES);
    this.freeSlots = new Int32Array(INITIAL_CELLS);
    this.otherIds.clear();
    this.used = this.removed = this.freeCount = this.nextSlot = 0;
  }

  /** Codes held (for tests and metrics). */
  get size(): number {
    return this.used;
  }

  /** The cell holding `key`, or -1. Probes from the key's own cell until an empty one. */
  private find(key: number): number {
    const mask = this.keys.length - 1;
    const wanted = key + 1;
    for (let cell = key & mask; ; cell = (cell + 1) & mask) {
      const held = this.keys[cell]!;
      if (held === wanted) return cell;
      if (held === EMPTY) return -1;
    }
  }

  /** The first empty or removed cell on `key`'s probe (the key is known to be absent). */
  private freeCell(key: number): number {
    const mask = this.keys.length - 1;
    let cell = key & mask;
    while (this.keys[cell]! > 0) cell = (cell + 1) & mask;
    return cell;
  }

  /** Puts every held key in a table sized for twice as many again (removed cells dropped). */
  private rebuild(): void {
    let cells = this.keys.length;
    while ((this.used + 1) * 4 > cells) cells *= 2;
    const [keys, slots] = [this.keys, this.slots];
    this.keys = new Int32Array(cells);
    this.slots = new Int32Array(cells);
    this.removed = 0;
    for (let cell = 0; cell < keys.length; cell++) {
      if (keys[cell]! <= 0) continue;
      const free = this.freeCell(keys[cell]! - 1);
      this.keys[free] = keys[cell]!;
      this.slots[free] = slots[cell]!;
    }
  }

  private takeSlot(): number {
    if (this.freeCount > 0) return this.freeSlots[--this.freeCount]!;
    const slot = this.nextSlot++;
    if ((slot + 1) * ID_BYTES > this.ids.length) {
      const grown = Buffer.alloc(this.ids.length * 2);
      this.ids.copy(grown);
      this.ids = grown;
    }
    return slot;
  }

  private giveSlot(slot: number): void {
    if (this.otherIds.size > 0) this.otherIds.delete(slot);
    if (this.freeCount === this.freeSlots.length) {
      const grown = new Int32Array(this.freeSlots.length * 2);
      grown.set(this.freeSlots);
      this.freeSlots = grown;
    }
    this.freeSlots[this.freeCount++] = slot;
  }

  /**
   * Keeps `id` in `slot`: its characters in place when it has pairgate's own shape (`ID_BYTES`
   * printable ASCII characters), else as a string. Written character by character in JavaScript:
   * Buffer's `write` is a call into C++ that cost more than the loop.
   */
  private writeId(slot: number, id: string): void {
    const start = slot * ID_BYTES;
    const ids = this.ids;
    if (id.length === ID_BYTES) {
      let i = 0;
      for (; i < ID_BYTES; i++) {
        const c = id.charCodeAt(i);
        if (c < 0x21 || c > 0x7e) break;
        ids[start + i] = c;
      }
      if (i === ID_BYTES) {
        if (this.otherIds.size > 0) this.otherIds.delete(slot);
        return;
      }
    }
    ids[start] = 0;
    this.otherIds.set(slot, id);
  }

  private idAt(slot: number): string {
    const start = slot * ID_BYTES;
    return this.ids[start] === 0 ? this.otherIds.get(slot)! : this.ids.toString('latin1', start, start + ID_BYTES);
  }

  /** Whether `slot` holds `id`, compared in place (no string made for a release). */
  private idIs(slot: number, id: string): boolean {
    const start = slot * ID_BYTES;
    if (this.ids[start] === 0) return this.otherIds.get(slot) === id;
    if (id.length !== ID_BYTES) return false;
    for (let i = 0; i < ID_BYTES; i++) if (this.ids[start + i] !== id.charCodeAt(i)) return false;
    return true;
  }
}
