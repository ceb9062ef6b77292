import { sql, type Expression, type ExpressionBuilder, type Kysely, type SqlBool } from 'kysely';
import { randomId } from '../../core/ids.js';
import { advisoryXactLock, needsAdvisoryLocks } from '../../store/sql/advisory-lock.js';
import type { Database, DurableDb, MigrationSet } from '../../store/durable-schema.js';
import { inBatches, skippingLocked } from '../../store/sql/batched-delete.js';
import { holdsValue, readValue } from './record-values.js';
import { OWNERS_RELOAD_MS, ZoneOwners, type OwnerReads } from './zone-owners.js';

/** Record types a box may set. */
export const RECORD_TYPES = ['A', 'AAAA', 'CNAME', 'TXT'] as const;
/** A record type a box may set. */
export type RecordType = (typeof RECORD_TYPES)[number];

/** A record of the zone. */
export interface DnsRecord {
  /** Lower case, no trailing dot, always under `<owner>.<zone>`. */
  name: string;
  type: RecordType;
  value: string;
  ttl: number;
  /** Fingerprint of the box that owns it. */
  owner: string;
  updatedAt: number;
}

/** A record being written: who owns it, and the network (`publicNetworkOf`) it was written from. */
export type NewDnsRecord = Omit<DnsRecord, 'updatedAt'> & { network: string };

/** The `dns_records` table row. */
export interface DnsRecordRow {
  id: string;
  name: string;
  type: string;
  value: string;
  ttl: number;
  owner: string;
  created_at: number | string;
  updated_at: number | string;
  /** The network (IPv4 address or IPv6 /64) it was written from; null for rows older than the column. */
  network: string | null;
}

/**
 * The `dns_zone_serial` table: one row (`id` = `zone`), the SOA serial, raised in the transaction of
 * every change (`bumpSerial`), deletions included.
 */
export interface DnsZoneSerialRow {
  id: string;
  serial: number | string;
}

declare module '../../store/durable-schema.js' {
  interface Database {
    dns_records: DnsRecordRow;
    dns_zone_serial: DnsZoneSerialRow;
  }
}

/** The key of the serial's one row. */
const SERIAL_ROW = 'zone';

