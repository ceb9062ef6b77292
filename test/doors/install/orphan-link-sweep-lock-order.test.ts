import { randomBytes } from 'node:crypto';
import { sql, type KyselyPlugin, type PluginTransformQueryArgs, type PluginTransformResultArgs, type QueryResult, type RootOperationNode, type TableNode, type UnknownRow } from 'kysely';
import { beforeAll, describe, expect, it } from 'vitest';
import { randomId } from '../../../src/core/ids.js';
import { accountsMigrations } from '../../../src/doors/accounts/migrations.js';
import { Installations } from '../../../src/doors/install/installations.js';
import { installMigrations } from '../../../src/doors/install/migrations.js';
import { Organizations } from '../../../src/doors/install/organizations.js';
import { SecretBox } from '../../../src/server/secret-box.js';
import type { DurableDb } from '../../../src/store/durable-schema.js';
import { coreMigrations } from '../../../src/store/migrations/core.js';
import { SWEEP_BATCH_ROWS } from '../../../src/store/sql/batched-delete.js';
import { deadlocks, heldInterleaving, holdRows, later, outcomeOf, RACE_AT_ONCE, RACE_ROUNDS, RACE_SHIFTS, raceRounds } from '../../helpers/lock-races.js';
import { postgresMissing } from '../../helpers/services.js';
import { usePostgresStores } from '../../helpers/sql-store-setups.js';
import { deleteAccount, InstallRows } from './install-rows.js';

const skip = await postgresMissing();
const migrations = { ...coreMigrations, ...accountsMigrations, ...installMigrations };
/** The orphan links each round of the races holds. */
const ROWS = 200;


/** The install door's sweep on `db`, every installation kept (only orphan links to delete here). */
const sweep = (db: DurableDb) => new Installations(db, new SecretBox(randomBytes(32))).sweep(0, Number.MAX_SAFE_INTEGER);

/** Records how many rows each DELETE of `chat_links` run through it deleted. */
class LinkDeletes implements KyselyPlugin {
  readonly counts: number[] = [];
  private readonly deletes = new WeakSet<object>();

  transformQuery(args: PluginTransformQueryArgs): RootOperationNode {
    const { node } = args;
    const from = node.kind === 'DeleteQueryNode' ? node.from.froms[0] : undefined;
    if (from?.kind === 'TableNode' && (from as TableNode).table.identifier.name === 'chat_links') this.deletes.add(args.queryId);
    return args.node;
  }

  async transformResult(args: PluginTransformResultArgs): Promise<QueryResult<UnknownRow>> {
    if (this.deletes.has(args.queryId)) this.counts.push(Number(args.result.numAffectedRows));
    return args.result;
  }
}

/**
 * The install door's sweep of links naming no installation on PostgreSQL, racing the many-row
 * deletes over the same links: an organization's deletion (its links by key) and an account's
 * deletion (the foreign key's cascade over its links, in the order they lie in the table). Its
 * batch was `(org_id, connector, external_user_id) IN (SELECT ... LIMIT n)`, which waited for each
 * row another transaction held, in the order of its plan: each waited for a row the other held
 * and PostgreSQL ended one (40P01). It now names its batch by `ctid = ANY(ARRAY(...))`, locked `FOR
 * UPDATE SKIP LOCKED`, and never waits. A test's tables are small and read whole in the table's
 * order; `planned()` connections plan as on a large table (by index), which gives the other order.
 */
