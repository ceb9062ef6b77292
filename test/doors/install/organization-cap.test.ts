import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, type TestApp } from '../../helpers/app.js';
import { storeSetups } from '../../helpers/services.js';
import { listeningNodes } from '../../helpers/setup-nodes.js';
import { INSTALL_ENV, Member } from './install-helpers.js';

const CAP = { PAIRGATE_INSTALL_MAX_ORGANIZATIONS_PER_ACCOUNT: '3' };

/**
 * An account belongs to at most PAIRGATE_INSTALL_MAX_ORGANIZATIONS_PER_ACCOUNT organizations.
 * Admins once added any account by username, so a stranger could fill another's cap; members now
 * join by accepting an invitation (invitations.test.ts), and the cap is checked at that moment.
 */
describe('organizations per account', () => {
  let t: TestApp;
  let base: string;
  let inviter: Member;
  let joiner: Member;
  beforeAll(async () => {
    t = await createTestApp({ ...INSTALL_ENV, ...CAP });
    base = await t.listen();
    inviter = await Member.create(base, 'cap-inviter');
    joiner = await Member.create(base, 'cap-joiner');
  });
  afterAll(() => t?.close());

  it('no account joins more organizations than the cap, nor creates one beyond it', async () => {
    const orgs: string[] = [];
    for (let i = 0; i < 3; i++) {
      const org = await inviter.createOrg(`Club ${i}`);
      orgs.push(org);
      expect((await inviter.addMember(org, 'cap-joiner', 'admin')).status).toBe(201);
      expect((await inviter.json('DELETE', `/api/v1/organizations/${org}/members/cap-inviter`)).status).toBe(204);
    }
    const fourth = await inviter.createOrg('Club 3');
    // The invitation itself is sent (its invitee may make room before answering): the acceptance is refused.
    const refused = await inviter.addMember(fourth, 'cap-joiner', 'admin');
    expect(refused.status).toBe(409);
    expect(refused.body.error).toBe('too_many_organizations');
    expect(refused.body.max).toBe(3);
    expect((await joiner.invitationInto(fourth))?.role).toBe('admin');
    // A member already is told so, whatever the cap.
    expect((await joiner.invite(orgs[0]!, 'cap-joiner')).body.error).toBe('already_member');
    expect((await joiner.json('GET', '/api/v1/organizations')).body.organizations).toHaveLength(3);

    const own = await joiner.json('POST', '/api/v1/organizations', { name: 'Mine' });
    expect(own.status).toBe(409);
    expect(own.body.error).toBe('too_many_organizations');
    // The page says so next to the form, in its language; and so does a refused acceptance.
    await joiner.get('/integrations?lang=fr');
    const page = await joiner.post('/integrations/orgs', { name: 'Mine', lang: 'fr' });
    expect(page.status).toBe(409);
    expect(page.text).toContain('autant d’organisations');
    const invitation = await joiner.invitationInto(fourth);
    const accepted = await joiner.post(`/integrations/invitations/${invitation!.id}/accept`, { lang: 'fr' });
    expect(accepted.status).toBe(409);
    expect(accepted.text).toContain('Une invitation que vous acceptiez est gardée.');

    // Deleting one (or leaving it) makes room again, for the invitation kept.
    expect((await joiner.json('DELETE', `/api/v1/organizations/${orgs[0]}`)).status).toBe(204);
    expect((await joiner.json('POST', `/api/v1/invitations/${invitation!.id}/accept`)).status).toBe(200);
  });
});

const postgres = (await storeSetups()).find((setup) => setup.name === 'two nodes sharing PostgreSQL')!;

/** On PostgreSQL the memberships of one account are counted one acceptance at a time, across nodes. */
describe.skipIf(Boolean(postgres.skip))(`organizations per account on PostgreSQL, two nodes${postgres.skip ? ` (skipped: ${postgres.skip})` : ''}`, () => {
  const { baseFor } = listeningNodes(postgres, { ...INSTALL_ENV, ...CAP });

  it('acceptances into many organizations at once, over both nodes, stop at the cap', async () => {
    const admins = await Promise.all(Array.from({ length: 12 }, (_, i) => Member.create(baseFor(i), `pgcap-admin${i}`)));
    const joiner = await Member.create(baseFor(0), 'pgcap-joiner');
    // The same session on the other node: the sessions are in the shared database.
    const elsewhere = new Member(baseFor(1));
    for (const [name, value] of joiner.cookies) elsewhere.cookies.set(name, value);
    const orgs = await Promise.all(admins.map((admin, i) => admin.createOrg(`Race ${i}`)));
    for (let i = 0; i < 12; i++) expect((await admins[i]!.invite(orgs[i]!, 'pgcap-joiner')).status).toBe(202);
    const received = (await joiner.json('GET', '/api/v1/invitations')).body.invitations as Array<{ id: string }>;
    expect(received).toHaveLength(12);
    const answers = await Promise.all(received.map((one, i) => (i % 2 ? elsewhere : joiner).json('POST', `/api/v1/invitations/${one.id}/accept`)));
    expect(answers.every((answer) => answer.status === 200 || answer.body.error === 'too_many_organizations')).toBe(true);
    expect(answers.filter((answer) => answer.status === 200)).toHaveLength(3);
  });
});