/** The durable table of DNS records (portable SQLite/PostgreSQL column types; times in ms). */
export const dnsMigrations: MigrationSet = {
  '2026112210_dns_records': {
    async up(db: Kysely<unknown>) {
      await db.schema
        .createTable('dns_records')
        .addColumn('id', 'text', (col) => col.primaryKey())
        .addColumn('name', 'text', (col) => col.notNull())
        .addColumn('type', 'text', (col) => col.notNull())
        .addColumn('value', 'text', (col) => col.notNull())
        .addColumn('ttl', 'integer', (col) => col.notNull())
        .addColumn('owner', 'text', (col) => col.notNull())
        .addColumn('created_at', 'bigint', (col) => col.notNull())
        .addColumn('updated_at', 'bigint', (col) => col.notNull())
        .execute();
      await db.schema.createIndex('dns_records_name').on('dns_records').columns(['name', 'type']).execute();
      await db.schema.createIndex('dns_records_unique').unique().on('dns_records').columns(['name', 'type', 'value']).execute();
      await db.schema.createIndex('dns_records_owner').on('dns_records').column('owner').execute();
    },
    async down(db: Kysely<unknown>) {
      await db.schema.dropTable('dns_records').execute();
    },
  },
  // Where each record was written from, so the records one network holds can be capped: box keys
  // are free, so a cap per box alone bounds nothing.
  '2026112211_dns_records_network': {
    async up(db: Kysely<unknown>) {
      await db.schema.alterTable('dns_records').addColumn('network', 'text').execute();
      await db.schema.createIndex('dns_records_network').on('dns_records').column('network').execute();
    },
    async down(db: Kysely<unknown>) {
      await db.schema.dropIndex('dns_records_network').execute();
      await db.schema.alterTable('dns_records').dropColumn('network').execute();
    },
  },
  // The SOA serial kept in a row of its own, raised with every change: it was the newest record's
  // updated_at, which a deletion does not raise (another node's serial stayed, and a restart after
  // deleting the newest record lowered it). It starts at the later of that and now, so it never
  // goes below what the servers before it answered (their serial was at most the time of their last change).
  '2026120600_dns_zone_serial': {
    async up(db: Kysely<unknown>) {
      await db.schema
        .createTable('dns_zone_serial')
        .addColumn('id', 'text', (col) => col.primaryKey())
        .addColumn('serial', 'bigint', (col) => col.notNull())
        .execute();
      const { rows } = await sql<{ latest: number | string | null }>`SELECT max(updated_at) AS latest FROM dns_records`.execute(db);
      const serial = Math.max(1, Math.floor(Number(rows[0]?.latest ?? 0) / 1000), Math.floor(Date.now() / 1000));
      await sql`INSERT INTO dns_zone_serial (id, serial) VALUES (${SERIAL_ROW}, ${serial})`.execute(db);
    },
    async down(db: Kysely<unknown>) {
      await db.schema.dropTable('dns_zone_serial').execute();
    },
  },
  // Records expire once not written for PAIRGATE_DNS_RECORD_LIFETIME_DAYS (`removeUnrefreshed`,
  // by updated_at, which every write sets, an unchanged one included): the index keeps the sweep
  // from reading the whole table every PAIRGATE_SWEEP_SECONDS. Rows already there are dated now:
  // their boxes ran a `box announce` that wrote its records once per run, and would have lost
  // them at the first sweep after the upgrade; now each has a whole lifetime to be written again.
  '2026121200_dns_records_expiry': {
    async up(db: Kysely<unknown>) {
      await db.schema.createIndex('dns_records_updated_at').on('dns_records').column('updated_at').execute();
      await sql`UPDATE dns_records SET updated_at = ${Date.now()}`.execute(db);
    },
    async down(db: Kysely<unknown>) {
      await db.schema.dropIndex('dns_records_updated_at').execute();
    },
  },
  // The challenge sweep (`removeStaleChallenges`, every PAIRGATE_SWEEP_SECONDS) read every record
  // not written for an hour by the updated_at index, nearly the whole zone (boxes write theirs
  // every 6 hours), to find the few challenges left behind: this index holds the challenges alone.
  '2026121600_dns_challenges_sweep': {
    async up(db: Kysely<unknown>) {
      await sql`CREATE INDEX dns_records_challenges ON dns_records (updated_at) WHERE type = 'TXT' AND substr(name, 1, 16) = '_acme-challenge.'`.execute(db);
    },
    async down(db: Kysely<unknown>) {
      await db.schema.dropIndex('dns_records_challenges').execute();
    },
  },
};

/**
 * Raises the zone's serial inside a write's transaction `trx`, to the seconds of `now` or one more
 * than it was, whichever is greater (so it grows with every change, even several in a second or
 * with a clock stepped back), and returns it. In the write's transaction, a deletion raises it as
 * an insert does, on every node, and a write rolled back does not. Its last statement: the row is
 * locked until the transaction ends (PostgreSQL), so it is taken after every other lock of the
 * write, and two writes never wait on each other in a cycle.
 */
async function bumpSerial(trx: DurableDb, now: number): Promise<number> {
  const seconds = Math.max(1, Math.floor(now / 1000));
  const row = await trx.insertInto('dns_zone_serial')
    .values({ id: SERIAL_ROW, serial: seconds })
    .onConflict((conflict) => conflict.column('id').doUpdateSet({
      serial: sql<number>`CASE WHEN dns_zone_serial.serial + 1 > excluded.serial THEN dns_zone_serial.serial + 1 ELSE excluded.serial END`,
    }))
    .returning('serial')
    .executeTakeFirstOrThrow();
  return Number(row.serial);
}

/** A row as a record: its value read as today's servers write it (`readValue`), old rows included. */
function toRecord(row: Pick<DnsRecordRow, 'name' | 'type' | 'value' | 'ttl' | 'owner' | 'updated_at'>): DnsRecord {
  const type = row.type as RecordType;
  return { name: row.name, type, value: readValue(type, row.value), ttl: Number(row.ttl), owner: row.owner, updatedAt: Number(row.updated_at) };
}

/** The label under which ACME DNS-01 challenges are published (RFC 8555 §8.4). */
export const ACME_CHALLENGE_LABEL = '_acme-challenge';

