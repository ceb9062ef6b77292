import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { sql } from 'kysely';
import { ManualClock } from '../../../src/core/clock.js';
import { randomId } from '../../../src/core/ids.js';
import { accountsMigrations } from '../../../src/doors/accounts/migrations.js';
import { Invitations } from '../../../src/doors/install/invitations.js';
import { installMigrations } from '../../../src/doors/install/migrations.js';
import { coreMigrations } from '../../../src/store/migrations/core.js';
import { advisoryXactLock } from '../../../src/store/sql/advisory-lock.js';
import type { Stores } from '../../../src/store/ports.js';
import { createTestApp, type TestApp } from '../../helpers/app.js';
import { planOf, StatementCapture } from '../../helpers/query-plans.js';
import { createTestDatabase, postgresMissing } from '../../helpers/services.js';
import { sqlStoreSetups } from '../../helpers/sql-store-setups.js';
import { INSTALL_ENV, Member } from './install-helpers.js';

const skipPostgres = await postgresMissing();
const DAY = 86_400_000;

/** A decline remembered one day (the default is 30), invitations living two, within the sessions' idle week. */
const LIMITS = {
  PAIRGATE_INSTALL_INVITATION_TTL_SECONDS: String(2 * 86400),
  PAIRGATE_INSTALL_DECLINE_MEMORY_SECONDS: '86400',
};

/** `ms` as the pages and the refusal's message show times: `2026-12-02 07:24 UTC`. */
const minute = (ms: number) => `${new Date(ms).toISOString().slice(0, 16).replace('T', ' ')} UTC`;

/**
 * A declined invitation is remembered: neither its organization nor its inviter may invite the
 * account again for PAIRGATE_INSTALL_DECLINE_MEMORY_SECONDS (409 `invitation_declined`), so a
 * stranger cannot keep the account's 20 pending places filled by inviting again after each
 * decline, from the same organization or from new ones; the account lifts it on its page or over
 * JSON. Before, a decline was forgotten at once and the same invitation could be sent again.
 */
