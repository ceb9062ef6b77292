import { expect, it } from 'vitest';
import { accountsMigrations } from '../../../src/doors/accounts/migrations.js';
import { Invitations } from '../../../src/doors/install/invitations.js';
import { installMigrations } from '../../../src/doors/install/migrations.js';
import { Organizations } from '../../../src/doors/install/organizations.js';
import { coreMigrations } from '../../../src/store/migrations/core.js';
import { describeOnEachStore, sqlStoreSetups } from '../../helpers/sql-store-setups.js';

const DAY = 86_400_000;
/** One place per account: the second invitation of an account is kept unbound. */
const LIMITS = { ttlMs: 7 * DAY, perOrganization: 100, perAccount: 1, organizationsPerAccount: 100, declineMemoryMs: 30 * DAY };

const setups = await sqlStoreSetups({ ...coreMigrations, ...accountsMigrations, ...installMigrations });

/**
 * A decline withdraws the other invitations the same inviter sent the account, those kept unbound
 * too (beyond the account's places, stored by username with no account named). The unbound ones
 * stayed pending in the inviter's lists until they lapsed, and a renewal once the account had room
 * would have bound them, but for the memory.
 */
describeOnEachStore(setups, 'install door: a decline withdraws the inviter\'s unbound invitations of the account', (stores) => {
  it('the inviter\'s invitation kept unbound goes with the decline; another inviter\'s stays', async () => {
    const db = stores().db;
    const now = 100 * DAY;
    await db.insertInto('users').values([
      { id: 'u-stranger', username: 'unbound-stranger', email: 'unbound-stranger@example.test', password_hash: 'x', created_at: 0 },
      { id: 'u-colleague', username: 'unbound-colleague', email: 'unbound-colleague@example.test', password_hash: 'x', created_at: 0 },
      { id: 'u-victim', username: 'unbound-victim', email: 'unbound-victim@example.test', password_hash: 'x', created_at: 0 },
    ]).execute();
    const organizations = new Organizations(db, 100);
    const invitations = new Invitations(db, LIMITS);
    const trapA = await organizations.create('Trap A', 'u-stranger', now);
    const trapB = await organizations.create('Trap B', 'u-stranger', now);
    const team = await organizations.create('Team', 'u-colleague', now);
    await invitations.invite(trapA.id, 'unbound-victim', 'member', 'u-stranger', now);
    // The account's one place is taken: these two are kept unbound.
    await invitations.invite(trapB.id, 'unbound-victim', 'member', 'u-stranger', now + 1);
    await invitations.invite(team.id, 'unbound-victim', 'member', 'u-colleague', now + 2);
    const unbound = async () => (await db.selectFrom('organization_invitations').select('org_id').where('user_id', 'is', null).orderBy('org_id').execute()).map((row) => row.org_id);
    expect(await unbound()).toEqual([trapB.id, team.id].sort());

    const [received] = await invitations.receivedBy('u-victim', now + 3);
    expect(received?.orgId).toBe(trapA.id);
    await invitations.decline(received!.id, 'u-victim', now + 3);

    expect(await unbound()).toEqual([team.id]);
    expect((await invitations.pendingIn(trapB.id, now + 4)).map((one) => one.username)).toEqual([]);
    expect((await invitations.pendingIn(team.id, now + 4)).map((one) => one.username)).toEqual(['unbound-victim']);
  });
});