/** How long an ACME challenge record is kept: validation takes minutes, so an hour-old one was left behind. */
export const ACME_CHALLENGE_LIFETIME_MS = 3_600_000;

/**
 * The ACME challenge records, in the words of the partial index `dns_records_challenges` (its
 * migration's text), constants written in: SQLite and PostgreSQL use a partial index only for a
 * query that says its condition literally, not with bound parameters. Not LIKE: its `_` matches
 * any character.
 */
const CHALLENGE_RECORDS = sql<SqlBool>`type = ${sql.lit('TXT')} AND substr(name, 1, ${sql.lit(ACME_CHALLENGE_LABEL.length + 1)}) = ${sql.lit(`${ACME_CHALLENGE_LABEL}.`)}`;

/** Types of which a name holds one value: setting one replaces the previous value. */
const SINGLE_VALUED: ReadonlySet<RecordType> = new Set(['A', 'AAAA', 'CNAME']);

/** The columns a record is read from. */
const RECORD_COLUMNS = ['name', 'type', 'value', 'ttl', 'owner', 'updated_at'] as const;

/**
 * The zone as a checked write reads it (`DnsRecords.put`): rows read inside the write's
 * transaction, after its locks, never the look-up cache, so what a check finds stays true until
 * the write commits, whichever node writes.
 */
export interface ZoneView {
  /** Records of `name` (any type). */
  atName(name: string): Promise<DnsRecord[]>;
  /** Every record of a box. */
  ofOwner(owner: string): Promise<DnsRecord[]>;
  /** How many records were written from `network` (and are still there). */
  countFromNetwork(network: string): Promise<number>;
  /** Whether the record of `type` at `name` (of that value, when given) was last written from `network`. */
  writtenFrom(network: string, name: string, type: RecordType, value?: string): Promise<boolean>;
}

/**
 * The boxes holding rows, as `ZoneOwners` reads them: all a page at a time by the owner index
 * (read whole, 100,000 boxes held SQLite's event loop for a tenth of a second and more), those
 * written since a time by the updated_at index (not DISTINCT: SQLite then scanned the owner index
 * whole rather than sort the few rows found).
 */
function ownerReads(db: DurableDb): OwnerReads {
  return {
    async page(after, limit) {
      const rows = await db.selectFrom('dns_records').select('owner').distinct().where('owner', '>', after).orderBy('owner').limit(limit).execute();
      return rows.map((row) => row.owner);
    },
    async writtenSince(since) {
      const rows = await db.selectFrom('dns_records').select('owner').where('updated_at', '>=', since).execute();
      return rows.map((row) => row.owner);
    },
  };
}

/** Which of `owners` still hold a row, read through `db` (inside a deletion's transaction). */
async function ownersLeft(db: DurableDb, owners: string[]): Promise<Set<string>> {
  if (owners.length === 0) return new Set();
  const rows = await db.selectFrom('dns_records').select('owner').distinct().where('owner', 'in', owners).execute();
  return new Set(rows.map((row) => row.owner));
}

/** The zone's rows read through `db` (the database, or a transaction). */
function zoneView(db: DurableDb): ZoneView {
  return {
    async atName(name) {
      const rows = await db.selectFrom('dns_records').select(RECORD_COLUMNS).where('name', '=', name).orderBy('created_at').execute();
      return rows.map(toRecord);
    },
    async ofOwner(owner) {
      const rows = await db.selectFrom('dns_records').select(RECORD_COLUMNS).where('owner', '=', owner).orderBy('name').orderBy('type').orderBy('created_at').execute();
      return rows.map(toRecord);
    },
    async countFromNetwork(network) {
      const row = await db.selectFrom('dns_records').select((eb) => eb.fn.countAll<number | string>().as('n')).where('network', '=', network).executeTakeFirst();
      return Number(row?.n ?? 0);
    },
    async writtenFrom(network, name, type, value) {
      let query = db.selectFrom('dns_records').select('id').where('name', '=', name).where('type', '=', type).where('network', '=', network);
      if (value !== undefined) query = query.where('value', '=', value);
      return (await query.executeTakeFirst()) !== undefined;
    },
  };
}

/**
 * Whether a name of the zone answers browsers now (an A, AAAA or CNAME record), read from the rows
 * themselves, never the answers' one-second cache: `pairgate box announce --zone` announces right
 * after writing its records, through any node. What other doors ask of the zone (the registry's
 * privacy mode) goes through this, not through the zone's table.
 */
