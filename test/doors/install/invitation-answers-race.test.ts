import { describe, expect, it } from 'vitest';
import { accountsMigrations } from '../../../src/doors/accounts/migrations.js';
import { Invitations } from '../../../src/doors/install/invitations.js';
import { installMigrations } from '../../../src/doors/install/migrations.js';
import { coreMigrations } from '../../../src/store/migrations/core.js';
import { deadlocks, holdRows, later, outcomeOf, RACE_ROUNDS, RACE_SHIFTS, raceRounds, untilWaiting, type HeldRows } from '../../helpers/lock-races.js';
import { postgresMissing } from '../../helpers/services.js';
import { usePostgresStores } from '../../helpers/sql-store-setups.js';
import { deleteAccount, InstallRows } from './install-rows.js';

const skip = await postgresMissing();
const migrations = { ...coreMigrations, ...accountsMigrations, ...installMigrations };
const DAY = 86_400_000;
const NOW = 100 * DAY;
const LIMITS = { ttlMs: 7 * DAY, perOrganization: 100, perAccount: 20, organizationsPerAccount: 100, declineMemoryMs: 30 * DAY };

/** The statement `roomFor` and a decline take the account's invitations lock with, for a test's connection to hold it. */
const INVITATIONS_LOCK = 'select pg_advisory_xact_lock(hashtext($1), hashtext($2))';
/** The statement `lockOrganization` takes an organization's lock with. */
const ORGANIZATION_LOCK = 'update organizations set name = name where id = $1';

/**
 * The install door's answers to an invitation (an acceptance, a decline) and its sending, racing
 * one another and the deletion of the inviter's or the invitee's account, on PostgreSQL. Each
 * takes the accounts' rows first (`FOR KEY SHARE`, in id order), then the organization's lock,
 * then the account's invitations advisory lock: an account's deletion locks its row and then its
 * organizations, so one that took the organization first and met the account's row later (its
 * insert's foreign key, or the row itself) waited for the deletion as the deletion waited for it
 * (40P01, a 503 `store_conflict`). A decline holds the rows of the inviter it read before its
 * transaction: another admin's renewal of the invitation committed meanwhile names an inviter it
 * does not hold, so it reads the invitation again and starts over. SQLite runs one transaction at
 * a time: nothing to race there.
 */
