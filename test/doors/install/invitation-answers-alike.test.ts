import { expect, it } from 'vitest';
import { accountsMigrations } from '../../../src/doors/accounts/migrations.js';
import { Invitations } from '../../../src/doors/install/invitations.js';
import { installMigrations } from '../../../src/doors/install/migrations.js';
import { Organizations } from '../../../src/doors/install/organizations.js';
import { coreMigrations } from '../../../src/store/migrations/core.js';
import { StatementCapture } from '../../helpers/query-plans.js';
import { describeOnEachStore, sqlStoreSetups } from '../../helpers/sql-store-setups.js';

const DAY = 86_400_000;
const LIMITS = { ttlMs: 7 * DAY, perOrganization: 100, perAccount: 20, organizationsPerAccount: 100, declineMemoryMs: 30 * DAY };

const setups = await sqlStoreSetups({ ...coreMigrations, ...accountsMigrations, ...installMigrations });

/**
 * Inviting a username runs the same statements whether or not it names an account: the answer
 * (202, the pending list) was the same, but a name without an account skipped the member, decline
 * and per-account look-ups and was answered measurably sooner (about 0.1 ms of 1-2 ms on SQLite,
 * over hundreds of tries on one organization: renewing takes no new place), telling an admin of
 * any organization which usernames exist.
 */
describeOnEachStore(setups, `install door: an invitation's work tells nothing of the account`, (stores) => {
  it('a username of an account and one of none run the same statements, first sent and renewed', async () => {
    const db = stores().db;
    const now = 100 * DAY;
    await db.insertInto('users').values([
      { id: 'u-admin', username: 'alike-admin', email: 'alike-admin@example.test', password_hash: 'x', created_at: 0 },
      { id: 'u-someone', username: 'alike-someone', email: 'alike-someone@example.test', password_hash: 'x', created_at: 0 },
    ]).execute();
    const org = await new Organizations(db, 100).create('Alike', 'u-admin', now);
    const statementsOf = async (username: string): Promise<string[]> => {
      const capture = new StatementCapture();
      await new Invitations(db.withPlugin(capture), LIMITS).invite(org.id, username, 'member', 'u-admin', now);
      return capture.compiled(db).map((statement) => statement.sql);
    };

    const ofAccount = await statementsOf('alike-someone');
    const ofNone = await statementsOf('alike-nobody');
    expect(ofNone).toEqual(ofAccount);
    // Renewing each: the same again.
    expect(await statementsOf('alike-nobody')).toEqual(await statementsOf('alike-someone'));
    // And each is stored as before: the account's bound to it, the other to none.
    const rows = await db.selectFrom('organization_invitations').select(['username', 'user_id']).orderBy('username').execute();
    expect(rows).toEqual([{ username: 'alike-nobody', user_id: null }, { username: 'alike-someone', user_id: 'u-someone' }]);
  });
});

/**
 * An invitation past its lifetime, not yet swept, is not pending: declining it is 404, as accepting
 * it is, and leaves no memory. It was declined (204) and remembered 30 days, refusing its
 * organization and inviter an invitation the person never saw as pending.
 */
describeOnEachStore(setups, `install door: a lapsed invitation is not declined`, (stores) => {
  it('declining it after its lifetime is 404 invitation_not_found, and nothing is remembered', async () => {
    const db = stores().db;
    const now = 100 * DAY;
    await db.insertInto('users').values([
      { id: 'u-admin', username: 'lapsed-admin', email: 'lapsed-admin@example.test', password_hash: 'x', created_at: 0 },
      { id: 'u-invitee', username: 'lapsed-invitee', email: 'lapsed-invitee@example.test', password_hash: 'x', created_at: 0 },
    ]).execute();
    const org = await new Organizations(db, 100).create('Lapsed', 'u-admin', now);
    const invitations = new Invitations(db, LIMITS);
    await invitations.invite(org.id, 'lapsed-invitee', 'member', 'u-admin', now);
    const [received] = await invitations.receivedBy('u-invitee', now);
    const later = now + LIMITS.ttlMs;

    await expect(invitations.accept(received!.id, 'u-invitee', later)).rejects.toMatchObject({ code: 'invitation_not_found', status: 404 });
    await expect(invitations.decline(received!.id, 'u-invitee', later)).rejects.toMatchObject({ code: 'invitation_not_found', status: 404 });
    expect(await invitations.declinedBy('u-invitee', later)).toEqual([]);
    // The organization may invite the account again.
    await invitations.invite(org.id, 'lapsed-invitee', 'member', 'u-admin', later);
    expect((await invitations.receivedBy('u-invitee', later)).map((one) => one.orgId)).toEqual([org.id]);
  });
});