export function zoneNameResolves(db: DurableDb): (name: string) => Promise<boolean> {
  const rows = zoneView(db);
  return async (name) => (await rows.atName(name)).some((record) => record.type !== 'TXT');
}

/**
 * Takes the PostgreSQL advisory locks of a write, held until its transaction ends, in the order
 * every write takes them (so two writes never wait on each other in a cycle): the zone's CNAMEs (a
 * CNAME write only: a loop may run through any box's names; CNAME writes are rare), the owner
 * (every name of a box is the box's, so this serialises the writes of each name too, and guards the
 * box's count of records), the network (its count of records). Each is named by its kind
 * (`pairgate.dns.<kind>`) and its key (`advisoryXactLock`).
 */
async function lockForWrite(trx: DurableDb, record: { type: RecordType; owner: string }, network: string): Promise<void> {
  const locks: [kind: string, key: string][] = [['owner', record.owner], ['network', network]];
  if (record.type === 'CNAME') locks.unshift(['cname', '']);
  for (const [kind, key] of locks) {
    await advisoryXactLock(trx, `pairgate.dns.${kind}`, key);
  }
}

/**
 * The records of the zone, in the durable store (they survive restarts). A/AAAA/CNAME hold one value
 * per name (a box points a name at its one current address); TXT holds several (ACME may need two
 * challenges at one name).
 */
export class DnsRecords {
  /** The highest serial this instance has read or written: what it answers never goes down. */
  private lastSerial = 1;
  /** When (monotonic ms) the serial was last read from the store; never yet at first. */
  private serialReadAt = -Infinity;
  /**
   * Boxes' records read in the last `cacheMs`, by box (owner): the DNS server answers every name
   * under a box from them (`answering`), hot names and names that do not exist alike, without the
   * database. Their ages, and the serial's, are on the monotonic clock: on the wall clock, one
   * stepped back an hour kept answering another node's old records (and serial) that hour more.
   */
  private readonly cache = new Map<string, { at: number; records: DnsRecord[] }>();
  /**
   * The boxes that hold records (`ZoneOwners`): a name under a fingerprint it does not hold is
   * answered without the database. Undefined when `cacheMs` is 0 (every look-up reads).
   */
  private readonly owners: ZoneOwners | undefined;
  /** Reads of the database itself, uncached. */
  private readonly rows: ZoneView;
  /**
   * Whether writes lock (PostgreSQL, where several nodes write at once). SQLite has one writer, and
   * a Kysely transaction holds its one connection until it ends, so writes are serial already.
   */
  private readonly locks: boolean;

  /**
   * @param cacheMs how long a look-up is reused (default 1 s). Writes through this instance drop the
   *   name at once; with several nodes another node's write shows within this time (far below any
   *   TTL). Only the DNS answers use it: a write checks the rows themselves (`put`). The set of
   *   boxes holding records (`ZoneOwners`) is refreshed as often, and read whole every `ownersReloadMs`.
   */
  constructor(
    private readonly db: DurableDb,
    private readonly cacheMs = 1000,
    ownersReloadMs = OWNERS_RELOAD_MS,
  ) {
    this.rows = zoneView(db);
    this.locks = needsAdvisoryLocks(db);
    this.owners = cacheMs > 0 ? new ZoneOwners(ownerReads(db), cacheMs, ownersReloadMs) : undefined;
  }

  /**
   * Every record of box `owner`, as the DNS server answers from them: reused for `cacheMs`. Every
   * record is under its box's fingerprint (the update API writes nothing else), so these answer any
   * name under `<owner>.<zone>`: read by name, each query for a random name under a box (a
   * random-subdomain flood) was two reads of the database, the name's and, to tell an empty
   * non-terminal from a name that does not exist, the box's; now one per box per `cacheMs`. A box
   * that holds no record (`ZoneOwners`: a random fingerprint) has none, and nothing is read.
   */
  async answering(owner: string): Promise<DnsRecord[]> {
    const now = performance.now();
    const cached = this.cache.get(owner);
    if (cached && now - cached.at < this.cacheMs) return cached.records;
    if (this.owners && !(await this.owners.mayHold(owner))) return [];
    const records = await this.rows.ofOwner(owner);
    // Bounded: queries under random fingerprints must not grow memory without limit.
    if (this.cache.size >= 10_000) this.cache.clear();
    if (this.cacheMs > 0) this.cache.set(owner, { at: now, records });
    return records;
  }

