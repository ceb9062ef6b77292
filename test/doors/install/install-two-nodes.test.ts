import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { systemClock } from '../../../src/core/clock.js';
import { createTestApp, type TestApp } from '../../helpers/app.js';
import { createTestDatabase, postgresMissing } from '../../helpers/services.js';
import { LINK_TOKEN_FORMAT, LINK_TOKEN_KIND } from '../../../src/doors/install/link-tokens.js';
import { FakeMattermost, INSTALL_ENV, installationIdOf, Member, mattermostId, mattermostJwt, webhookCall } from './install-helpers.js';

const skip = await postgresMissing();

/**
 * The install door on PostgreSQL with two nodes sharing the database and the server key
 * (PAIRGATE_INSTALL_SECRET_KEY): a setup made on one node is installed and used through the other,
 * and one link token spent by concurrent calls over both nodes links once. A node with another key
 * cannot open the sealed secrets, and says so as a refused signature, never a 5xx. An organization
 * deleted on one node is gone for the other at once, and what races the deletion there leaves
 * nothing behind.
 */
describe.skipIf(Boolean(skip))(`install door on PostgreSQL, two nodes${skip ? ` (skipped: ${skip})` : ''}`, () => {
  let database: Awaited<ReturnType<typeof createTestDatabase>>;
  let a: TestApp;
  let b: TestApp;
  let c: TestApp;
  let baseA: string;
  let baseB: string;
  let baseC: string;
  beforeAll(async () => {
    database = await createTestDatabase();
    const env = { ...INSTALL_ENV, PAIRGATE_DATABASE_URL: database.url, PAIRGATE_INSTALL_SECRET_KEY: randomBytes(32).toString('base64') };
    a = await createTestApp(env);
    baseA = await a.listen();
    b = await createTestApp(env);
    baseB = await b.listen();
    c = await createTestApp({ ...env, PAIRGATE_INSTALL_SECRET_KEY: randomBytes(32).toString('base64') });
    baseC = await c.listen();
  });
  afterAll(async () => {
    await a?.close();
    await b?.close();
    await c?.close();
    await database?.drop();
  });

  it('set up on A, installed and linked through B; one link among concurrent calls over both nodes', async () => {
    const admin = await Member.create(baseA, 'pg-admin');
    const orgId = await admin.createOrg('Postgres Org');
    const setup = await admin.setup(orgId);
    const id = installationIdOf(setup.body.manifest_link);
    const secret = setup.body.jwt_secret as string;
    const mmA = new FakeMattermost(baseA, systemClock);
    const mmB = new FakeMattermost(baseB, systemClock);
    expect((await mmB.install(id, secret, { id: mattermostId('pgsysadmin'), username: 'sysadmin' })).body.type).toBe('ok');

    const token = (await admin.linkToken(orgId)).body.token as string;
    const users = Array.from({ length: 20 }, (_, i) => ({ id: mattermostId(`pgracer${i}x`), username: `racer${i}` }));
    const answers = await Promise.all(users.map((user, i) => (i % 2 ? mmA : mmB).call(id, 'link', secret, user, { values: { token } })));
    expect(answers.filter((answer) => answer.status === 200)).toHaveLength(1);
    expect(answers.every((answer) => answer.status < 500)).toBe(true);

    const mmC = new FakeMattermost(baseC, systemClock);
    const refused = await mmC.call(id, 'status', secret, users[0]);
    expect(refused.status).toBe(401);
    expect(refused.body.data.error).toBe('jwt_signature_invalid');
  });

  it('a link call played again on the other node is refused (409 call_replayed): the nodes share the record', async () => {
    const admin = await Member.create(baseA, 'pg-replay-admin');
    const orgId = await admin.createOrg('Replay Org');
    const setup = await admin.setup(orgId);
    const id = installationIdOf(setup.body.manifest_link);
    const secret = setup.body.jwt_secret as string;
    const user = { id: mattermostId('pgreplayer'), username: 'replayer' };
    expect((await new FakeMattermost(baseA, systemClock).install(id, secret, user)).body.type).toBe('ok');
    const jwt = await mattermostJwt(secret, user.id, systemClock);
    const token = (await admin.linkToken(orgId)).body.token as string;
    const [first, second] = [new FakeMattermost(baseA, systemClock), new FakeMattermost(baseB, systemClock)];
    expect((await first.call(id, 'link', secret, user, { values: { token } }, jwt)).body.data.linked).toBe(true);
    const replayed = await second.call(id, 'link', secret, user, { values: { token } }, jwt);
    expect(replayed.status).toBe(409);
    expect(replayed.body.data.error).toBe('call_replayed');
    // Sent at once to both nodes, one identical unlink runs and the other is refused.
    const answers = await Promise.all([first, second].map((node) => node.call(id, 'unlink', secret, user, {}, jwt)));
    expect(answers.map((answer) => answer.status).sort()).toEqual([200, 409]);
  });

  it('an organization deleted on A while B links chat users and runs setups in it: no 5xx, nothing left; B then answers its calls 404', async () => {
    const admin = await Member.create(baseA, 'pg-del-admin');
    const adminB = new Member(baseB);
    expect((await adminB.signIn('pg-del-admin', 'correct horse battery')).status).toBe(303);
    const rowsOf = async (orgId: string) => Promise.all(['organization_members', 'chat_installations', 'chat_links'].map(async (table) =>
      (await a.app.pairgate.stores.db.selectFrom(table as 'chat_links').select('org_id').where('org_id', '=', orgId).execute()).length));
    const mmB = new FakeMattermost(baseB, systemClock);
    // A few rounds: which statement of which transaction comes first differs from one to the next.
    for (let round = 0; round < 3; round++) {
      const orgId = await admin.createOrg(`Doomed ${round}`);
      const setup = await admin.setup(orgId);
      const id = installationIdOf(setup.body.manifest_link);
      const secret = setup.body.jwt_secret as string;
      expect((await mmB.install(id, secret, { id: mattermostId('pgdelsysadmin'), username: 'sysadmin' })).status).toBe(200);
      const hook = (await adminB.setup(orgId, 'webhook')).body;
      expect((await webhookCall(baseB, hook.install_url, hook.signing_secret, { site_url: 'https://bot.example.test' }, systemClock)).status).toBe(200);
      const tokens = await Promise.all(Array.from({ length: 5 }, async () => (await admin.linkToken(orgId)).body.token as string));
      const unspent = (await admin.linkToken(orgId)).body.token as string;

      const [deleted, ...raced] = await Promise.all([
        admin.json('DELETE', `/api/v1/organizations/${orgId}`),
        ...tokens.map((token, i) => mmB.call(id, 'link', secret, { id: mattermostId(`pgdel${round}x${i}`), username: `u${i}` }, { values: { token } })),
        adminB.setup(orgId),
        adminB.setup(orgId, 'webhook'),
      ]);
      expect(deleted!.status).toBe(204);
      for (const answer of raced) {
        expect(answer.status, JSON.stringify(answer.body)).toBeLessThan(500);
        if (answer.status >= 400) expect([404, 410]).toContain(answer.status);
      }
      expect(await rowsOf(orgId), `round ${round}`).toEqual([0, 0, 0]);

      // On B at once: every call of its installations is a 404 in its connector's shape.
      const status = await mmB.call(id, 'status', secret, { id: mattermostId(`pgdel${round}x0`), username: 'u0' });
      expect(status.status).toBe(404);
      expect(status.body.data.error).toBe('installation_not_found');
      const command = await webhookCall(baseB, hook.command_url, hook.signing_secret, { user_id: 'U1', text: `link ${unspent}` }, systemClock);
      expect(command).toMatchObject({ status: 404, body: { ok: false, error: 'installation_not_found' } });
      const late = await mmB.call(id, 'link', secret, { id: mattermostId(`pgdel${round}late`), username: 'late' }, { values: { token: unspent } });
      expect(late.status).toBe(404);
      expect((await b.app.pairgate.engine.findByCode(LINK_TOKEN_KIND, LINK_TOKEN_FORMAT, unspent))?.state).toBe('pending');
    }
  });

  it('two admins removing each other at once, on two nodes: one goes, the other stays (never no admin)', async () => {
    for (let round = 0; round < 5; round++) {
      const first = await Member.create(baseA, `pg-duel-a${round}`);
      const second = await Member.create(baseB, `pg-duel-b${round}`);
      const orgId = await first.createOrg(`Duel ${round}`);
      expect((await first.addMember(orgId, `pg-duel-b${round}`, 'admin')).status).toBe(201);
      const answers = await Promise.all([
        first.json('DELETE', `/api/v1/organizations/${orgId}/members/pg-duel-b${round}`),
        second.json('DELETE', `/api/v1/organizations/${orgId}/members/pg-duel-a${round}`),
      ]);
      // One goes. The other is refused: 409 last_admin when both removals overlap, or 404 when one
      // finished before the other looked (its caller is then no member any more; a loaded machine
      // does that). Never both 204.
      const statuses = answers.map((answer) => answer.status).sort();
      expect(statuses[0]).toBe(204);
      const refused = answers.find((answer) => answer.status !== 204)!;
      expect([[409, 'last_admin'], [404, 'organization_not_found']]).toContainEqual([refused.status, refused.body.error]);
      const remaining = answers[0]!.status === 204 ? first : second;
      const members = await remaining.json('GET', `/api/v1/organizations/${orgId}/members`);
      expect(members.status).toBe(200);
      expect((members.body.members as { role: string }[]).filter((member) => member.role === 'admin')).toHaveLength(1);
    }
  });
});
