import { describe, expect, it } from 'vitest';
import { systemClock } from '../../../src/core/clock.js';
import { deadlocks, holdRows, lockWaiters } from '../../helpers/lock-races.js';
import { postgresMissing } from '../../helpers/services.js';
import { FakeMattermost, installConnector, Member, mattermostId } from './install-helpers.js';
import { useInstallStoreApp } from './install-store-app.js';

const skipPostgres = await postgresMissing();
const PASSWORD = 'correct horse battery';
/** How many link + delete pairs race; rounds run a few at a time. */
const ROUNDS = 60;
const AT_ONCE = 6;
/** The deletion starts 0 to 15 ms after the link, a step more each round. */
const SHIFTS = 16;

/**
 * A chat user spending a member's link token while that member deletes their account. On
 * PostgreSQL the link locked the organization and then, by its insert's foreign key, the account
 * row (FOR KEY SHARE), while the deletion locked the account row (FOR UPDATE) and then, in the
 * install door's deletion guard, the organization: opposite orders, so now and then PostgreSQL
 * broke the deadlock (40P01) and one side answered 500. Both now lock the account first. Either
 * the link happened first and went with the account, or it is refused with a 4xx; never a 5xx,
 * never a link to an account that is gone. Real sockets, one server per store.
 */
describe.each([
  { store: 'SQLite' as const, skip: undefined as string | undefined },
  { store: 'PostgreSQL' as const, skip: skipPostgres },
])('install door: a link racing the deletion of the account that made its token ($store)', ({ store, skip }) => {
  const server = useInstallStoreApp(store, skip);
  /** A link token of `member` (from its own network: link tokens are limited per network). */
  const linkToken = async (member: Member, orgId: string): Promise<string> => {
    const made = await member.json('POST', '/api/v1/integrations/mattermost/link-tokens', { org_id: orgId }, member.headers);
    expect(made.status).toBe(201);
    return made.body.token as string;
  };

  it.skipIf(Boolean(skip))(`${ROUNDS} rounds: no 5xx; the link went with the account or was refused with a 4xx`, { timeout: 60_000 }, async () => {
    const admin = await server.person('race-admin');
    const orgId = await admin.createOrg('Racers');
    const installation = await installConnector(server.base, admin, orgId);
    const mm = new FakeMattermost(server.base, systemClock);
    const db = server.app.app.pairgate.stores.db;

    const round = async (i: number) => {
      const member = await server.person(`racer${i}`);
      const { username } = member;
      expect((await admin.addMember(orgId, username)).status).toBe(201);
      const token = await linkToken(member, orgId);
      await member.get('/account/delete');
      const chatUser = { id: mattermostId(`chatracer${i}`), username: `chat${i}` };
      // The two requests start a little apart, shifted each round, so that their transactions
      // meet at every point of each other. Before the fix, a fifth to a third of the rounds on
      // PostgreSQL ended in a deadlock (the deletion answered 500).
      const shift = i % SHIFTS;
      const later = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
      const [linked, deleted] = await Promise.all([
        mm.call(installation.id, 'link', installation.secret, chatUser, { values: { token } }),
        later(shift).then(() => member.post('/account/delete', { password: PASSWORD })),
      ]);
      const link = await db.selectFrom('chat_links').select('user_id').where('external_user_id', '=', chatUser.id).executeTakeFirst();
      const account = await db.selectFrom('users').select('id').where('username', '=', username).executeTakeFirst();
      return { i, link: linked.status, linkError: linked.body?.data?.error as string | undefined, linkText: linked.body?.text as string, deletion: deleted.status, linkRow: link !== undefined, accountLeft: account !== undefined };
    };

    const results: Awaited<ReturnType<typeof round>>[] = [];
    for (let start = 0; start < ROUNDS; start += AT_ONCE) {
      results.push(...(await Promise.all(Array.from({ length: Math.min(AT_ONCE, ROUNDS - start) }, (_, k) => round(start + k)))));
    }

    const failed = results.filter((r) => r.link >= 500 || r.deletion >= 500);
    expect(failed, `${failed.length} of ${ROUNDS} rounds answered a 5xx`).toEqual([]);
    for (const r of results) {
      // The deletion is never refused: the person is a plain member of an organization with an admin.
      expect(r.deletion, `round ${r.i}`).toBe(200);
      expect(r.accountLeft, `round ${r.i}`).toBe(false);
      // Linked first, the link went with the account; else the link was refused saying the account is gone.
      expect(r.linkRow, `round ${r.i}`).toBe(false);
      if (r.link !== 200) {
        expect(r.link, `round ${r.i}: ${r.linkError} ${r.linkText}`).toBe(403);
        expect(r.linkError, `round ${r.i}`).toBe('not_a_member');
        expect(r.linkText, `round ${r.i}`).toMatch(/^The account that made this token has been deleted, so the token links nothing\./);
      }
    }
    const dangling = await db.selectFrom('chat_links').leftJoin('users', 'users.id', 'chat_links.user_id').select('chat_links.user_id').where('users.id', 'is', null).execute();
    expect(dangling).toEqual([]);
    if (store === 'PostgreSQL') {
      // The database is this test's own: PostgreSQL counts every deadlock it broke in it.
      expect(await deadlocks(db)).toBe(0);
    }
  });

  // The interleaving that deadlocked, made to happen every time: a connection of the test holds
  // the chat user's link row (linked to another account before), so the link waits at its insert,
  // after the organization, while the deletion starts; the row let go, the link's insert goes on.
  // PostgreSQL only: SQLite runs one transaction at a time, so nothing can hold the row there.
  if (store === 'PostgreSQL') it.skipIf(Boolean(skip))('the link held at its insert while the account is being deleted: both answer, no deadlock', async () => {
    const admin = await server.person('held-admin');
    const orgId = await admin.createOrg('Held');
    const installation = await installConnector(server.base, admin, orgId);
    const mm = new FakeMattermost(server.base, systemClock);
    const chatUser = { id: mattermostId('heldchatuser'), username: 'held' };
    expect((await mm.call(installation.id, 'link', installation.secret, chatUser, { values: { token: await linkToken(admin, orgId) } })).status).toBe(200);
    const member = await server.person('held-member');
    expect((await admin.addMember(orgId, member.username)).status).toBe(201);
    const token = await linkToken(member, orgId);
    await member.get('/account/delete');

    const holder = await holdRows(server.databaseUrl, 'select 1 from chat_links where external_user_id = $1 for update', [chatUser.id]);
    // Counted outside the holder's transaction: inside one, PostgreSQL keeps showing the activity it read first.
    const waiting = () => lockWaiters(server.app.app.pairgate.stores.db);
    try {
      const linked = mm.call(installation.id, 'link', installation.secret, chatUser, { values: { token } });
      await expect.poll(waiting).toBe(1);
      const deleted = member.post('/account/delete', { password: PASSWORD });
      // Fixed, the deletion waits for the link's hold on the account; before, for the organization.
      await expect.poll(waiting).toBe(2);
      await holder.release();
      const [link, deletion] = await Promise.all([linked, deleted]);
      expect({ link: link.status, deletion: deletion.status }).toEqual({ link: 200, deletion: 200 });
      expect(link.body.data).toMatchObject({ linked: true, username: member.username, replaced: admin.username });
      // Linked first, so the link went with the account.
      expect(await server.app.app.pairgate.stores.db.selectFrom('chat_links').select('user_id').where('external_user_id', '=', chatUser.id).execute()).toEqual([]);
    } finally {
      await holder.release();
    }
  });
});