  /** Every record of a box. */
  ofOwner(owner: string): Promise<DnsRecord[]> {
    return this.rows.ofOwner(owner);
  }

  /** How many records were written from `network` (and are still there). */
  countFromNetwork(network: string): Promise<number> {
    return this.rows.countFromNetwork(network);
  }

  /**
   * Sets a record: replaces the value of a single-valued type, adds a TXT value (or refreshes its
   * TTL). Either way the row is dated `now`, the same record written again included: that is what
   * keeps it from expiring (`removeUnrefreshed`). `check`, when given, runs first inside the write's transaction and may refuse it by
   * throwing: it reads the zone there (`ZoneView`), after locks every write of the record's owner and
   * network takes (and, for a CNAME, every CNAME write of the zone), so no write of another request
   * or node comes between what it reads and this write. Without them, two nodes under READ COMMITTED
   * both passed their checks and both wrote: a CNAME beside an A record, two A values, a cap
   * exceeded.
   */
  async put(input: NewDnsRecord, now: number, check?: (zone: ZoneView) => Promise<void>): Promise<DnsRecord> {
    const { network, ...record } = input;
    const serial = await this.db.transaction().execute(async (trx) => {
      if (this.locks) await lockForWrite(trx, record, network);
      if (check) await check(zoneView(trx));
      if (SINGLE_VALUED.has(record.type)) {
        await trx.deleteFrom('dns_records').where('name', '=', record.name).where('type', '=', record.type).execute();
      } else {
        await trx.deleteFrom('dns_records').where('name', '=', record.name).where('type', '=', record.type).where('value', '=', record.value).execute();
      }
      // The row deleted above cannot come back before this insert while the locks are held; should
      // one be there all the same, it is refreshed rather than a unique violation answered as a 500.
      await trx.insertInto('dns_records').values({
        id: randomId(),
        name: record.name,
        type: record.type,
        value: record.value,
        ttl: record.ttl,
        owner: record.owner,
        created_at: now,
        updated_at: now,
        network,
      }).onConflict((conflict) => conflict.columns(['name', 'type', 'value']).doUpdateSet({ ttl: record.ttl, owner: record.owner, updated_at: now, network })).execute();
      return bumpSerial(trx, now);
    });
    this.sawSerial(serial);
    this.cache.delete(record.owner);
    this.owners?.add(record.owner);
    return { ...record, updatedAt: now };
  }

  /**
   * Deletes the records of `name`, of one type and value when given; returns how many went. A value
   * names a record as `holdsValue` reads it (an address in any spelling), which SQL cannot compare,
   * so the name's few records are read and the ones it names deleted by id, in one transaction.
   */
  async remove(name: string, filter: { type?: RecordType; value?: string }, now: number): Promise<number> {
    const count = await this.db.transaction().execute(async (trx) => {
      let query = trx.selectFrom('dns_records').select(['id', 'type', 'value', 'owner']).where('name', '=', name);
      if (filter.type) query = query.where('type', '=', filter.type);
      const rows = await query.execute();
      const asked = filter.value;
      const named = rows.filter((row) => asked === undefined || holdsValue({ type: row.type as RecordType, value: row.value }, asked));
      if (named.length === 0) return { count: 0, owners: [], emptied: [] };
      const result = await trx.deleteFrom('dns_records').where('id', 'in', named.map((row) => row.id)).executeTakeFirst();
      const deleted = Number(result.numDeletedRows);
      const owners = [...new Set(named.map((row) => row.owner))];
      const left = this.owners ? await ownersLeft(trx, owners) : new Set(owners);
      return { count: deleted, owners, emptied: owners.filter((owner) => !left.has(owner)), serial: deleted > 0 ? await bumpSerial(trx, now) : undefined };
    });
    for (const owner of count.owners) this.cache.delete(owner);
    for (const owner of count.emptied) this.owners?.forget(owner);
    if (count.serial !== undefined) this.sawSerial(count.serial);
    return count.count;
  }