describe.each([
  { store: 'SQLite' as const, skip: undefined as string | undefined },
  { store: 'PostgreSQL' as const, skip: skipPostgres },
])('install door: declined invitations remembered ($store)', ({ store, skip }) => {
  let app: TestApp | undefined;
  let base = '';
  let drop: (() => Promise<void>) | undefined;
  let network = 1;
  const clock = new ManualClock(Date.now());
  const suffix = store === 'SQLite' ? 'sq' : 'pg';

  beforeAll(async () => {
    if (skip) return;
    let env: Record<string, string> = { ...INSTALL_ENV, ...LIMITS, PAIRGATE_TRUST_PROXY: '127.0.0.1' };
    if (store === 'PostgreSQL') {
      const database = await createTestDatabase();
      drop = () => database.drop();
      env = { ...env, PAIRGATE_DATABASE_URL: database.url };
    }
    app = await createTestApp(env, { clock });
    base = await app.listen();
  });
  afterAll(async () => {
    await app?.close();
    await drop?.();
  });

  /** Registers `name` (suffixed per store) from a network of its own: the account forms are limited per network. */
  const person = async (name: string): Promise<Member & { username: string }> => {
    const n = network++;
    const member = new Member(base, { 'x-forwarded-for': `10.8.${Math.floor(n / 250)}.${(n % 250) + 1}` });
    const username = `${name}-${suffix}`;
    await member.register(username);
    return Object.assign(member, { username });
  };
  /** `invitee` declines its pending invitation into `orgId` (over JSON). */
  const decline = async (invitee: Member, orgId: string): Promise<void> => {
    const invitation = await invitee.invitationInto(orgId);
    expect(invitation, 'an invitation to decline').toBeDefined();
    expect((await invitee.json('POST', `/api/v1/invitations/${invitation!.id}/decline`)).status).toBe(204);
  };
  const declinedOf = async (member: Member): Promise<Array<{ id: string; org_id: string | null; org_name: string | null; invited_by: string; declined_at: string; expires_at: string }>> => {
    const answer = await member.json('GET', '/api/v1/invitations/declined');
    expect(answer.status).toBe(200);
    return answer.body.declined;
  };
  const db = () => app!.app.pairgate.stores.db;

  it.skipIf(Boolean(skip))('the organization invites again after a decline: 409 invitation_declined, by both API routes, saying when and until when', async () => {
    const admin = await person('again-admin');
    const target = await person('again-target');
    const orgId = await admin.createOrg('Again Inc');
    expect((await admin.invite(orgId, target.username)).status).toBe(202);
    const declinedAt = clock.now();
    await decline(target, orgId);
    clock.advance(60_000);

    const refused = await admin.invite(orgId, target.username);
    expect(refused.status).toBe(409);
    expect(refused.body).toMatchObject({
      error: 'invitation_declined',
      declined_from: 'organization',
      declined_at: new Date(declinedAt).toISOString(),
      invite_again_after: new Date(declinedAt + DAY).toISOString(),
    });
    expect(refused.body.message).toContain(`On ${minute(declinedAt)}, this person declined an invitation from this organization`);
    expect(refused.body.message).toContain(`invited again after ${minute(declinedAt + DAY)}`);
    // The deprecated path invites, so it is refused the same; nothing is pending.
    const legacy = await admin.json('POST', `/api/v1/organizations/${orgId}/members`, { username: target.username });
    expect(legacy.status).toBe(409);
    expect(legacy.body.error).toBe('invitation_declined');
    expect((await admin.json('GET', `/api/v1/organizations/${orgId}/invitations`)).body.invitations).toEqual([]);
    expect(await target.invitationInto(orgId)).toBeUndefined();
  });

  it.skipIf(Boolean(skip))('the same inviter from another organization is refused; another admin of another organization is not', async () => {
    const stranger = await person('hop-stranger');
    const other = await person('hop-other');
    const target = await person('hop-target');
    const first = await stranger.createOrg('Hop One');
    await stranger.invite(first, target.username);
    await decline(target, first);

    // A new organization is free to make: the inviter is remembered too.
    const second = await stranger.createOrg('Hop Two');
    const refused = await stranger.invite(second, target.username);
    expect(refused.status).toBe(409);
    expect(refused.body).toMatchObject({ error: 'invitation_declined', declined_from: 'inviter' });
    expect(refused.body.message).toContain('declined an invitation you sent');
    // Deleting the declined organization and making it again does not clear the inviter's memory.
    expect((await stranger.json('DELETE', `/api/v1/organizations/${first}`)).status).toBe(204);
    const remade = await stranger.createOrg('Hop One');
    expect((await stranger.invite(remade, target.username)).body.error).toBe('invitation_declined');
    expect((await declinedOf(target)).map((one) => ({ org_id: one.org_id, org_name: one.org_name, invited_by: one.invited_by }))).toEqual([
      { org_id: null, org_name: null, invited_by: stranger.username },
    ]);

    const elsewhere = await other.createOrg('Elsewhere');
    expect((await other.invite(elsewhere, target.username)).status).toBe(202);
    // A username with no account, or one the target never declined, is unaffected.
    expect((await stranger.invite(second, `hop-nobody-${suffix}`)).status).toBe(202);
  });

  it.skipIf(Boolean(skip))('one decline withdraws the other invitations the same inviter sent the account, from all their organizations; another admin\'s stay', async () => {
    const stranger = await person('sweep-stranger');
    const colleague = await person('sweep-colleague');
    const victim = await person('sweep-victim');
    const traps = [await stranger.createOrg('Trap A'), await stranger.createOrg('Trap B'), await stranger.createOrg('Trap C')];
    for (const trap of traps) expect((await stranger.invite(trap, victim.username)).status).toBe(202);
    const team = await colleague.createOrg('Team');
    expect((await colleague.invite(team, victim.username)).status).toBe(202);
    // The stranger's invitation of another account is not the victim's: kept.
    expect((await stranger.invite(traps[1]!, colleague.username)).status).toBe(202);

    // Declined on the page, whose confirmation says the others went too.
    const page = await victim.get('/integrations');
    const invitation = await victim.invitationInto(traps[0]!);
    expect(page.text).toContain(`action="/integrations/invitations/${invitation!.id}/decline"`);
    expect((await victim.post(`/integrations/invitations/${invitation!.id}/decline`, {})).location).toBe('/integrations?done=declined');
    expect((await victim.get('/integrations?done=declined&lang=en')).text).toContain('Any other invitations the same person sent you were withdrawn too.');
    expect((await victim.get('/integrations?done=declined&lang=fr')).text).toContain('Les autres invitations que la même personne vous a envoyées ont été retirées aussi.');

    const received = (await victim.json('GET', '/api/v1/invitations')).body.invitations as Array<{ org_id: string; invited_by: string }>;
    expect(received.map((one) => ({ org_id: one.org_id, invited_by: one.invited_by }))).toEqual([{ org_id: team, invited_by: colleague.username }]);
    for (const trap of traps) {
      expect((await stranger.json('GET', `/api/v1/organizations/${trap}/invitations`)).body.invitations.map((one: { username: string }) => one.username))
        .toEqual(trap === traps[1] ? [colleague.username] : []);
    }
    const victimId = (await db().selectFrom('users').select('id').where('username', '=', victim.username).executeTakeFirstOrThrow()).id;
    expect(await db().selectFrom('organization_invitations').select('org_id').where('user_id', '=', victimId).execute()).toEqual([{ org_id: team }]);
    // One memory, of the invitation declined; it refuses the stranger from every organization.
    expect((await declinedOf(victim)).map((one) => one.org_id)).toEqual([traps[0]]);
    for (const trap of traps) expect((await stranger.invite(trap, victim.username)).body.error).toBe('invitation_declined');
  });

  it.skipIf(Boolean(skip))('declines at once of several invitations from one inviter: one declines them all, the others find theirs gone (404), no 5xx', async () => {
    const stranger = await person('burst-stranger');
    const victim = await person('burst-victim');
    const traps = await Promise.all([0, 1, 2, 3, 4].map((i) => stranger.createOrg(`Burst ${i}`)));
    for (const trap of traps) expect((await stranger.invite(trap, victim.username)).status).toBe(202);
    const ids = ((await victim.json('GET', '/api/v1/invitations')).body.invitations as Array<{ id: string }>).map((one) => one.id);
    expect(ids).toHaveLength(5);
    for (let round = 0; round < 3; round++) {
      const answers = await Promise.all(ids.map((id) => victim.json('POST', `/api/v1/invitations/${id}/decline`)));
      const statuses = answers.map((answer) => answer.status);
      if (round === 0) expect(statuses.filter((status) => status === 204).length).toBeGreaterThanOrEqual(1);
      for (const answer of answers) {
        expect([204, 404], JSON.stringify(answer.body)).toContain(answer.status);
        if (answer.status === 404) expect(answer.body.error).toBe('invitation_not_found');
      }
      expect((await victim.json('GET', '/api/v1/invitations')).body.invitations).toEqual([]);
      if (round === 2) break;
      // Allowed again and invited again from every organization, for another round.
      for (const one of await declinedOf(victim)) expect((await victim.json('DELETE', `/api/v1/invitations/declined/${one.id}`)).status).toBe(204);
      for (const trap of traps) expect((await stranger.invite(trap, victim.username)).status).toBe(202);
      ids.splice(0, ids.length, ...((await victim.json('GET', '/api/v1/invitations')).body.invitations as Array<{ id: string }>).map((one) => one.id));
      expect(ids).toHaveLength(5);
    }
  });

  it.skipIf(Boolean(skip))('after the remembered period the organization invites again', async () => {
    const admin = await person('lapse-admin');
    const target = await person('lapse-target');
    const orgId = await admin.createOrg('Lapse');
    await admin.invite(orgId, target.username);
    await decline(target, orgId);
    clock.advance(DAY - 1);
    expect((await admin.invite(orgId, target.username)).body.error).toBe('invitation_declined');
    expect(await declinedOf(target)).toHaveLength(1);
    clock.advance(1);
    expect(await declinedOf(target)).toEqual([]);
    expect((await admin.invite(orgId, target.username)).status).toBe(202);
    expect(await target.invitationInto(orgId)).toBeDefined();
  });

  it.skipIf(Boolean(skip))('the invitee lists and lifts its declines over JSON; another account\'s decline is 404 decline_not_found', async () => {
    const admin = await person('lift-admin');
    const target = await person('lift-target');
    const nosy = await person('lift-nosy');
    const orgId = await admin.createOrg('Lift Co');
    await admin.invite(orgId, target.username);
    const declinedAt = clock.now();
    await decline(target, orgId);

    const [memory] = await declinedOf(target);
    expect(memory).toEqual({ id: expect.any(String), org_id: orgId, org_name: 'Lift Co', invited_by: admin.username, declined_at: new Date(declinedAt).toISOString(), expires_at: new Date(declinedAt + DAY).toISOString() });
    expect(await declinedOf(nosy)).toEqual([]);
    for (const path of [`/api/v1/invitations/declined/${memory!.id}`, `/api/v1/invitations/declined/${'A'.repeat(22)}`]) {
      const refused = await nosy.json('DELETE', path);
      expect(refused.status).toBe(404);
      expect(refused.body.error).toBe('decline_not_found');
    }
    expect((await nosy.json('DELETE', '/api/v1/invitations/declined/not-an-id')).status).toBe(400);
    // From another site in a browser: refused, nothing forgotten.
    const foreign = await target.json('DELETE', `/api/v1/invitations/declined/${memory!.id}`, undefined, { 'sec-fetch-site': 'cross-site', origin: 'https://evil.example' });
    expect(foreign.body.error).toBe('csrf_failed');
    expect((await admin.invite(orgId, target.username)).status).toBe(409);

    expect((await target.json('DELETE', `/api/v1/invitations/declined/${memory!.id}`)).status).toBe(204);
    expect((await target.json('DELETE', `/api/v1/invitations/declined/${memory!.id}`)).body.error).toBe('decline_not_found');
    expect(await declinedOf(target)).toEqual([]);
    expect((await admin.invite(orgId, target.username)).status).toBe(202);
  });

  it.skipIf(Boolean(skip))('the page: the Invite form says why it is refused; "Invitations you declined" with Allow invitations again (CSRF-protected) lifts it', async () => {
    const admin = await person('pg-admin');
    const target = await person('pg-target');
    const orgId = await admin.createOrg('Page <i>Declines</i>');
    await admin.invite(orgId, target.username);
    const declinedAt = clock.now();
    // Declined through the page's form.
    const page = await target.get('/integrations');
    const declinePath = /action="(\/integrations\/invitations\/[^"/]+\/decline)"/.exec(page.text)![1]!;
    expect((await target.post(declinePath, {})).location).toBe('/integrations?done=declined');

    await admin.get('/integrations');
    const refused = await admin.post(`/integrations/orgs/${orgId}/members`, { username: target.username, role: 'member' });
    expect(refused.status).toBe(409);
    expect(refused.text).toContain(`On ${minute(declinedAt)}, this person declined an invitation from this organization: they can be invited again after ${minute(declinedAt + DAY)}`);
    expect(refused.text).toContain(`value="${target.username}"`);
    const french = await admin.post(`/integrations/orgs/${orgId}/members`, { username: target.username, role: 'member', lang: 'fr' });
    expect(french.status).toBe(409);
    expect(french.text).toContain(`Le ${minute(declinedAt)}, cette personne a refusé une invitation de cette organisation`);

    const listed = await target.get('/integrations');
    expect(listed.text).toContain('Invitations you declined');
    expect(listed.text).toContain(`<strong>Page &lt;i&gt;Declines&lt;/i&gt;</strong>, invited by ${admin.username}.`);
    expect(listed.text).toContain(`Declined on <time class="date" datetime="${new Date(declinedAt).toISOString()}">${minute(declinedAt)}</time>`);
    const allowPath = /action="(\/integrations\/invitations\/declined\/[^"/]+\/allow)"/.exec(listed.text)![1]!;
    expect(listed.text).toContain('>Allow invitations again</button>');
    expect((await target.get('/integrations?lang=fr')).text).toContain('>Autoriser à nouveau les invitations</button>');
    // Without the CSRF token, or someone else: refused, nothing forgotten.
    expect((await target.post(allowPath, { _csrf: 'x'.repeat(43) })).status).toBe(403);
    const stolen = await admin.post(allowPath, {});
    expect(stolen.status).toBe(404);
    expect(stolen.text).toContain('You have no declined invitation with this id');
    expect((await admin.invite(orgId, target.username)).body.error).toBe('invitation_declined');

    await target.get('/integrations');
    expect((await target.post(allowPath, {})).location).toBe('/integrations?done=allowed');
    const after = await target.get('/integrations?done=allowed&lang=en');
    expect(after.text).toContain('Invitations from this organization and from whoever sent it can reach you again.');
    expect(after.text).not.toContain('Invitations you declined');
    expect((await admin.post(`/integrations/orgs/${orgId}/members`, { username: target.username, role: 'member' })).location).toBe('/integrations?done=invited');
    expect(await target.invitationInto(orgId)).toBeDefined();
  });

  it.skipIf(Boolean(skip))('a username now naming another account (deleted, registered again) carries no memory; deleting either account deletes it', async () => {
    const admin = await person('reuse-admin');
    const first = await person('reuse-target');
    const orgId = await admin.createOrg('Reuse');
    await admin.invite(orgId, first.username);
    await decline(first, orgId);
    const firstId = (await db().selectFrom('users').select('id').where('username', '=', first.username).executeTakeFirstOrThrow()).id;
    expect(await db().selectFrom('organization_invitation_declines').select('id').where('user_id', '=', firstId).execute()).toHaveLength(1);
    await db().deleteFrom('users').where('id', '=', firstId).execute();
    expect(await db().selectFrom('organization_invitation_declines').select('id').where('user_id', '=', firstId).execute()).toEqual([]);
    const second = new Member(base, { 'x-forwarded-for': `10.8.200.${(network++ % 250) + 1}` });
    await second.register(first.username);
    expect((await admin.invite(orgId, first.username)).status).toBe(202);
    expect(await second.invitationInto(orgId)).toBeDefined();

    // The inviter's account deleted: its memories go with it.
    const inviter = await person('reuse-inviter');
    const victim = await person('reuse-victim');
    const theirs = await inviter.createOrg('Reuse Two');
    await inviter.invite(theirs, victim.username);
    await decline(victim, theirs);
    expect(await declinedOf(victim)).toHaveLength(1);
    await db().deleteFrom('organizations').where('id', '=', theirs).execute();
    await db().deleteFrom('users').where('username', '=', inviter.username).execute();
    expect(await declinedOf(victim)).toEqual([]);
  });

  // PostgreSQL alone: on SQLite one transaction writes at a time, so the two cannot interleave.
  if (store === 'PostgreSQL') {
    /**
     * An invitation from the inviter's other organization, sent as the account declines one of
     * theirs: it read the account's declines before it waited for the account's lock, which the
     * decline held, and once let in stayed, the decline having withdrawn the inviter's invitations
     * before it. The declines are read with the lock held now. A decline is played here by a
     * transaction holding that lock while it records one, so the invitation waits for it for sure.
     */
    it.skipIf(Boolean(skip))('an invitation sent while the account declines one of the same inviter\'s is refused once the decline commits', async () => {
      const stranger = await person('race-stranger');
      const target = await person('race-target');
      const [first, second] = [await stranger.createOrg('Race One'), await stranger.createOrg('Race Two')];
      expect((await stranger.invite(first, target.username)).status).toBe(202);
      const ids = Object.fromEntries((await db().selectFrom('users').select(['id', 'username']).where('username', 'in', [stranger.username, target.username]).execute()).map((row) => [row.username, row.id]));
      const targetId = ids[target.username]!;
      let sent: ReturnType<Member['invite']> | undefined;
      await db().transaction().execute(async (trx) => {
        await advisoryXactLock(trx, 'pairgate.install.invitations', targetId);
        sent = stranger.invite(second, target.username);
        // The invitation waits for the account's lock (a lock request not granted).
        for (let i = 0; ; i++) {
          const waiting = await sql<{ n: number }>`SELECT count(*)::int AS n FROM pg_locks WHERE locktype = 'advisory' AND NOT granted`.execute(db());
          if (waiting.rows[0]!.n > 0) break;
          if (i > 200) throw new Error('the invitation never waited for the account\'s lock');
          await new Promise((resolve) => setTimeout(resolve, 10));
        }
        await trx.insertInto('organization_invitation_declines').values({ id: randomId(), user_id: targetId, org_id: first, invited_by: ids[stranger.username]!, declined_at: clock.now(), expires_at: clock.now() + DAY }).execute();
        await trx.deleteFrom('organization_invitations').where('user_id', '=', targetId).execute();
      });
      // Committed: the invitation went on.
      expect(await sent).toMatchObject({ status: 409, body: { error: 'invitation_declined', declined_from: 'inviter' } });
      expect(await target.invitationInto(second)).toBeUndefined();
    });
  }
});

