import { setImmediate as nextTurn } from 'node:timers/promises';

/**
 * Which boxes (fingerprints) hold records in the zone, kept in memory so that a query for a name
 * under a fingerprint that holds none (a random-subdomain flood) is answered NXDOMAIN without a
 * read of the database. The look-up cache of `DnsRecords` is per box, so every random fingerprint
 * missed it and read the store.
 *
 * Kept as other nodes write to the same store:
 * - this node's writes change it at once (`add` after a write commits, `forget` after a deletion
 *   left a box no record);
 * - at most once per `refreshMs`, and only when a query asks for a box the set does not hold, the
 *   boxes of rows written since the previous refresh (less `REFRESH_OVERLAP_MS`) are read by the
 *   indexed `updated_at` and added (`writtenSince`): another node's first record of a box is
 *   answered within `refreshMs` and one read after its commit, the staleness the per-box cache
 *   allows, as long as the writing node's clock is not more than `REFRESH_OVERLAP_MS` behind this
 *   one's;
 * - every `reloadMs` the whole set is read again (`page` after page), in the background: boxes another node
 *   emptied leave it (until then a query under one costs a read of its records a `refreshMs`, as
 *   every box did before, and is answered from them), and a box missed by a writer's clock further
 *   behind is found.
 * The times between refreshes are on the monotonic clock, and the cut-off of rows read is the
 * lower of the wall clock and the wall clock as it was at the last full read plus the monotonic
 * time since: a step of this node's wall clock either way reads more rows, never fewer.
 */

/** The store's side: boxes of all rows, a page at a time, and of the rows last written at or after a time. */
export interface OwnerReads {
  /** The distinct owners of the zone's rows after `after` in the store's order, the first `limit` of them. */
  page(after: string, limit: number): Promise<string[]>;
  /** The owners of rows whose `updated_at` is at or after `since` (ms), each once or more. */
  writtenSince(since: number): Promise<string[]>;
}

/**
 * How far before the previous refresh an incremental one reads: a write is dated by its node's
 * wall clock before its transaction commits, so this covers a write's own time and a writing node's
 * clock behind this one's. A minute of writes is a few hundred rows at 100,000 boxes.
 */
export const REFRESH_OVERLAP_MS = 60_000;

/** How often the whole set is read again (`OwnerReads.all`). */
export const OWNERS_RELOAD_MS = 300_000;

/**
 * The most boxes held: each costs about 100 bytes (a 52-character string and its entry), so 10 MB
 * at 100,000 boxes. With more, the set is dropped and every box's records are read as before, until
 * a full read finds them within the limit again.
 */
export const MAX_ZONE_OWNERS = 250_000;

/** Boxes read by one statement of a full read, a turn of the event loop between two (SQLite reads on it). */
export const OWNERS_PAGE = 5_000;

export class ZoneOwners {
  /** The boxes holding records; undefined before the first full read, or when there were too many. */
  private owners: Set<string> | undefined;
  /** Boxes added while a full read is under way: the read may have missed them. */
  private addedDuringReload: Set<string> | undefined;
  /** The refresh under way (single flight), and when (monotonic ms) the last one started. */
  private refreshing: Promise<void> | undefined;
  private refreshedAt = -Infinity;
  /** The full read under way, and when (monotonic ms) the last one started. */
  private reloading: Promise<void> | undefined;
  private reloadedAt = -Infinity;
  /** The wall clock and the monotonic clock at the start of the last full read. */
  private anchorWall = 0;
  private anchorMono = 0;
  /** The wall-clock time from which the next incremental refresh reads (less the overlap). */
  private since = 0;

  constructor(
    private readonly reads: OwnerReads,
    private readonly refreshMs: number,
    private readonly reloadMs = OWNERS_RELOAD_MS,
    private readonly maxOwners = MAX_ZONE_OWNERS,
  ) {}

  /**
   * Whether box `owner` may hold records: false only when the set, refreshed within `refreshMs`,
   * does not hold it. Reads nothing for a box the set holds; a box it does not hold waits for a
   * refresh when the last one started `refreshMs` ago or more (the first call waits for the full
   * read). True for every box while the last full read found more than `maxOwners`.
   */
  async mayHold(owner: string): Promise<boolean> {
    if (this.owners?.has(owner)) return true;
    const now = performance.now();
    if (this.owners === undefined && this.reloadedAt > -Infinity) {
      // Too many boxes: every box may. Read whole again every `reloadMs`, nobody waiting for it.
      if (now - this.reloadedAt >= this.reloadMs) this.reload(now).catch(() => undefined);
      return true;
    }
    if (this.owners === undefined || now - this.refreshedAt >= this.refreshMs) await this.refresh(now);
    return this.owners === undefined || this.owners.has(owner);
  }

  /** A box wrote a record (committed): it holds records now. */
  add(owner: string): void {
    this.addedDuringReload?.add(owner);
    if (this.owners === undefined) return;
    this.owners.add(owner);
    if (this.owners.size > this.maxOwners) this.owners = undefined;
  }

  /** A deletion (committed) left box `owner` no record. */
  forget(owner: string): void {
    this.addedDuringReload?.delete(owner);
    this.owners?.delete(owner);
  }

  /** How many boxes are held (undefined: none read yet, or too many), for tests and diagnostics. */
  get size(): number | undefined {
    return this.owners?.size;
  }

  /**
   * The wall-clock time now, never later than the wall clock of the last full read plus the
   * monotonic time since; whole milliseconds (PostgreSQL refuses a fraction for the bigint column).
   */
  private wallNow(mono: number): number {
    return Math.floor(Math.min(Date.now(), this.anchorWall + (mono - this.anchorMono)));
  }

  private refresh(now: number): Promise<void> {
    this.refreshing ??= this.refreshOnce(now).finally(() => {
      this.refreshing = undefined;
    });
    return this.refreshing;
  }

  private async refreshOnce(now: number): Promise<void> {
    if (this.owners === undefined) {
      // The first full read is waited for.
      await this.reload(now);
      this.refreshedAt = now;
      return;
    }
    // Later ones run beside the incremental refresh, which keeps the set current meanwhile; one
    // that fails is started again at the next refresh.
    if (now - this.reloadedAt >= this.reloadMs) this.reload(now).catch(() => undefined);
    const wall = this.wallNow(now);
    const written = await this.reads.writtenSince(this.since - REFRESH_OVERLAP_MS);
    for (const owner of written) this.add(owner);
    this.since = wall;
    this.refreshedAt = now;
  }

  private reload(now: number): Promise<void> {
    this.reloading ??= (async () => {
      const added = new Set<string>();
      this.addedDuringReload = added;
      try {
        const wall = Date.now();
        const owners = new Set<string>();
        for (let after = ''; owners.size <= this.maxOwners;) {
          const page = await this.reads.page(after, OWNERS_PAGE);
          for (const owner of page) owners.add(owner);
          if (page.length < OWNERS_PAGE) break;
          after = page[page.length - 1]!;
          await nextTurn();
        }
        this.reloadedAt = now;
        this.anchorWall = wall;
        this.anchorMono = now;
        if (owners.size > this.maxOwners) {
          this.owners = undefined;
          return;
        }
        for (const owner of added) owners.add(owner);
        if (this.owners === undefined) this.since = wall;
        this.owners = owners.size > this.maxOwners ? undefined : owners;
      } finally {
        if (this.addedDuringReload === added) this.addedDuringReload = undefined;
        this.reloading = undefined;
      }
    })();
    return this.reloading;
  }
}
