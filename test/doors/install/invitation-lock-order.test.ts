import { Kysely, PostgresDialect } from 'kysely';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { randomId } from '../../../src/core/ids.js';
import { accountsMigrations } from '../../../src/doors/accounts/migrations.js';
import { Invitations } from '../../../src/doors/install/invitations.js';
import { installMigrations } from '../../../src/doors/install/migrations.js';
import { Organizations } from '../../../src/doors/install/organizations.js';
import type { DurableDb } from '../../../src/store/durable-schema.js';
import { coreMigrations } from '../../../src/store/migrations/core.js';
import type { Stores } from '../../../src/store/ports.js';
import { openPostgresStores } from '../../../src/store/postgres/postgres-stores.js';
import { openSqliteStores } from '../../../src/store/sqlite/sqlite-stores.js';
import { deadlocks, holdRows, later, lockWaiters, outcomeOf, RACE_AT_ONCE, RACE_ROUNDS, RACE_SHIFTS, raceRounds } from '../../helpers/lock-races.js';
import { createTestDatabase, postgresMissing } from '../../helpers/services.js';
import { deleteAccount, InstallRows } from './install-rows.js';

const skipPostgres = await postgresMissing();
const migrations = { ...coreMigrations, ...accountsMigrations, ...installMigrations };
const DAY = 86_400_000;
const NOW = 100 * DAY;
const LIMITS = { ttlMs: 7 * DAY, perOrganization: 100, perAccount: 20, organizationsPerAccount: 100, declineMemoryMs: 30 * DAY };

/** The expired invitations each round of the sweep's races deletes. */
const ROWS = 200;



/**
 * The install door's invitations in one lock order on PostgreSQL: the accounts' rows (FOR KEY
 * SHARE, in id order), then the organization, then the account's invitations advisory lock, then
 * invitation rows; and the sweeps, which delete many rows in the order of their plan, skip the
 * rows another transaction holds rather than wait for them. Before, a decline locked the
 * organization first and met the inviter's and the invitee's account rows only at the insert of
 * its memory (their foreign keys), while an account's deletion locks its row and then its
 * organizations and deletes the invitations naming it: each waited for the other and PostgreSQL
 * ended one (40P01, answered 503 `store_conflict`); and the sweep deleting expired invitations and
 * an organization's deletion (or an admin's invitations withdrawn) deleting the same rows in
 * another order did the same. On SQLite one transaction writes at a time: the same races there
 * show the behaviour unchanged.
 */
