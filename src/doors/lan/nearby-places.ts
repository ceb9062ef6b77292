/**
 * The places of a bounded list of devices heard by plain announcements (`lan nearby`, `lan join
 * --code`), shared among the source addresses they came from.
 *
 * A plain announcement costs nothing to make up, so the list is bounded; but first come, first
 * kept, with a cap per address, let one host announcing from as many addresses as the total over
 * the per-address cap (16 of them, for 256 places of 16) fill every place before the real device's
 * first packet, which then never got one. Here a newcomer from an address holding fewer places than
 * the fullest one (by at least two, counting its own) takes the fullest address's newest place: so
 * a device alone at its address is always heard unless as many addresses as there are places each
 * announce (a flood from that many source addresses, not from a few), and no place one address held
 * alone is ever taken back. The source address is the packet's as received: on one link it can be
 * forged too, which costs the flooder one address per place.
 */
export class AddressPlaces<K> {
  /** Each key's address. */
  private readonly addressOf = new Map<K, string>();
  /** Each address's keys, oldest first. */
  private readonly keysAt = new Map<string, K[]>();
  /** The addresses by how many places they hold (index: that number). */
  private readonly byCount: Set<string>[] = [];

  /** `max` places in all, at most `perAddress` of them from one address. */
  constructor(private readonly max: number, private readonly perAddress: number) {}

  /** Whether `key` holds a place. */
  has(key: K): boolean {
    return this.addressOf.has(key);
  }

  /** Places held. */
  get size(): number {
    return this.addressOf.size;
  }

  /**
   * Gives `key`, heard from `address`, a place if it has none: `admitted` false when it gets none,
   * else the key whose place it took, if any (the caller forgets that one). A `preferred` key (the
   * very device a join names: one key at most) gets a place whatever the caps say, at the fullest
   * address's expense when the list is full.
   */
  admit(key: K, address: string, preferred = false): { admitted: false } | { admitted: true; evicted?: K } {
    if (this.addressOf.has(key)) return { admitted: true };
    const held = this.keysAt.get(address)?.length ?? 0;
    if (held >= this.perAddress && !preferred) return { admitted: false };
    let evicted: K | undefined;
    if (this.addressOf.size >= this.max) {
      const fullest = this.fullest();
      if (fullest === undefined || (!preferred && fullest.count <= held + 1)) return { admitted: false };
      evicted = this.remove(fullest.address);
    }
    this.addressOf.set(key, address);
    // Counted again: a preferred key may have taken its own address's newest place.
    const keys = this.keysAt.get(address) ?? [];
    keys.push(key);
    this.keysAt.set(address, keys);
    this.move(address, keys.length - 1, keys.length);
    return evicted === undefined ? { admitted: true } : { admitted: true, evicted };
  }

  /** The address holding the most places, and how many. */
  private fullest(): { address: string; count: number } | undefined {
    for (let count = this.byCount.length - 1; count > 0; count--) {
      const first = this.byCount[count]?.values().next();
      if (first && !first.done) return { address: first.value, count };
    }
    return undefined;
  }

  /** Frees the newest place of `address`; returns its key. */
  private remove(address: string): K | undefined {
    const keys = this.keysAt.get(address);
    const key = keys?.pop();
    if (!keys || key === undefined) return undefined;
    this.addressOf.delete(key);
    if (keys.length === 0) this.keysAt.delete(address);
    this.move(address, keys.length + 1, keys.length);
    return key;
  }

  private move(address: string, from: number, to: number): void {
    this.byCount[from]?.delete(address);
    if (to > 0) (this.byCount[to] ??= new Set()).add(address);
  }
}