  /**
   * Deletes the ACME challenges (`_acme-challenge.*` TXT) last written before `writtenBefore`. A
   * client removes its challenge once validated; one that crashed first would otherwise leave it
   * for ever, and a name holds at most a few TXT values, so enough leftovers block its renewals.
   */
  async removeStaleChallenges(writtenBefore: number, now: number): Promise<number> {
    return this.sweep((eb) => eb.and([CHALLENGE_RECORDS, eb('updated_at', '<', writtenBefore)]), now);
  }

  /**
   * Deletes every record last written (set, or set again unchanged: `put` dates the row anew)
   * before `writtenBefore`, and returns how many went. Records are free to make and capped per
   * network (PAIRGATE_DNS_MAX_RECORDS_PER_IP): kept for ever, those of boxes gone for good (or of
   * throwaway keys) held a network's whole cap, and no box behind that address (a carrier-grade
   * NAT, a campus) could write one again. A running box writes its records again well within the
   * lifetime (`MirrorRecords`), so only abandoned ones go.
   */
  async removeUnrefreshed(writtenBefore: number, now: number): Promise<number> {
    return this.sweep((eb) => eb('updated_at', '<', writtenBefore), now);
  }

  /**
   * Deletes the records `where` names, `SWEEP_BATCH_ROWS` at a time (`inBatches`: a backlog in
   * one statement held SQLite's event loop, or outlasted PostgreSQL's query timeout), each batch in
   * a transaction of its own that raises the serial when it deleted any (`bumpSerial`), so the
   * serial rises with every change committed, as with a write. The delete names its batch by id and
   * checks `where` again: on PostgreSQL a record written again meanwhile (`put` dates it anew) is
   * read by the delete as it now is, and stays. The boxes a batch left without a record leave the
   * set of boxes holding records (`ZoneOwners`). Returns how many went.
   */
  private async sweep(where: (eb: ExpressionBuilder<Database, 'dns_records'>) => Expression<SqlBool>, now: number): Promise<number> {
    return inBatches(async (limit) => {
      const { count, serial, emptied } = await this.db.transaction().execute(async (trx) => {
        const batch = trx.selectFrom('dns_records').select('id').where(where).limit(limit);
        // On PostgreSQL the batch never waits for a row another transaction holds (`skippingLocked`):
        // a box's records deleted at a name (`remove`) or the other sweep take many of the same rows
        // in the order of their own plan, and each waiting for a row the other held deadlocked
        // (40P01). A row skipped is being deleted or written again by its holder; one left goes at
        // the next sweep.
        const named = this.locks ? trx.deleteFrom('dns_records').where('id', '=', skippingLocked(batch)) : trx.deleteFrom('dns_records').where('id', 'in', batch);
        const gone = await named.where(where).returning('owner').execute();
        const owners = [...new Set(gone.map((row) => row.owner))];
        const left = this.owners ? await ownersLeft(trx, owners) : new Set(owners);
        return { count: gone.length, emptied: owners.filter((owner) => !left.has(owner)), serial: gone.length > 0 ? await bumpSerial(trx, now) : undefined };
      });
      if (serial !== undefined) {
        this.cache.clear();
        this.sawSerial(serial);
      }
      for (const owner of emptied) this.owners?.forget(owner);
      return count;
    });
  }

  /**
   * SOA serial: the seconds of the last change, or one more than the serial before it when that is
   * greater (`bumpSerial`), at least 1; every write and deletion, on any node, raises it. Re-read
   * from the store at most every `cacheMs`, so nodes sharing a database converge on changes made
   * elsewhere; it never goes down.
   */
  async serial(): Promise<number> {
    const now = performance.now();
    if (now - this.serialReadAt >= Math.max(this.cacheMs, 1)) {
      this.serialReadAt = now;
      const row = await this.db.selectFrom('dns_zone_serial').select('serial').where('id', '=', SERIAL_ROW).executeTakeFirst();
      if (row) this.sawSerial(Number(row.serial));
    }
    return this.lastSerial >>> 0;
  }

  /** Keeps `serial` when it is above the one answered so far (a read of another node's older value never lowers it). */
  private sawSerial(serial: number): void {
    this.lastSerial = Math.max(this.lastSerial, serial);
  }
}