describe.each([
  { store: 'SQLite' as const, skip: undefined as string | undefined },
  { store: 'PostgreSQL' as const, skip: skipPostgres },
])('install door: invitations racing account deletions and the sweep ($store)', ({ store, skip }) => {
  let stores: Stores | undefined;
  let databaseUrl = '';
  let drop: (() => Promise<void>) | undefined;
  const db = () => stores!.db;
  const rows = () => new InstallRows(db());

  beforeAll(async () => {
    if (skip) return;
    if (store === 'SQLite') {
      stores = await openSqliteStores({ dataDir: ':memory:', migrations });
      return;
    }
    const database = await createTestDatabase();
    drop = () => database.drop();
    databaseUrl = database.url;
    stores = await openPostgresStores({ url: database.url, migrations, notify: false });
  });
  afterAll(async () => {
    await stores?.close();
    await drop?.();
  });

  describe.each(['inviter', 'invitee'] as const)('a decline racing the deletion of the %s\'s account', (whose) => {
    it.skipIf(Boolean(skip))(`${RACE_ROUNDS} rounds: both answer (the decline done or 404), no 5xx, nothing left naming the account`, { timeout: 60_000 }, async () => {
      const made = rows();
      const invitations = new Invitations(db(), LIMITS);
      const before = store === 'PostgreSQL' ? await deadlocks(db()) : 0;
      const results = await raceRounds(async (i) => {
        const inviter = await made.user('inviter');
        const invitee = await made.user('invitee');
        // Each an admin of an organization of their own, which the deletion's guard locks.
        await made.organization(invitee);
        const [first, second] = [await made.organization(inviter), await made.organization(inviter)];
        const declined = await made.invitation(first, invitee, inviter, NOW + DAY);
        // Withdrawn by the decline: the same inviter's other invitation to the account.
        await made.invitation(second, invitee, inviter, NOW + DAY);
        const gone = whose === 'inviter' ? inviter : invitee;
        const [decline, deletion] = await Promise.all([
          outcomeOf(invitations.decline(declined, invitee, NOW)),
          later(i % RACE_SHIFTS).then(() => outcomeOf(deleteAccount(db(), gone))),
        ]);
        const left = await db().selectFrom('organization_invitations').select('id').where((eb) => eb.or([eb('user_id', '=', gone), eb('invited_by', '=', gone)])).execute();
        const memories = await db().selectFrom('organization_invitation_declines').select('id').where((eb) => eb.or([eb('user_id', '=', gone), eb('invited_by', '=', gone)])).execute();
        const account = await db().selectFrom('users').select('id').where('id', '=', gone).executeTakeFirst();
        return { i, decline, deletion, left: left.length, memories: memories.length, accountLeft: account !== undefined };
      });
      const failed = results.filter((r) => !['done', 'invitation_not_found'].includes(r.decline) || r.deletion !== 'done');
      expect(failed, `${failed.length} of ${RACE_ROUNDS} rounds failed`).toEqual([]);
      for (const r of results) expect({ ...r, decline: undefined }, `round ${r.i}`).toEqual({ i: r.i, decline: undefined, deletion: 'done', left: 0, memories: 0, accountLeft: false });
      if (store === 'PostgreSQL') expect(await deadlocks(db())).toBe(before);
    });
  });

  /**
   * How many of the database's connections wait for a lock. Read outside any transaction: within
   * one, PostgreSQL shows the activity it read first until the transaction ends.
   */
  const waiting = () => lockWaiters(db());
  /** Waits until `n` of the database's connections wait for a lock. */
  const waitingFor = async (n: number) => {
    await expect.poll(waiting).toBe(n);
  };

  // The interleavings that deadlocked, made to happen every time with a connection of the test
  // holding a lock one of the two waits at. PostgreSQL only: on SQLite nothing can hold a lock
  // while a transaction runs.
  if (store === 'PostgreSQL') {
    it.skipIf(Boolean(skip))('a decline held at the account\'s invitations lock while the inviter\'s account is deleted: both answer, no deadlock', async () => {
      const made = rows();
      const inviter = await made.user('held-inviter');
      const invitee = await made.user('held-invitee');
      const orgId = await made.organization(inviter);
      const declined = await made.invitation(orgId, invitee, inviter, NOW + DAY);
      const before = await deadlocks(db());
      const holder = await holdRows(databaseUrl, 'select pg_advisory_xact_lock(hashtext($1), hashtext($2))', ['pairgate.install.invitations', invitee]);
      try {
        // Before, the decline held the organization here; now the two accounts' rows and the organization.
        const decline = outcomeOf(new Invitations(db(), LIMITS).decline(declined, invitee, NOW));
        await waitingFor(1);
        // Before, the deletion locked the inviter's row and waited for the organization; now it waits for the row.
        const deletion = outcomeOf(deleteAccount(db(), inviter));
        await waitingFor(2);
        await holder.release();
        // Before, the decline's memory then waited for the inviter's row: a deadlock.
        expect({ decline: await decline, deletion: await deletion }).toEqual({ decline: 'done', deletion: 'done' });
      } finally {
        await holder.release();
      }
      expect(await db().selectFrom('organization_invitation_declines').select('id').where('invited_by', '=', inviter).execute()).toEqual([]);
      expect(await deadlocks(db())).toBe(before);
    });

    it.skipIf(Boolean(skip))('the invitee\'s account deletion held at its organization while the invitee declines: both answer, no deadlock', async () => {
      const made = rows();
      const inviter = await made.user('held-inviter');
      const invitee = await made.user('held-invitee');
      const own = await made.organization(invitee);
      const orgId = await made.organization(inviter);
      const declined = await made.invitation(orgId, invitee, inviter, NOW + DAY);
      const before = await deadlocks(db());
      const holder = await holdRows(databaseUrl, 'select id from organizations where id = $1 for update', [own]);
      try {
        // The deletion holds the invitee's row and waits for the organization it administers.
        const deletion = outcomeOf(deleteAccount(db(), invitee));
        await waitingFor(1);
        // Before, the decline deleted the invitation and waited for the invitee's row at its
        // memory's insert; now it waits for the row before anything else.
        const decline = outcomeOf(new Invitations(db(), LIMITS).decline(declined, invitee, NOW));
        await waitingFor(2);
        await holder.release();
        // Before, the deletion's cascade then waited for the invitation the decline held: a deadlock.
        expect({ decline: await decline, deletion: await deletion }).toEqual({ decline: 'invitation_not_found', deletion: 'done' });
      } finally {
        await holder.release();
      }
      expect(await db().selectFrom('organization_invitations').select('id').where('id', '=', declined).execute()).toEqual([]);
      expect(await deadlocks(db())).toBe(before);
    });
  }

  /**
   * The many-row deletes of expired invitations racing the sweep. A test's tables are small, and
   * PostgreSQL reads them whole, every statement in the table's order: the connections racing the
   * sweep here plan as on a large table (no sequential or bitmap scan), so the sweep takes its
   * batch in key order (`organization_invitations_pkey`) and the organization's deletion and an
   * admin's withdrawal take theirs by username (`organization_invitations_org_username`); the
   * rows' keys and usernames run opposite ways.
   */
  describe.each(['deletion of the organization', 'withdrawal of an admin\'s invitations'] as const)('the sweep racing the %s', (what) => {
    let planned: DurableDb | undefined;
    beforeAll(() => {
      if (skip) return;
      planned = store === 'SQLite' ? db() : new Kysely({ dialect: new PostgresDialect({ pool: new pg.Pool({ connectionString: databaseUrl, max: 2 * RACE_AT_ONCE, options: '-c enable_seqscan=off -c enable_bitmapscan=off' }) }) });
    });
    afterAll(async () => {
      if (store === 'PostgreSQL') await planned?.destroy();
    });

    it.skipIf(Boolean(skip))(`${RACE_ROUNDS} rounds: both answer, no 5xx, no expired invitation left`, { timeout: 60_000 }, async () => {
      const made = rows();
      const before = store === 'PostgreSQL' ? await deadlocks(db()) : 0;
      const results = await raceRounds(async (i) => {
        const admin = await made.user('admin');
        const other = await made.user('other');
        const orgId = await made.organization(admin, other);
        const inviter = what === 'deletion of the organization' ? admin : other;
        await made.expiredInvitations(orgId, inviter, ROWS, NOW - DAY);
        const [swept, deleted] = await Promise.all([
          outcomeOf(new Invitations(planned!, LIMITS).sweep(NOW)),
          later(i % RACE_SHIFTS).then(() => outcomeOf(what === 'deletion of the organization' ? new Organizations(planned!).delete(orgId, admin) : new Organizations(planned!).setRole(orgId, other, 'member', admin))),
        ]);
        const left = await db().selectFrom('organization_invitations').select('id').where('org_id', '=', orgId).execute();
        return { i, swept, deleted, left: left.length };
      });
      const failed = results.filter((r) => r.swept !== 'done' || r.deleted !== 'done');
      expect(failed, `${failed.length} of ${RACE_ROUNDS} rounds failed`).toEqual([]);
      // A row a sweep skipped went with the other statement.
      for (const r of results) expect(r.left, `round ${r.i}`).toBe(0);
      if (store === 'PostgreSQL') expect(await deadlocks(db())).toBe(before);
    });

    // The interleaving that deadlocked, every time: a connection of the test holds the middle row,
    // so the other statement has taken the rows on its side of it when the sweep starts from the
    // other side; the row let go, each went on into the rows the other held. The organization's
    // deletion only: the withdrawal may read its rows by the inviter's index, in the order the
    // table stores them, which rows freed by earlier tests make unknowable here.
    if (store === 'PostgreSQL' && what === 'deletion of the organization') it.skipIf(Boolean(skip))('both held at the middle row: both answer, no deadlock', async () => {
      const made = rows();
      const admin = await made.user('held-admin');
      const other = await made.user('held-other');
      const orgId = await made.organization(admin, other);
      const ids = await made.expiredInvitations(orgId, what === 'deletion of the organization' ? admin : other, 20, NOW - DAY);
      const before = await deadlocks(db());
      const holder = await holdRows(databaseUrl, 'select id from organization_invitations where id = $1 for update', [ids[10]]);
      try {
        const deleted = outcomeOf(what === 'deletion of the organization' ? new Organizations(planned!).delete(orgId, admin) : new Organizations(planned!).setRole(orgId, other, 'member', admin));
        await waitingFor(1);
        let sweepEnded = false;
        const swept = outcomeOf(new Invitations(planned!, LIMITS).sweep(NOW)).finally(() => {
          sweepEnded = true;
        });
        // Before, the sweep waited for the middle row too; now it skips the rows held and ends.
        await expect.poll(async () => sweepEnded || (await waiting()) === 2).toBe(true);
        await holder.release();
        expect({ swept: await swept, deleted: await deleted }).toEqual({ swept: 'done', deleted: 'done' });
      } finally {
        await holder.release();
      }
      expect(await db().selectFrom('organization_invitations').select('id').where('org_id', '=', orgId).execute()).toEqual([]);
      expect(await deadlocks(db())).toBe(before);
    });
  });

  it.skipIf(Boolean(skip))('the sweeps still delete every expired row and keep the live ones', async () => {
    const made = rows();
    const admin = await made.user('sweep-admin');
    const invitee = await made.user('sweep-invitee');
    const orgId = await made.organization(admin);
    await db().deleteFrom('organization_invitations').execute();
    await db().deleteFrom('organization_invitation_declines').execute();
    for (let k = 0; k < 5; k++) await made.invitation(orgId, null, admin, NOW - k);
    const live = await made.invitation(orgId, invitee, admin, NOW + 1);
    await db().insertInto('organization_invitation_declines').values([
      { id: randomId(), user_id: invitee, org_id: orgId, invited_by: admin, declined_at: 0, expires_at: NOW },
      { id: 'decline-live', user_id: invitee, org_id: null, invited_by: admin, declined_at: 0, expires_at: NOW + 1 },
    ]).execute();
    const invitations = new Invitations(db(), LIMITS);
    expect(await invitations.sweep(NOW)).toBe(5);
    expect(await invitations.sweepDeclines(NOW)).toBe(1);
    expect((await db().selectFrom('organization_invitations').select('id').execute()).map((row) => row.id)).toEqual([live]);
    expect((await db().selectFrom('organization_invitation_declines').select('id').execute()).map((row) => row.id)).toEqual(['decline-live']);
  });
});
