import { describe, expect, it } from 'vitest';
import { ManualClock } from '../../../src/core/clock.js';
import { Invitations } from '../../../src/doors/install/invitations.js';
import { sqlAppSetups } from '../../helpers/sql-app-setups.js';
import { INSTALL_ENV, Member, type Answer } from './install-helpers.js';

const DAY = 86_400_000;

/** The invitation limits these tests meet quickly; a TTL of 2 days, within the sessions' idle week. */
const LIMITS = {
  PAIRGATE_INSTALL_INVITATION_TTL_SECONDS: String(2 * 86400),
  PAIRGATE_INSTALL_MAX_PENDING_INVITATIONS_PER_ORGANIZATION: '4',
  PAIRGATE_INSTALL_MAX_PENDING_INVITATIONS_PER_ACCOUNT: '3',
  PAIRGATE_INSTALL_MAX_ORGANIZATIONS_PER_ACCOUNT: '3',
};

/**
 * Membership by invitation, on SQLite and PostgreSQL over real sockets: an admin invites a
 * username, the same answer whether it names an account or not; only the invitee's acceptance
 * makes a member (so a stranger can no longer fill another's cap on organizations), once.
 */
describe.each(await sqlAppSetups())('install door: invitations ($name)', ({ name: store, skip, useApp }) => {
  let network = 1;
  const clock = new ManualClock(Date.now());
  const suffix = store === 'SQLite' ? 'sq' : 'pg';
  const server = useApp({ ...INSTALL_ENV, ...LIMITS, PAIRGATE_TRUST_PROXY: '127.0.0.1' }, { clock });

  /** Registers `name` (suffixed per store) from a network of its own: the account forms are limited per network. */
  const person = async (name: string): Promise<Member & { username: string }> => {
    const n = network++;
    const member = new Member(server.base, { 'x-forwarded-for': `10.9.${Math.floor(n / 250)}.${(n % 250) + 1}` });
    const username = `${name}-${suffix}`;
    await member.register(username);
    return Object.assign(member, { username });
  };
  const organizationsOf = async (member: Member): Promise<string[]> => (await member.json('GET', '/api/v1/organizations')).body.organizations.map((org: { id: string }) => org.id);
  const received = async (member: Member): Promise<Array<{ id: string; org_id: string; org_name: string; role: string; invited_by: string }>> => (await member.json('GET', '/api/v1/invitations')).body.invitations;
  const accept = (member: Member, id: string): Promise<Answer> => member.json('POST', `/api/v1/invitations/${id}/accept`);
  const db = () => server.t.app.pairgate.stores.db;

  it.skipIf(Boolean(skip))('an invited account is no member until it accepts; accepting makes it one, with the role invited; declining leaves nothing', async () => {
    const admin = await person('inv-admin');
    const ada = await person('inv-ada');
    const bea = await person('inv-bea');
    const orgId = await admin.createOrg('Invites Inc');

    const invited = await admin.invite(orgId, ` ${ada.username.toUpperCase()} `, 'admin');
    expect(invited.status).toBe(202);
    expect(invited.body).toEqual({ status: 'invited', username: ada.username, role: 'admin', expires_at: new Date(clock.now() + 2 * DAY).toISOString() });
    expect(await organizationsOf(ada)).toEqual([]);
    expect((await ada.json('GET', `/api/v1/organizations/${orgId}/members`)).status).toBe(404);
    const [invitation] = await received(ada);
    expect(invitation).toMatchObject({ org_id: orgId, org_name: 'Invites Inc', role: 'admin', invited_by: admin.username });
    expect((await admin.json('GET', `/api/v1/organizations/${orgId}/invitations`)).body.invitations).toEqual([
      { username: ada.username, role: 'admin', invited_by: admin.username, created_at: new Date(clock.now()).toISOString(), expires_at: invited.body.expires_at },
    ]);

    // Nobody else answers it: the same 404 as an id that is no invitation at all.
    for (const other of [admin, bea]) {
      expect((await accept(other, invitation!.id)).body.error).toBe('invitation_not_found');
      expect((await other.json('POST', `/api/v1/invitations/${invitation!.id}/decline`)).body.error).toBe('invitation_not_found');
    }
    expect((await accept(ada, 'A'.repeat(22))).status).toBe(404);
    expect((await accept(ada, 'not-an-id')).status).toBe(400);

    const joined = await accept(ada, invitation!.id);
    expect(joined.status).toBe(200);
    expect(joined.body).toMatchObject({ id: orgId, name: 'Invites Inc', role: 'admin' });
    expect(await organizationsOf(ada)).toEqual([orgId]);
    // Once: the invitation is gone, and a member invited again is told so.
    expect((await accept(ada, invitation!.id)).status).toBe(404);
    expect(await received(ada)).toEqual([]);
    expect((await admin.invite(orgId, ada.username)).body.error).toBe('already_member');

    await admin.invite(orgId, bea.username);
    const [offered] = await received(bea);
    expect((await bea.json('POST', `/api/v1/invitations/${offered!.id}/decline`)).status).toBe(204);
    expect(await received(bea)).toEqual([]);
    expect(await organizationsOf(bea)).toEqual([]);
    expect((await accept(bea, offered!.id)).status).toBe(404);
    expect((await admin.json('GET', `/api/v1/organizations/${orgId}/invitations`)).body.invitations).toEqual([]);
  });

  it.skipIf(Boolean(skip))('a username with no account gets the same answer and the same place in the list as one with an account', async () => {
    const admin = await person('same-admin');
    const real = await person('same-real');
    const orgId = await admin.createOrg('Same Answer');
    const ghost = `same-ghost-${suffix}`;
    const answers = [await admin.invite(orgId, real.username), await admin.invite(orgId, ghost)];
    const shape = (answer: Answer) => ({ status: answer.status, keys: Object.keys(answer.body).sort(), status_field: answer.body.status, expires: answer.body.expires_at });
    expect(shape(answers[1]!)).toEqual(shape(answers[0]!));
    // The old direct add keeps its path and is an invitation too.
    const legacy = await admin.json('POST', `/api/v1/organizations/${orgId}/members`, { username: `same-other-${suffix}` });
    expect(shape(legacy)).toEqual(shape(answers[0]!));
    const listed = (await admin.json('GET', `/api/v1/organizations/${orgId}/invitations`)).body.invitations.map((one: { username: string }) => one.username);
    expect(listed.sort()).toEqual([real.username, ghost, `same-other-${suffix}`].sort());
    // An account later registered under the name does not inherit the invitation made before it existed.
    const late = await person('same-ghost');
    expect(await received(late)).toEqual([]);
    // A name no account could have is a 400 (a rule of syntax, which says nothing of any account).
    for (const username of ['ab', 'Has Space', '-edge-', 'x'.repeat(61), '<script>']) {
      const refused = await admin.invite(orgId, username);
      expect(refused.status, username).toBe(400);
      expect(refused.body.error).toBe('invalid_username');
    }
    expect((await admin.invite(orgId, real.username, 'owner')).status).toBe(400);
  });

  it.skipIf(Boolean(skip))('a stranger\'s invitations fill nothing: the account still creates and joins organizations; the cap is checked on acceptance, the invitation kept', async () => {
    const attacker = await person('cap-attacker');
    const victim = await person('cap-victim');
    const traps: string[] = [];
    for (let i = 0; i < 3; i++) {
      const org = await attacker.createOrg(`Trap ${i}`);
      traps.push(org);
      expect((await attacker.invite(org, victim.username, 'admin')).status).toBe(202);
    }
    // Formerly: the victim, added to three, could neither create nor join one (409 too_many_organizations).
    expect(await organizationsOf(victim)).toEqual([]);
    const own = await victim.createOrg('Mine');
    const invitations = await received(victim);
    expect(invitations).toHaveLength(3);
    expect((await accept(victim, invitations[0]!.id)).status).toBe(200);
    expect((await accept(victim, invitations[1]!.id)).status).toBe(200);
    const full = await accept(victim, invitations[2]!.id);
    expect(full.status).toBe(409);
    expect(full.body).toMatchObject({ error: 'too_many_organizations', max: 3 });
    // Kept: leaving one makes room, and the same invitation is accepted.
    expect((await victim.json('DELETE', `/api/v1/organizations/${own}`)).status).toBe(204);
    expect((await accept(victim, invitations[2]!.id)).status).toBe(200);
    expect((await organizationsOf(victim)).sort()).toEqual([...traps].sort());
  });

  it.skipIf(Boolean(skip))('per organization: at most 4 pending (409 too_many_invitations); renewing one takes no new place', async () => {
    const admin = await person('perorg-admin');
    const orgId = await admin.createOrg('Per Org');
    for (let i = 0; i < 4; i++) expect((await admin.invite(orgId, `perorg-n${i}-${suffix}`)).status).toBe(202);
    const refused = await admin.invite(orgId, `perorg-n4-${suffix}`);
    expect(refused.status).toBe(409);
    expect(refused.body).toMatchObject({ error: 'too_many_invitations', max: 4 });
    expect((await admin.invite(orgId, `perorg-n0-${suffix}`, 'admin')).status).toBe(202);
    expect((await admin.json('DELETE', `/api/v1/organizations/${orgId}/invitations/perorg-n1-${suffix}`)).status).toBe(204);
    expect((await admin.json('DELETE', `/api/v1/organizations/${orgId}/invitations/perorg-n1-${suffix}`)).body.error).toBe('invitation_not_found');
    expect((await admin.invite(orgId, `perorg-n4-${suffix}`)).status).toBe(202);
  });

  it.skipIf(Boolean(skip))('per invitee: at most 3 reach the account; the newest beyond is kept for its admins as sent but reaches no one, until a place is free and it is sent again', async () => {
    const invitee = await person('perinv-target');
    const admins = await Promise.all([0, 1, 2, 3].map((i) => person(`perinv-admin${i}`)));
    const orgs = await Promise.all(admins.map((admin, i) => admin.createOrg(`Per Invitee ${i}`)));
    const answers = [];
    for (let i = 0; i < 4; i++) answers.push(await admins[i]!.invite(orgs[i]!, invitee.username));
    // The fourth admin is answered exactly as the others, and sees it pending as they do.
    expect(answers.map((answer) => answer.status)).toEqual([202, 202, 202, 202]);
    expect((await admins[3]!.json('GET', `/api/v1/organizations/${orgs[3]}/invitations`)).body.invitations.map((one: { username: string }) => one.username)).toEqual([invitee.username]);
    // (All sent at the same instant of the manual clock: compared as sets.)
    expect((await received(invitee)).map((one) => one.org_id).sort()).toEqual(orgs.slice(0, 3).sort());
    const listed = await invitee.json('GET', '/api/v1/invitations');
    expect(listed.body.max).toBe(3);
    // The page says the account is full, and how to make room.
    expect((await invitee.get('/integrations')).text).toContain('You have 3 pending invitations, the most you may');
    // An earlier invitation was not pushed out; declining one makes room, and sending again delivers.
    const first = (await received(invitee)).find((one) => one.org_id === orgs[0])!;
    expect((await invitee.json('POST', `/api/v1/invitations/${first.id}/decline`)).status).toBe(204);
    expect((await admins[3]!.invite(orgs[3]!, invitee.username)).status).toBe(202);
    expect((await received(invitee)).map((one) => one.org_id).sort()).toEqual(orgs.slice(1, 4).sort());
  });

  it.skipIf(Boolean(skip))('an invitation expires after its TTL: hidden, refused, then swept', async () => {
    const admin = await person('exp-admin');
    const late = await person('exp-late');
    const orgId = await admin.createOrg('Expiring');
    await admin.invite(orgId, late.username);
    const [invitation] = await received(late);
    clock.advance(2 * DAY - 1);
    expect(await received(late)).toHaveLength(1);
    clock.advance(1);
    expect(await received(late)).toEqual([]);
    expect((await admin.json('GET', `/api/v1/organizations/${orgId}/invitations`)).body.invitations).toEqual([]);
    expect((await accept(late, invitation!.id)).body.error).toBe('invitation_not_found');
    expect(await organizationsOf(late)).toEqual([]);
    // The door's sweep deletes the row (the same class, on the same database, at the same time).
    const sweep = new Invitations(db(), { ttlMs: 2 * DAY, perOrganization: 4, perAccount: 3, organizationsPerAccount: 3, declineMemoryMs: 30 * DAY });
    expect(await sweep.sweep(clock.now())).toBeGreaterThanOrEqual(1);
    expect(await db().selectFrom('organization_invitations').select('id').where('id', '=', invitation!.id).execute()).toEqual([]);
    // Sent again, it is new and lives again.
    await admin.invite(orgId, late.username);
    expect((await accept(late, (await received(late))[0]!.id)).status).toBe(200);
  });

  it.skipIf(Boolean(skip))('an admin who loses the role (made a member, removed, leaving) withdraws their invitations at once; so does deleting their account or the organization', async () => {
    const owner = await person('wd-owner');
    const deputy = await person('wd-deputy');
    const guest = await person('wd-guest');
    const orgId = await owner.createOrg('Withdrawn');
    const pending = async () => (await owner.json('GET', `/api/v1/organizations/${orgId}/invitations`)).body.invitations.map((one: { username: string }) => one.username);
    const deputyId = (await db().selectFrom('users').select('id').where('username', '=', deputy.username).executeTakeFirstOrThrow()).id;
    const rowsBy = async (userId: string) => db().selectFrom('organization_invitations').select('id').where('org_id', '=', orgId).where('invited_by', '=', userId).execute();
    expect((await owner.addMember(orgId, deputy.username, 'admin')).status).toBe(201);

    // Made a member: gone from the guest's list and from the admins', the row deleted; the page
    // left open and its Accept pressed gets 404 (whose message says "withdrawn"), not a membership.
    expect((await deputy.invite(orgId, guest.username, 'admin')).status).toBe(202);
    const [invitation] = await received(guest);
    expect((await owner.json('PATCH', `/api/v1/organizations/${orgId}/members/${deputy.username}`, { role: 'member' })).status).toBe(200);
    expect(await received(guest)).toEqual([]);
    expect(await pending()).toEqual([]);
    expect(await rowsBy(deputyId)).toEqual([]);
    const refused = await accept(guest, invitation!.id);
    expect(refused.status).toBe(404);
    expect(refused.body.error).toBe('invitation_not_found');
    expect(refused.body.message).toContain('withdrawn');
    expect(await organizationsOf(guest)).toEqual([]);

    // Removed by another admin.
    expect((await owner.json('PATCH', `/api/v1/organizations/${orgId}/members/${deputy.username}`, { role: 'admin' })).status).toBe(200);
    expect((await deputy.invite(orgId, guest.username)).status).toBe(202);
    expect(await received(guest)).toHaveLength(1);
    expect((await owner.json('DELETE', `/api/v1/organizations/${orgId}/members/${deputy.username}`)).status).toBe(204);
    expect(await received(guest)).toEqual([]);
    expect(await rowsBy(deputyId)).toEqual([]);

    // Leaving.
    expect((await owner.addMember(orgId, deputy.username, 'admin')).status).toBe(201);
    expect((await deputy.invite(orgId, guest.username)).status).toBe(202);
    expect((await deputy.json('DELETE', `/api/v1/organizations/${orgId}/members/${deputy.username}`)).status).toBe(204);
    expect(await received(guest)).toEqual([]);
    expect(await rowsBy(deputyId)).toEqual([]);

    // A member made admin, or an admin's role given again, withdraws nothing; another admin's invitations stay.
    expect((await owner.invite(orgId, guest.username)).status).toBe(202);
    expect((await owner.json('PATCH', `/api/v1/organizations/${orgId}/members/${owner.username}`, { role: 'admin' })).status).toBe(200);
    expect(await pending()).toEqual([guest.username]);

    // Deleting the inviter's account deletes their invitations (organization_invitations.invited_by cascades).
    const leaver = await person('wd-leaver');
    expect((await owner.addMember(orgId, leaver.username, 'admin')).status).toBe(201);
    const other = await person('wd-other');
    expect((await leaver.invite(orgId, other.username)).status).toBe(202);
    expect(await received(other)).toHaveLength(1);
    const leaverId = (await db().selectFrom('users').select('id').where('username', '=', leaver.username).executeTakeFirstOrThrow()).id;
    await db().deleteFrom('users').where('id', '=', leaverId).execute();
    expect(await rowsBy(leaverId)).toEqual([]);
    expect(await received(other)).toEqual([]);

    expect((await owner.json('DELETE', `/api/v1/organizations/${orgId}`)).status).toBe(204);
    expect(await received(guest)).toEqual([]);
    expect(await db().selectFrom('organization_invitations').select('id').where('org_id', '=', orgId).execute()).toEqual([]);
  });

  it.skipIf(Boolean(skip))('demoted and made admin again, an admin does not bring their invitations back: the invitee cannot accept one as admin', async () => {
    const alice = await person('rev-alice');
    const mallory = await person('rev-mallory');
    const eve = await person('rev-eve');
    const orgId = await alice.createOrg('Revived');
    expect((await alice.addMember(orgId, mallory.username, 'admin')).status).toBe(201);
    expect((await mallory.invite(orgId, eve.username, 'admin')).status).toBe(202);
    const [invitation] = await received(eve);
    expect(invitation).toMatchObject({ org_id: orgId, role: 'admin', invited_by: mallory.username });
    expect((await alice.json('PATCH', `/api/v1/organizations/${orgId}/members/${mallory.username}`, { role: 'member' })).status).toBe(200);
    clock.advance(60_000);
    expect((await alice.json('PATCH', `/api/v1/organizations/${orgId}/members/${mallory.username}`, { role: 'admin' })).status).toBe(200);
    // Formerly the invitation, hidden while Mallory was a member, was offered again and accepted as admin.
    expect(await received(eve)).toEqual([]);
    expect((await alice.json('GET', `/api/v1/organizations/${orgId}/invitations`)).body.invitations).toEqual([]);
    const refused = await accept(eve, invitation!.id);
    expect(refused.status).toBe(404);
    expect(refused.body.error).toBe('invitation_not_found');
    expect(await organizationsOf(eve)).toEqual([]);
    expect((await alice.json('GET', `/api/v1/organizations/${orgId}/members`)).body.members.map((one: { username: string }) => one.username).sort())
      .toEqual([alice.username, mallory.username].sort());
  });

  it.skipIf(Boolean(skip))('an invitation left behind with its inviter no longer admin (set up in the store) is hidden, holds no place, and accepting it is 410 invitation_withdrawn', async () => {
    const owner = await person('guard-owner');
    const deputy = await person('guard-deputy');
    const guest = await person('guard-guest');
    const orgId = await owner.createOrg('Guarded');
    expect((await owner.addMember(orgId, deputy.username, 'admin')).status).toBe(201);
    await deputy.invite(orgId, guest.username, 'admin');
    const [invitation] = await received(guest);
    // A role changed without setRole (which would withdraw the invitation): the state a race could leave.
    const deputyId = (await db().selectFrom('users').select('id').where('username', '=', deputy.username).executeTakeFirstOrThrow()).id;
    await db().updateTable('organization_members').set({ role: 'member' }).where('org_id', '=', orgId).where('user_id', '=', deputyId).execute();
    expect(await received(guest)).toEqual([]);
    // Nor does it hold one of the guest's 3 places, where it could be neither seen nor declined.
    const others = await Promise.all([0, 1, 2].map((i) => person(`guard-other${i}`)));
    const otherOrgs = await Promise.all(others.map((other, i) => other.createOrg(`Guard Other ${i}`)));
    for (let i = 0; i < 3; i++) await others[i]!.invite(otherOrgs[i]!, guest.username);
    expect((await received(guest)).map((one) => one.org_id).sort()).toEqual([...otherOrgs].sort());
    const refused = await accept(guest, invitation!.id);
    expect(refused.status).toBe(410);
    expect(refused.body.error).toBe('invitation_withdrawn');
    expect(await organizationsOf(guest)).toEqual([]);
    expect(await db().selectFrom('organization_invitations').select('id').where('id', '=', invitation!.id).execute()).toEqual([]);
  });

  it.skipIf(Boolean(skip))('ten acceptances of one invitation at once make one membership', async () => {
    const admin = await person('race-admin');
    const racer = await person('race-racer');
    const orgId = await admin.createOrg('Race');
    await admin.invite(orgId, racer.username);
    const [invitation] = await received(racer);
    const answers = await Promise.all(Array.from({ length: 10 }, () => accept(racer, invitation!.id)));
    expect(answers.filter((answer) => answer.status === 200)).toHaveLength(1);
    expect(answers.filter((answer) => answer.status !== 200).every((answer) => answer.status === 404 && answer.body.error === 'invitation_not_found')).toBe(true);
    const rows = await db().selectFrom('organization_members').selectAll().where('org_id', '=', orgId).execute();
    expect(rows).toHaveLength(2);
  });

  it.skipIf(Boolean(skip))('acceptances into many organizations at once stop at the cap on organizations', async () => {
    const target = await person('capr-target');
    const admins = await Promise.all([0, 1, 2].map((i) => person(`capr-admin${i}`)));
    const orgs = await Promise.all(admins.map((admin, i) => admin.createOrg(`Cap Race ${i}`)));
    for (let i = 0; i < 3; i++) await admins[i]!.invite(orgs[i]!, target.username);
    // Two organizations already: one place left for three acceptances at once.
    await target.createOrg('Own A');
    await target.createOrg('Own B');
    const invitations = await received(target);
    const answers = await Promise.all(invitations.map((one) => accept(target, one.id)));
    expect(answers.filter((answer) => answer.status === 200)).toHaveLength(1);
    expect(answers.filter((answer) => answer.status === 409).every((answer) => answer.body.error === 'too_many_organizations')).toBe(true);
    expect(await organizationsOf(target)).toHaveLength(3);
  });

  it.skipIf(Boolean(skip))('the page: pending invitations with Accept and Decline (CSRF-protected), the admin\'s list with Withdraw, in English and French', async () => {
    const admin = await person('page-admin');
    const guest = await person('page-guest');
    const orgId = await admin.createOrg('Page <b>Org</b>');
    await admin.get('/integrations');
    expect((await admin.post(`/integrations/orgs/${orgId}/members`, { username: guest.username, role: 'member' })).location).toBe('/integrations?done=invited');
    const adminPage = await admin.get('/integrations?done=invited');
    expect(adminPage.text).toContain('The invitation was recorded.');
    expect(adminPage.text).toContain(`${guest.username} (member), invited until <time`);
    expect(adminPage.text).toContain(`action="/integrations/orgs/${orgId}/invitations/${guest.username}/withdraw"`);

    const page = await guest.get('/integrations');
    expect(page.text).toContain('<strong>Page &lt;b&gt;Org&lt;/b&gt;</strong> invites you to join as member');
    const acceptPath = /action="(\/integrations\/invitations\/[^"/]+\/accept)"/.exec(page.text)![1]!;
    const declinePath = acceptPath.replace(/accept$/, 'decline');
    // Without the CSRF token, or from another site with it, refused and nothing changed.
    expect((await guest.post(acceptPath, { _csrf: 'x'.repeat(43) })).status).toBe(403);
    expect((await guest.post(declinePath, { _csrf: 'x'.repeat(43) })).status).toBe(403);
    expect((await admin.post(`/integrations/orgs/${orgId}/invitations/${guest.username}/withdraw`, { _csrf: 'x'.repeat(43) })).status).toBe(403);
    const foreign = await guest.json('POST', acceptPath.replace('/integrations/invitations', '/api/v1/invitations'), undefined, { 'sec-fetch-site': 'cross-site', origin: 'https://evil.example' });
    expect(foreign.body.error).toBe('csrf_failed');
    expect(await organizationsOf(guest)).toEqual([]);
    // Someone else's invitation: a page saying so, 404.
    const stolen = await admin.post(acceptPath, {});
    expect(stolen.status).toBe(404);
    expect(stolen.text).toContain('You have no pending invitation with this id');

    const french = await guest.get('/integrations?lang=fr');
    expect(french.text).toContain('<strong>Page &lt;b&gt;Org&lt;/b&gt;</strong> vous invite à la rejoindre comme membre');
    expect(french.text).toContain('>Accepter</button>');
    const declined = await guest.post(declinePath, { lang: 'fr' });
    expect(declined.location).toBe('/integrations?done=declined');
    expect((await guest.get('/integrations?done=declined&lang=fr')).text).toContain('L’invitation a été refusée.');
    expect((await guest.post(acceptPath, {})).status).toBe(404);
    // A decline is remembered (invitation-declines.test.ts): the guest allows this organization again before it invites again.
    const allowPath = /action="(\/integrations\/invitations\/declined\/[^"/]+\/allow)"/.exec((await guest.get('/integrations')).text)![1]!;
    expect((await guest.post(allowPath, {})).location).toBe('/integrations?done=allowed');

    await admin.post(`/integrations/orgs/${orgId}/members`, { username: guest.username, role: 'admin' });
    const again = await guest.get('/integrations');
    const acceptAgain = /action="(\/integrations\/invitations\/[^"/]+\/accept)"/.exec(again.text)![1]!;
    expect((await guest.post(acceptAgain, {})).location).toBe('/integrations?done=joined');
    expect((await guest.json('GET', '/api/v1/organizations')).body.organizations).toEqual([expect.objectContaining({ id: orgId, role: 'admin' })]);
  });
});
