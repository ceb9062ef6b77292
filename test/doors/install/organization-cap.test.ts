import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, type TestApp } from '../../helpers/app.js';
import { storeSetups } from '../../helpers/services.js';
import { listeningNodes } from '../../helpers/setup-nodes.js';
import { INSTALL_ENV, Member } from './install-helpers.js';

const CAP = { PAIRGATE_INSTALL_MAX_ORGANIZATIONS_PER_ACCOUNT: '3' };

/**
 * An account belongs to at most PAIRGATE_INSTALL_MAX_ORGANIZATIONS_PER_ACCOUNT organizations. An
 * admin adds any account by username, as admin if they like: without the cap one free account made
 * another the admin of a thousand organizations in seconds (each with a member, so each also kept
 * the account from being deleted), and that account's integrations page grew to megabytes, every
 * organization read on each visit.
 */
describe('organizations per account', () => {
  let t: TestApp;
  let base: string;
  let attacker: Member;
  let victim: Member;
  beforeAll(async () => {
    t = await createTestApp({ ...INSTALL_ENV, ...CAP });
    base = await t.listen();
    attacker = await Member.create(base, 'cap-attacker');
    victim = await Member.create(base, 'cap-victim');
    await Member.create(base, 'cap-puppet');
  });
  afterAll(() => t?.close());

  it('no account is added to more organizations than the cap, nor creates one beyond it', async () => {
    const orgs: string[] = [];
    for (let i = 0; i < 3; i++) {
      const org = await attacker.createOrg(`Trap ${i}`);
      orgs.push(org);
      expect((await attacker.addMember(org, 'cap-victim', 'admin')).status).toBe(201);
      // The attacker leaves it to the victim, and so is held by no cap of their own.
      expect((await attacker.json('DELETE', `/api/v1/organizations/${org}/members/cap-attacker`)).status).toBe(204);
    }
    const fourth = await attacker.createOrg('Trap 3');
    const refused = await attacker.addMember(fourth, 'cap-victim', 'admin');
    expect(refused.status).toBe(409);
    expect(refused.body.error).toBe('too_many_organizations');
    expect(refused.body.max).toBe(3);
    // A member already is told so, whatever the cap.
    expect((await victim.addMember(orgs[0]!, 'cap-victim')).body.error).toBe('already_member');
    expect((await victim.json('GET', '/api/v1/organizations')).body.organizations).toHaveLength(3);

    const own = await victim.json('POST', '/api/v1/organizations', { name: 'Mine' });
    expect(own.status).toBe(409);
    expect(own.body.error).toBe('too_many_organizations');
    // The page says so next to the form, in its language.
    await victim.get('/integrations?lang=fr');
    const page = await victim.post('/integrations/orgs', { name: 'Mine', lang: 'fr' });
    expect(page.status).toBe(409);
    expect(page.text).toContain('autant d’organisations');

    // Deleting one (or leaving it) makes room again.
    expect((await victim.json('DELETE', `/api/v1/organizations/${orgs[0]}`)).status).toBe(204);
    expect((await attacker.addMember(fourth, 'cap-victim')).status).toBe(201);
  });
});

const postgres = (await storeSetups()).find((setup) => setup.name === 'two nodes sharing PostgreSQL')!;

/** On PostgreSQL the memberships of one account are counted one addition at a time, across nodes. */
describe.skipIf(Boolean(postgres.skip))(`organizations per account on PostgreSQL, two nodes${postgres.skip ? ` (skipped: ${postgres.skip})` : ''}`, () => {
  const { baseFor } = listeningNodes(postgres, { ...INSTALL_ENV, ...CAP });

  it('additions into many organizations at once, over both nodes, stop at the cap', async () => {
    const admins = await Promise.all(Array.from({ length: 12 }, (_, i) => Member.create(baseFor(i), `pgcap-admin${i}`)));
    await Member.create(baseFor(0), 'pgcap-victim');
    const orgs = await Promise.all(admins.map((admin, i) => admin.createOrg(`Race ${i}`)));
    const answers = await Promise.all(admins.map((admin, i) => admin.addMember(orgs[i]!, 'pgcap-victim')));
    expect(answers.every((answer) => answer.status === 201 || answer.body.error === 'too_many_organizations')).toBe(true);
    expect(answers.filter((answer) => answer.status === 201)).toHaveLength(3);
  });
});