describe.skipIf(Boolean(skip))(`install door: invitation answers racing renewals and account deletions, PostgreSQL${skip ? ` (skipped: ${skip})` : ''}`, () => {
  const pg = usePostgresStores(migrations);
  const rows = () => new InstallRows(pg.db());
  const invitations = () => new Invitations(pg.db(), LIMITS);

  /** The invitations into `orgId` of the username `name`, bound or not. */
  const invitationsOf = (orgId: string, name: string) => pg.db().selectFrom('organization_invitations').select(['user_id', 'invited_by', 'role'])
    .where('org_id', '=', orgId).where('username', '=', name).execute();
  /** The decline memories of `userId` for `orgId`. */
  const memoriesOf = (userId: string, orgId: string) => pg.db().selectFrom('organization_invitation_declines').select(['invited_by'])
    .where('user_id', '=', userId).where('org_id', '=', orgId).execute();
  /** The role of `userId` in `orgId`, undefined for none. */
  const roleIn = async (orgId: string, userId: string) => (await pg.db().selectFrom('organization_members').select('role').where('org_id', '=', orgId).where('user_id', '=', userId).executeTakeFirst())?.role;
  /** Every row still naming the account `gone`: invitations (sent or received), decline memories, memberships, the account. */
  const naming = async (gone: string) => {
    const db = pg.db();
    const invited = await db.selectFrom('organization_invitations').select('id').where((eb) => eb.or([eb('user_id', '=', gone), eb('invited_by', '=', gone)])).execute();
    const memories = await db.selectFrom('organization_invitation_declines').select('id').where((eb) => eb.or([eb('user_id', '=', gone), eb('invited_by', '=', gone)])).execute();
    const memberships = await db.selectFrom('organization_members').select('org_id').where('user_id', '=', gone).execute();
    const account = await db.selectFrom('users').select('id').where('id', '=', gone).execute();
    return invited.length + memories.length + memberships.length + account.length;
  };

  /** Runs `body` with a connection of the test's holding the lock `query` takes, released whatever happens. */
  const holding = async (query: string, params: unknown[], body: (holder: HeldRows) => Promise<void>) => {
    const holder = await holdRows(pg.url(), query, params);
    try {
      await body(holder);
    } finally {
      await holder.release();
    }
  };
  /** Waits until `n` connections wait for a lock (`already` of them did before). */
  const waitingBeyond = (already: number) => untilWaiting(pg.db(), { already });

  /**
   * An organization of two admins, `inviter` and `other`, and `invitee`, who administers an
   * organization of its own (which its account's deletion locks), invited by `inviter`.
   */
  const invited = async (label: string) => {
    const made = rows();
    const inviter = await made.user(`${label}-inviter`);
    const other = await made.user(`${label}-other`);
    const invitee = await made.user(`${label}-invitee`);
    const own = await made.organization(invitee);
    const orgId = await made.organization(inviter, other);
    const id = await made.invitation(orgId, invitee, inviter, NOW + DAY);
    return { made, inviter, other, invitee, own, orgId, id };
  };

  describe('a decline racing another admin\'s renewal of the same invitation', () => {
    it('the renewal committed after the decline read the invitation: the decline reads it again and declines the renewed one', async () => {
      const { inviter, other, invitee, orgId, id } = await invited('renewed');
      const before = await deadlocks(pg.db());
      await holding(INVITATIONS_LOCK, ['pairgate.install.invitations', invitee], async (holder) => {
        // The renewal holds the organization and waits for the account's invitations lock.
        const renewal = outcomeOf(invitations().invite(orgId, invitee, 'member', other, NOW));
        await waitingBeyond(0);
        // The decline has read the invitation as the inviter's, holds their rows and the
        // invitee's, and waits for the organization.
        const decline = outcomeOf(invitations().decline(id, invitee, NOW));
        await waitingBeyond(1);
        await holder.release();
        // Under the lock it finds the invitation renewed by `other`, whose row it does not hold:
        // it starts over rather than declining (and remembering) an inviter it did not lock.
        expect({ renewal: await renewal, decline: await decline }).toEqual({ renewal: 'done', decline: 'done' });
      });
      // Declined as the invitee meant: nothing pending from the organization, remembered against
      // it and the admin whose invitation it was when declined.
      expect(await invitationsOf(orgId, invitee)).toEqual([]);
      expect(await memoriesOf(invitee, orgId)).toEqual([{ invited_by: other }]);
      expect(await pg.db().selectFrom('organization_invitation_declines').select('id').where('invited_by', '=', inviter).execute()).toEqual([]);
      expect(await deadlocks(pg.db())).toBe(before);
    });

    it('the renewal waiting while the decline holds the organization: refused as declined, nothing pending left', async () => {
      const { inviter, other, invitee, orgId, id } = await invited('declined-first');
      const before = await deadlocks(pg.db());
      await holding(INVITATIONS_LOCK, ['pairgate.install.invitations', invitee], async (holder) => {
        // The decline holds both accounts' rows and the organization, and waits for the account's lock.
        const decline = outcomeOf(invitations().decline(id, invitee, NOW));
        await waitingBeyond(0);
        // The renewal holds its accounts' rows (shared with the decline's) and waits for the organization.
        const renewal = outcomeOf(invitations().invite(orgId, invitee, 'member', other, NOW));
        await waitingBeyond(1);
        await holder.release();
        // It reads the memory the decline committed once it holds the account's lock.
        expect({ decline: await decline, renewal: await renewal }).toEqual({ decline: 'done', renewal: 'invitation_declined' });
      });
      expect(await invitationsOf(orgId, invitee)).toEqual([]);
      expect(await memoriesOf(invitee, orgId)).toEqual([{ invited_by: inviter }]);
      expect(await deadlocks(pg.db())).toBe(before);
    });

    it('the renewing admin\'s account deleted as the decline meets the renewed invitation: both answer, no deadlock, nothing left', async () => {
      const { inviter, other, invitee, orgId, id } = await invited('renewer-gone');
      const before = await deadlocks(pg.db());
      await holding(INVITATIONS_LOCK, ['pairgate.install.invitations', invitee], async (holder) => {
        const renewal = outcomeOf(invitations().invite(orgId, invitee, 'member', other, NOW));
        await waitingBeyond(0);
        // Holds the invitee's and `inviter`'s rows, waits for the organization.
        const decline = outcomeOf(invitations().decline(id, invitee, NOW));
        await waitingBeyond(1);
        // Waits for `other`'s row, which the renewal holds; then for the organization.
        const deletion = outcomeOf(deleteAccount(pg.db(), other));
        await waitingBeyond(2);
        await holder.release();
        // Declining the renewed invitation there, the decline's memory (its foreign key to
        // `other`) waited for the deletion, which waited for the organization the decline held.
        // It starts over instead, and finds the invitation gone with `other`'s account.
        expect({ renewal: await renewal, decline: await decline, deletion: await deletion }).toEqual({ renewal: 'done', decline: 'invitation_not_found', deletion: 'done' });
      });
      expect(await invitationsOf(orgId, invitee)).toEqual([]);
      expect(await naming(other)).toBe(0);
      expect(await memoriesOf(invitee, orgId)).toEqual([]);
      expect(await pg.db().selectFrom('users').select('id').where('id', '=', inviter).execute()).toEqual([{ id: inviter }]);
      expect(await deadlocks(pg.db())).toBe(before);
    });

    it(`${RACE_ROUNDS} rounds: the decline always done, the renewal done or refused as declined, the memory naming the invitation's last inviter, nothing pending`, { timeout: 60_000 }, async () => {
      const before = await deadlocks(pg.db());
      const results = await raceRounds(async (i) => {
        const { inviter, other, invitee, orgId, id } = await invited(`race-${i}`);
        const [decline, renewal] = await Promise.all([
          outcomeOf(invitations().decline(id, invitee, NOW)),
          later(i % RACE_SHIFTS).then(() => outcomeOf(invitations().invite(orgId, invitee, 'member', other, NOW))),
        ]);
        const memories = (await memoriesOf(invitee, orgId)).map((row) => (row.invited_by === inviter ? 'inviter' : row.invited_by === other ? 'other' : row.invited_by));
        return { i, decline, renewal, pending: (await invitationsOf(orgId, invitee)).length, memories };
      });
      for (const r of results) {
        // One renewal at most: the decline starts over once and declines it. A renewal that
        // committed first is what was declined; one after the decline meets its memory.
        const declined = r.renewal === 'done' ? 'other' : 'inviter';
        expect(r, `round ${r.i}`).toEqual({ i: r.i, decline: 'done', renewal: r.renewal === 'done' ? 'done' : 'invitation_declined', pending: 0, memories: [declined] });
      }
      expect(await deadlocks(pg.db())).toBe(before);
    });
  });

  describe('an invitation\'s sending and answers racing an account\'s deletion', () => {
    it('an invite waiting for the organization while its inviter\'s account is deleted: both answer, no deadlock', async () => {
      const { inviter, invitee, orgId } = await invited('invite-inviter');
      const before = await deadlocks(pg.db());
      const fresh = await rows().user('fresh');
      await holding(ORGANIZATION_LOCK, [orgId], async (holder) => {
        // The invite holds the inviter's and the invitee's rows, and waits for the organization.
        const invite = outcomeOf(invitations().invite(orgId, fresh, 'member', inviter, NOW));
        await waitingBeyond(0);
        // The deletion waits for the inviter's row. Had the invite taken the organization first,
        // the deletion would hold the row and wait for the organization, the invite the reverse.
        const deletion = outcomeOf(deleteAccount(pg.db(), inviter));
        await waitingBeyond(1);
        await holder.release();
        expect({ invite: await invite, deletion: await deletion }).toEqual({ invite: 'done', deletion: 'done' });
      });
      // The invitation went with its inviter's account.
      expect(await invitationsOf(orgId, fresh)).toEqual([]);
      expect(await naming(inviter)).toBe(0);
      expect(await invitationsOf(orgId, invitee)).toEqual([]);
      expect(await deadlocks(pg.db())).toBe(before);
    });

    it('an invite of an account deleted after its name was read: kept unbound, by username, as for a name of no account', async () => {
      const { made, inviter, orgId } = await invited('invite-invitee');
      const fresh = await made.user('fresh');
      const freshOwn = await made.organization(fresh);
      const before = await deadlocks(pg.db());
      await holding(ORGANIZATION_LOCK, [freshOwn], async (holder) => {
        // The deletion holds the account's row and waits for its organization.
        const deletion = outcomeOf(deleteAccount(pg.db(), fresh));
        await waitingBeyond(0);
        // The invite has read the name's account and waits for its row.
        const invite = outcomeOf(invitations().invite(orgId, fresh, 'member', inviter, NOW));
        await waitingBeyond(1);
        await holder.release();
        expect({ deletion: await deletion, invite: await invite }).toEqual({ deletion: 'done', invite: 'done' });
      });
      expect(await invitationsOf(orgId, fresh)).toEqual([{ user_id: null, invited_by: inviter, role: 'member' }]);
      expect(await naming(fresh)).toBe(0);
      expect(await deadlocks(pg.db())).toBe(before);
    });

    it('an acceptance waiting for the invitee\'s row while its account is deleted: the deletion done, the acceptance 404, no deadlock', async () => {
      const { invitee, own, id } = await invited('accept-invitee');
      const before = await deadlocks(pg.db());
      await holding(ORGANIZATION_LOCK, [own], async (holder) => {
        // The deletion holds the invitee's row and waits for the organization it administers.
        const deletion = outcomeOf(deleteAccount(pg.db(), invitee));
        await waitingBeyond(0);
        // The acceptance waits for the row before anything else. Without the row held first, it
        // deleted the invitation and met the row only at the membership's insert (its foreign
        // key), waiting for the deletion as the deletion's cascade waited for the invitation.
        const accept = outcomeOf(invitations().accept(id, invitee, NOW));
        await waitingBeyond(1);
        await holder.release();
        expect({ deletion: await deletion, accept: await accept }).toEqual({ deletion: 'done', accept: 'invitation_not_found' });
      });
      expect(await naming(invitee)).toBe(0);
      expect(await deadlocks(pg.db())).toBe(before);
    });

    it('an acceptance waiting for the organization while the invitee\'s account is deleted: both answer, the membership gone with the account', async () => {
      const { invitee, orgId, id } = await invited('accept-first');
      const before = await deadlocks(pg.db());
      await holding(ORGANIZATION_LOCK, [orgId], async (holder) => {
        // The acceptance holds the invitee's row and waits for the organization.
        const accept = outcomeOf(invitations().accept(id, invitee, NOW));
        await waitingBeyond(0);
        // The deletion waits for the row; one not held would go first, the acceptance then 404.
        let deleted = false;
        const deletion = outcomeOf(deleteAccount(pg.db(), invitee)).finally(() => {
          deleted = true;
        });
        await untilWaiting(pg.db(), { already: 1, answered: () => deleted });
        await holder.release();
        // The deletion's guard reads the membership committed meanwhile and locks its organization too.
        expect({ accept: await accept, deletion: await deletion }).toEqual({ accept: 'done', deletion: 'done' });
      });
      expect(await naming(invitee)).toBe(0);
      expect(await deadlocks(pg.db())).toBe(before);
    });

    /**
     * Each round: the inviter renews the invitation (as admin, so an acceptance shows which it
     * met), the invitee answers it, and one of the two accounts is deleted, each started a few
     * milliseconds apart. The invitee also has a second invitation from the inviter, from another
     * organization the inviter alone administers, which a decline withdraws.
     */
    describe.each(['accept', 'decline'] as const)('%s and invite racing each other and an account\'s deletion', (answer) => {
      it.each(['inviter', 'invitee'] as const)(`${RACE_ROUNDS} rounds, the %s's account deleted: no 5xx, no deadlock, nothing half-written`, { timeout: 60_000 }, async (whose) => {
        const before = await deadlocks(pg.db());
        const results = await raceRounds(async (i) => {
          const { made, inviter, invitee, orgId, id } = await invited(`${answer}-${whose}-${i}`);
          const second = await made.organization(inviter);
          await made.invitation(second, invitee, inviter, NOW + DAY);
          const gone = whose === 'inviter' ? inviter : invitee;
          const [answered, invite, deletion] = await Promise.all([
            outcomeOf(answer === 'accept' ? invitations().accept(id, invitee, NOW) : invitations().decline(id, invitee, NOW)),
            later(i % 4).then(() => outcomeOf(invitations().invite(orgId, invitee, 'admin', inviter, NOW))),
            later(Math.floor(i / 4) % RACE_SHIFTS).then(() => outcomeOf(deleteAccount(pg.db(), gone))),
          ]);
          const pending = await invitationsOf(orgId, invitee);
          return { i, inviter, answered, invite, deletion, left: await naming(gone), pending, role: await roleIn(orgId, invitee) };
        });
        const answers = ['done', 'invitation_not_found'];
        // The invite: done; refused once the invitee is a member or declined; 404 once its inviter
        // is gone (no longer a member). An invitee gone before it is a name of no account.
        const invites = ['done', answer === 'accept' ? 'already_member' : 'invitation_declined', ...(whose === 'inviter' ? ['organization_not_found'] : [])];
        const failed = results.filter((r) => !answers.includes(r.answered) || !invites.includes(r.invite) || r.deletion !== 'done');
        expect(failed, `${failed.length} of ${RACE_ROUNDS} rounds failed`).toEqual([]);
        for (const r of results) {
          // Nothing names the deleted account; an invitation made after the invitee's deletion is
          // kept unbound, by username, from the inviter (still there).
          expect(r.left, `round ${r.i}`).toBe(0);
          for (const row of r.pending) expect(row, `round ${r.i}`).toEqual({ user_id: null, invited_by: r.inviter, role: 'admin' });
          if (whose === 'invitee') expect(r.role, `round ${r.i}`).toBeUndefined();
          else if (answer === 'accept' && r.answered === 'done') {
            // Joined with the role of the invitation it met: renewed as admin only if the renewal came first.
            expect(r.role, `round ${r.i}`).toBe(r.invite === 'done' ? 'admin' : 'member');
          } else expect(r.role, `round ${r.i}`).toBeUndefined();
          if (whose === 'inviter') expect(r.pending, `round ${r.i}`).toEqual([]);
        }
        expect(await deadlocks(pg.db())).toBe(before);
      });
    });
  });
});