const setups = await sqlStoreSetups({ ...coreMigrations, ...accountsMigrations, ...installMigrations });

/** The door's sweep deletes lapsed memories a batch at a time, found by their `expires_at` index; live ones stay. */
for (const setup of setups) describe.skipIf(Boolean(setup.skip))(`the sweep of declined invitations, ${setup.name}${setup.skip ? ` (skipped: ${setup.skip})` : ''}`, () => {
  let stores: Stores;
  beforeEach(async () => {
    stores = await setup.open();
  });
  afterEach(async () => {
    await stores.close();
  });

  it('deletes the memories lapsed at its time, in batches by the index, and keeps the others', async () => {
    const db = stores.db;
    const now = 10 * DAY;
    await db.insertInto('users').values([
      { id: 'u-decliner', username: 'decliner', email: 'decliner@example.test', password_hash: 'x', created_at: 0 },
      { id: 'u-inviter', username: 'inviter', email: 'inviter@example.test', password_hash: 'x', created_at: 0 },
    ]).execute();
    const orgs = Array.from({ length: 5 }, (_, i) => ({ id: `org-${i}`, name: `Org ${i}`, created_at: 0 }));
    await db.insertInto('organizations').values(orgs).execute();
    await db.insertInto('organization_invitation_declines').values(orgs.map((org, i) => ({
      id: randomId(), user_id: 'u-decliner', org_id: org.id, invited_by: 'u-inviter', declined_at: 0, expires_at: i < 3 ? now - i : now + 1,
    }))).execute();
    const invitations = new Invitations(db, { ttlMs: DAY, perOrganization: 100, perAccount: 20, organizationsPerAccount: 100, declineMemoryMs: DAY });
    const capture = new StatementCapture();
    const swept = new Invitations(db.withPlugin(capture), { ttlMs: DAY, perOrganization: 100, perAccount: 20, organizationsPerAccount: 100, declineMemoryMs: DAY });
    expect(await swept.sweepDeclines(now)).toBe(3);
    expect((await db.selectFrom('organization_invitation_declines').select('org_id').orderBy('org_id').execute()).map((row) => row.org_id)).toEqual(['org-3', 'org-4']);
    expect(await invitations.sweepDeclines(now)).toBe(0);
    // Each statement limited to a batch, and read by the index of the condition, not by a scan.
    const compiled = capture.compiled(db);
    expect(compiled.some((statement) => /limit/i.test(statement.sql))).toBe(true);
    for (const statement of compiled) {
      const plan = await planOf(db, setup.name === 'SQLite' ? 'sqlite' : 'postgres', statement);
      expect(plan).not.toMatch(setup.name === 'SQLite' ? /SCAN organization_invitation_declines\b/ : /Seq Scan on organization_invitation_declines\b/);
      expect(plan).toContain('organization_invitation_declines_expires_at');
    }
  });
});