describe.skipIf(Boolean(skip))(`install sweep of orphan links racing deletions, PostgreSQL${skip ? ` (skipped: ${skip})` : ''}`, () => {
  const pg = usePostgresStores(migrations, { plannedPool: 2 * RACE_AT_ONCE });
  const rows = () => new InstallRows(pg.db());
  // The plans these tests need are those of a table PostgreSQL has no statistics of (the sweep
  // reading it whole, in the order its rows lie): an automatic ANALYZE partway through the file,
  // after the first tests' writes, gave plans under which the race below never met.
  beforeAll(async () => {
    await sql`alter table chat_links set (autovacuum_enabled = false)`.execute(pg.db());
  });
  const linksOf = async (orgId: string) => (await pg.db().selectFrom('chat_links').select('external_user_id').where('org_id', '=', orgId).orderBy('external_user_id').execute()).map((row) => row.external_user_id);

  it('does not wait for a link another connection holds: returns at once, that link left, the others deleted', async () => {
    const made = rows();
    const user = await made.user('held');
    const orgId = await made.organization(user);
    const ids = await made.orphanLinks(orgId, user, 3);
    const held = await holdRows(pg.url(), 'select 1 from chat_links where org_id = $1 and external_user_id = $2 for update', [orgId, ids[1]]);
    try {
      const swept = sweep(pg.db());
      // Before, the sweep waited for the held link until its holder ended.
      const outcome = await Promise.race([swept, later(3_000).then(() => 'still waiting after 3 s')]);
      const left = await linksOf(orgId);
      await held.release();
      await swept;
      expect({ outcome, left }).toEqual({ outcome: { installations: 0, links: 2 }, left: [ids[1]] });
    } finally {
      await held.release();
    }
    expect(await sweep(pg.db())).toEqual({ installations: 0, links: 1 });
  });

  /**
   * The interleavings that deadlocked, every time: a connection of the test holds the middle of
   * `orgId`'s links (`held`), so `deletion` has taken the links on its side of it when the sweep on
   * `sweepOn` starts from the other side; the link let go, each went on into the links the other
   * held. Now the sweep skips the links held and ends: both answer, no deadlock, no link left.
   */
  async function heldAtTheMiddle(orgId: string, held: string, deletion: () => Promise<unknown>, sweepOn: DurableDb): Promise<void> {
    const before = await deadlocks(pg.db());
    // Before, the sweep waited for the middle link too; now it may end at once.
    const outcomes = await heldInterleaving(pg.db(), pg.url(), { query: 'select 1 from chat_links where org_id = $1 and external_user_id = $2 for update', params: [orgId, held] }, deletion, () => sweep(sweepOn), { secondMayEnd: true });
    expect({ swept: outcomes.second, deletion: outcomes.first }).toEqual({ swept: 'done', deletion: 'done' });
    expect(await linksOf(orgId)).toEqual([]);
    expect(await deadlocks(pg.db())).toBe(before);
  }

  it('an account\'s deletion cascading over its links, held at the middle one, while the sweep runs: both answer, no deadlock', async () => {
    const made = rows();
    const admin = await made.user('held-admin');
    const linked = await made.user('held-linked');
    const orgId = await made.organization(admin);
    const ids = await made.orphanLinks(orgId, linked, 20);
    // The cascade takes the links in the order they lie in the table (the last keys first), the
    // planned sweep by key (the first keys first).
    await heldAtTheMiddle(orgId, ids[10]!, () => deleteAccount(pg.db(), linked), pg.planned());
  });

  it('an organization\'s deletion held at its middle link while the sweep runs: both answer, no deadlock', async () => {
    const made = rows();
    const admin = await made.user('held-admin');
    const orgId = await made.organization(admin);
    const ids = await made.orphanLinks(orgId, admin, 20);
    // The planned deletion takes the links by key (the first keys first), the sweep reads the
    // table whole, in the order its links lie (the last keys first).
    await heldAtTheMiddle(orgId, ids[10]!, () => new Organizations(pg.planned()).delete(orgId, admin), pg.db());
  });

  // An account's deletion is not raced here: on a table of a few thousand links the planned sweep
  // takes its batch in the order of a hash (HashAggregate), not by key, and 48 rounds of it racing
  // the cascade never deadlocked before the fix; the held interleaving above shows that one.
  it(`${RACE_ROUNDS} rounds of the sweep racing an organization's deletion: both answer, no 5xx, no deadlock, no link left`, { timeout: 60_000 }, async () => {
    const made = rows();
    const before = await deadlocks(pg.db());
    const results = await raceRounds(async (i) => {
      const admin = await made.user('admin');
      const orgId = await made.organization(admin);
      await made.orphanLinks(orgId, admin, ROWS);
      // In opposite orders: the sweep reads the table whole, in the order its links lie (the last
      // keys first); the planned deletion takes them by key.
      // The deletion starts first: it locks the organization and reads its members before its links.
      const [deleted, swept] = await Promise.all([
        outcomeOf(new Organizations(pg.planned()).delete(orgId, admin)),
        later(i % RACE_SHIFTS).then(() => outcomeOf(sweep(pg.db()))),
      ]);
      return { i, swept, deleted, left: (await linksOf(orgId)).length };
    });
    const failed = results.filter((r) => r.swept !== 'done' || r.deleted !== 'done');
    expect(failed, `${failed.length} of ${RACE_ROUNDS} rounds failed`).toEqual([]);
    // A link a sweep skipped went with the deletion.
    for (const r of results) expect(r.left, `round ${r.i}`).toBe(0);
    expect(await deadlocks(pg.db())).toBe(before);
  });

  it(`deletes at most ${SWEEP_BATCH_ROWS} links a statement, planned as on a large table, and keeps the links of a live installation`, { timeout: 60_000 }, async () => {
    const made = rows();
    const admin = await made.user('batch-admin');
    const orgId = await made.organization(admin);
    const orphans = await made.orphanLinks(orgId, admin, 2 * SWEEP_BATCH_ROWS + 1);
    await pg.db().insertInto('chat_installations').values({
      id: randomId(), org_id: orgId, connector: 'mattermost', state: 'installed', secret_sealed: 'sealed', created_at: 0, expires_at: null, installed_at: 0, site_url: null, bot_user_id: null, bot_token_sealed: null, rotated_at: null,
    }).execute();
    const live = await pg.db().selectFrom('chat_installations').select('id').where('org_id', '=', orgId).executeTakeFirstOrThrow();
    await pg.db().insertInto('chat_links').values({ org_id: orgId, connector: 'mattermost', external_user_id: 'kept', user_id: admin, installation_id: live.id, external_username: null, linked_at: 0 }).execute();
    const statements = new LinkDeletes();
    expect(await sweep(pg.planned().withPlugin(statements))).toEqual({ installations: 0, links: orphans.length });
    expect(statements.counts).toEqual([SWEEP_BATCH_ROWS, SWEEP_BATCH_ROWS, 1]);
    expect(await linksOf(orgId)).toEqual(['kept']);
  });
});
