import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ManualClock } from '../../../src/core/clock.js';
import { LINK_TOKEN_KIND } from '../../../src/doors/install/link-tokens.js';
import { createTestApp, type TestApp } from '../../helpers/app.js';
import { FakeMattermost, INSTALL_ENV, installationIdOf, Member, mattermostId, mattermostJwt, type MattermostUser } from './install-helpers.js';

const TOKEN = /^[0-9a-hjkmnp-tv-z]{5}-[0-9a-hjkmnp-tv-z]{5}-[0-9a-hjkmnp-tv-z]$/;

describe('install door: linking chat users with one-time tokens (real sockets, manual clock)', () => {
  let t: TestApp;
  let base: string;
  let clock: ManualClock;
  let admin: Member;
  let alice: Member;
  let orgId: string;
  let otherOrgId: string;
  let mm: FakeMattermost;
  let inst: { id: string; secret: string };
  let otherInst: { id: string; secret: string };
  const mmAlice: MattermostUser = { id: mattermostId('aliceonmattermost'), username: 'alice.mm' };
  const mmAdmin: MattermostUser = { id: mattermostId('sysadminuser'), username: 'sysadmin' };

  beforeAll(async () => {
    clock = new ManualClock(Date.now());
    t = await createTestApp({ ...INSTALL_ENV, PAIRGATE_PUBLIC_URL: 'https://pair.example', PAIRGATE_SESSION_TTL_SECONDS: String(30 * 86400), PAIRGATE_INSTALL_LINK_MISSES_PER_HOUR: '5' }, { clock });
    base = await t.listen();
    mm = new FakeMattermost(base, clock);
    admin = await Member.create(base, 'link-admin');
    alice = await Member.create(base, 'link-alice');
    orgId = await admin.createOrg('Linkers');
    await admin.addMember(orgId, 'link-alice');
    otherOrgId = await admin.createOrg('Other Org');
    const setup = async (org: string) => {
      const answer = await admin.setup(org);
      const installed = { id: installationIdOf(answer.body.manifest_link), secret: answer.body.jwt_secret as string };
      expect((await mm.install(installed.id, installed.secret, mmAdmin)).status).toBe(200);
      return installed;
    };
    inst = await setup(orgId);
    otherInst = await setup(otherOrgId);
  });
  afterAll(() => t.close());

  const link = (token: unknown, user = mmAlice, installation = inst) => mm.call(installation.id, 'link', installation.secret, user, { values: { token } });

  it('a member makes a token; /pairgate link binds the Mattermost user; status and unlink follow', async () => {
    const made = await alice.linkToken(orgId);
    expect(made.status).toBe(201);
    expect(made.headers.get('cache-control')).toBe('no-store');
    expect(made.body.token).toMatch(TOKEN);
    expect(made.body.expires_in).toBe(300);
    expect(made.body.org_name).toBe('Linkers');
    // Stored hashed: no grant holds the token in clear.
    const grants = await t.app.pairgate.stores.db.selectFrom('grants' as never).selectAll().execute().catch(() => []);
    expect(JSON.stringify(grants)).not.toContain(made.body.token.replace(/-/g, ''));

    const before = await mm.call(inst.id, 'status', inst.secret, mmAlice);
    expect(before.body).toMatchObject({ type: 'ok', data: { linked: false } });
    // It tells the person the command as Mattermost needs it typed, with its /pairgate prefix.
    expect(before.body.text).toBe('Not linked. Create a link token at https://pair.example/integrations, then run /pairgate link <token>.');
    // Typed loosely: upper case, spaces instead of dashes.
    const linked = await link(made.body.token.toUpperCase().replace(/-/g, ' '));
    expect(linked.status).toBe(200);
    expect(linked.body).toEqual({ type: 'ok', text: 'Linked to the pairgate account link-alice.', data: { linked: true, username: 'link-alice' } });
    const status = await mm.call(inst.id, 'status', inst.secret, mmAlice);
    expect(status.body).toMatchObject({ type: 'ok', data: { linked: true, username: 'link-alice' } });
    const row = await t.app.pairgate.stores.db.selectFrom('chat_links').selectAll().where('external_user_id', '=', mmAlice.id).executeTakeFirstOrThrow();
    expect(row).toMatchObject({ org_id: orgId, connector: 'mattermost', installation_id: inst.id, external_username: 'alice.mm' });

    const unlinked = await mm.call(inst.id, 'unlink', inst.secret, mmAlice);
    expect(unlinked.body).toMatchObject({ type: 'ok', data: { linked: false, unlinked: true } });
    // A second later, as between a person's commands: the same unlink within one second is the
    // same call (one call token), refused as a replay (install-mattermost-replay.test.ts).
    clock.advance(1000);
    expect((await mm.call(inst.id, 'unlink', inst.secret, mmAlice)).body.data.unlinked).toBe(false);
    expect((await mm.call(inst.id, 'status', inst.secret, mmAlice)).body.data.linked).toBe(false);
    const help = await mm.call(inst.id, 'help', inst.secret, mmAlice);
    expect(help.body.text).toContain('/pairgate link <token>');
  });

  it('a token works once: used again, it says so (409 link_token_used), not that it is unknown', async () => {
    const { body } = await alice.linkToken(orgId);
    expect((await link(body.token)).status).toBe(200);
    const again = await link(body.token, { id: mattermostId('secondperson'), username: 'second' });
    expect(again.status).toBe(409);
    expect(again.body).toMatchObject({ type: 'error', data: { error: 'link_token_used' } });
    expect(again.body.text).toBe('This link token has already been used. Create a new one at https://pair.example/integrations.');
    // Mistyped by one character: still unknown (the note is the spent code's, not a near one's).
    const typo = body.token.slice(0, -2) + (body.token.at(-2) === 'a' ? 'b' : 'a') + body.token.at(-1);
    expect((await link(typo)).body.data.error).toMatch(/^link_token_(unknown|malformed)$/);
  });

  it('linking a chat user already linked replaces the link and says which account it replaced', async () => {
    const switcher = { id: mattermostId('switcherswitcher'), username: 'switcher' };
    expect((await link((await alice.linkToken(orgId)).body.token, switcher)).body.text).toBe('Linked to the pairgate account link-alice.');
    // Again with the same account: nothing replaced, nothing said of it.
    clock.advance(1000);
    expect((await link((await alice.linkToken(orgId)).body.token, switcher)).body).toEqual({ type: 'ok', text: 'Linked to the pairgate account link-alice.', data: { linked: true, username: 'link-alice' } });
    clock.advance(1000);
    const replaced = await link((await admin.linkToken(orgId)).body.token, switcher);
    expect(replaced.body).toEqual({ type: 'ok', text: 'Linked to the pairgate account link-admin, in place of link-alice.', data: { linked: true, username: 'link-admin', replaced: 'link-alice' } });
    // One link per chat user: the new one.
    const rows = await t.app.pairgate.stores.db.selectFrom('chat_links').select('user_id').where('external_user_id', '=', switcher.id).execute();
    expect(rows).toHaveLength(1);
    expect((await mm.call(inst.id, 'status', inst.secret, switcher)).body.data.username).toBe('link-admin');
  });

  it('a token typed wrong is told in the words of link tokens, with what to do, and guesses nothing', async () => {
    const typist = { id: mattermostId('typisttypist'), username: 'typist' };
    const looks = 'a link token has 11 letters and digits, like k7m2x-9qdp4-r (dashes and spaces do not count)';
    const said = async (typed: string) => {
      const answer = await link(typed, typist);
      expect(answer.status, typed).toBe(400);
      return answer.body;
    };
    expect(await said('abcde-fghjk-0')).toEqual({ type: 'error', text: 'This link token has a typo: a character is wrong or two are swapped. Check it against the one pairgate showed and type it again.', data: { error: 'link_token_malformed' } });
    expect((await said('abcde-fghjk')).text).toBe(`This has 10 letters and digits, but ${looks}. Copy it again from pairgate.`);
    // Written for Mattermost's markdown (escaped), so it shows as typed.
    expect((await said('abcde-fghjk-#')).text).toBe(`"\\#" cannot appear in a link token: ${looks}. Copy it again from pairgate.`);
    expect((await said('abcde-fghjk-*')).text).toBe(`"\\*" cannot appear in a link token: ${looks}. Copy it again from pairgate.`);
    expect((await said('x'.repeat(65))).text).toBe(`This is not a link token: ${looks}.`);
    // The help text's placeholder, typed as it is.
    expect(await said('<token>')).toEqual({ type: 'error', text: 'Replace <token> with your link token: /pairgate link k7m2x-9qdp4-r, with the token pairgate showed you. Create one at https://pair.example/integrations.', data: { error: 'link_token_missing' } });
    expect((await said('  ')).text).toBe('Give the link token: /pairgate link <token>. Create one at https://pair.example/integrations first.');
    // None of these counted as a wrong guess (the budget is 5 per hour): a real token still links.
    const { body } = await alice.linkToken(orgId);
    // Pasted from a message with backticks or quotes around it.
    expect((await link(`\`${body.token}\``, typist)).status).toBe(200);
    const quoted = (await alice.linkToken(orgId)).body.token as string;
    expect((await link(`"${quoted}"`, { id: mattermostId('quotedquoted'), username: 'quoted' })).status).toBe(200);
  });

  it('50 concurrent /pairgate link calls with one token: exactly one links', async () => {
    const { body } = await alice.linkToken(orgId);
    const users = Array.from({ length: 50 }, (_, i) => ({ id: mattermostId(`racer${i}racer`), username: `racer${i}` }));
    const answers = await Promise.all(users.map((user) => link(body.token, user)));
    const winners = answers.filter((answer) => answer.status === 200);
    expect(winners).toHaveLength(1);
    for (const loser of answers.filter((answer) => answer.status !== 200)) {
      expect([404, 409]).toContain(loser.status);
      expect(loser.body.type).toBe('error');
    }
    const rows = await t.app.pairgate.stores.db.selectFrom('chat_links').select('external_user_id').where('external_user_id', 'in', users.map((u) => u.id)).execute();
    expect(rows).toHaveLength(1);
  });

  it('a token works only for the organization that made it, and stays usable there', async () => {
    const { body } = await alice.linkToken(orgId);
    const elsewhere = await link(body.token, mmAlice, otherInst);
    expect(elsewhere.status).toBe(404);
    expect(elsewhere.body.data.error).toBe('link_token_unknown');
    expect((await link(body.token)).status).toBe(200);
  });

  it('a token does not work after 300 s', async () => {
    const { body } = await alice.linkToken(orgId);
    clock.advance(300_001);
    const late = await link(body.token, { id: mattermostId('latecomer'), username: 'late' });
    expect(late.status).toBe(404);
    expect(late.body.data.error).toBe('link_token_unknown');
    expect(await t.app.pairgate.engine.countLive(LINK_TOKEN_KIND)).toBeGreaterThanOrEqual(0);
  });

  it('typos are told apart before any look-up; wrong tokens are budgeted per chat user', async () => {
    const guesser = { id: mattermostId('guesserguesser'), username: 'guesser' };
    const typo = await link('abcde-fghjk-0', guesser);
    expect([400]).toContain(typo.status);
    expect(typo.body.data.error).toBe('link_token_malformed');
    const missing = await link('', guesser);
    expect(missing.body.data.error).toBe('link_token_missing');
    expect(missing.body.text).toContain('/pairgate link <token>');
    expect((await link(null, guesser)).body.data.error).toBe('link_token_missing');
    // Valid-looking tokens (right check character) that nobody made: five misses, then 429.
    const { LINK_TOKEN_FORMAT } = await import('../../../src/doors/install/link-tokens.js');
    for (let i = 0; i < 5; i++) expect((await link(LINK_TOKEN_FORMAT.generate(), guesser)).status).toBe(404);
    const limited = await link(LINK_TOKEN_FORMAT.generate(), guesser);
    expect(limited.status).toBe(429);
    expect(limited.body).toMatchObject({ type: 'error', data: { error: 'rate_limited' } });
    // Another user of the same chat server is not locked out by it.
    const { body } = await alice.linkToken(orgId);
    expect((await link(body.token, { id: mattermostId('innocentuser'), username: 'innocent' })).status).toBe(200);
  });

  it('a token whose maker is gone when it is spent links nothing (403 not_a_member)', async () => {
    const leaver = await Member.create(base, 'link-leaver');
    await admin.addMember(orgId, 'link-leaver');
    const { body } = await leaver.linkToken(orgId);
    await t.app.pairgate.stores.db.deleteFrom('users').where('username', '=', 'link-leaver').execute();
    const answer = await link(body.token, { id: mattermostId('leaverchat'), username: 'leaver' });
    expect(answer.status).toBe(403);
    expect(answer.body.data.error).toBe('not_a_member');
    expect(answer.body.text).toBe('The account that made this token has been deleted, so the token links nothing. Create a token with an account that is a member, at https://pair.example/integrations.');
    expect(await t.app.pairgate.stores.db.selectFrom('chat_links').selectAll().where('external_user_id', '=', mattermostId('leaverchat')).execute()).toEqual([]);
  });

  it('removing a member removes their chat links in the organization; the last admin cannot go', async () => {
    const dora = await Member.create(base, 'link-dora');
    await admin.addMember(orgId, 'link-dora');
    const mmDora = { id: mattermostId('doraonchat'), username: 'dora' };
    expect((await link((await dora.linkToken(orgId)).body.token, mmDora)).status).toBe(200);
    expect((await dora.json('DELETE', `/api/v1/organizations/${orgId}/members/link-alice`)).status).toBe(403);
    expect((await admin.json('DELETE', `/api/v1/organizations/${orgId}/members/link-dora`)).status).toBe(204);
    expect((await mm.call(inst.id, 'status', inst.secret, mmDora)).body.data.linked).toBe(false);
    expect((await admin.json('DELETE', `/api/v1/organizations/${orgId}/members/link-dora`)).body.error).toBe('member_not_found');
    const last = await admin.json('DELETE', `/api/v1/organizations/${orgId}/members/link-admin`);
    expect(last.status).toBe(409);
    expect(last.body.error).toBe('last_admin');
    // A member may leave on their own.
    const eve = await Member.create(base, 'link-eve');
    await admin.addMember(orgId, 'link-eve');
    expect((await eve.json('DELETE', `/api/v1/organizations/${orgId}/members/link-eve`)).status).toBe(204);
  });

  it('link tokens: a stranger cannot make one for the organization; signed out is 401', async () => {
    const stranger = await Member.create(base, 'link-stranger');
    expect((await stranger.linkToken(orgId)).status).toBe(404);
    expect((await fetch(`${base}/api/v1/integrations/mattermost/link-tokens`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' })).status).toBe(401);
    // Alice is in one organization: org_id may be left out.
    expect((await alice.linkToken()).status).toBe(201);
    // The admin is in two: it must be said.
    expect((await admin.linkToken()).body.error).toBe('org_id_required');
  });

  it('hostile input to every Mattermost route: 4xx call responses, never a 5xx', async () => {
    const calls = ['install', 'bindings', 'ping', 'link', 'unlink', 'status', 'help'];
    const good = await mattermostJwt(inst.secret, mmAlice.id, clock);
    const bodies: unknown[] = ['{', '[]', '"x"', 'null', '{}', { context: null }, { context: [] }, { context: { acting_user: { id: '' } } }, { context: { acting_user: { id: 'x'.repeat(100) } } },
      { context: { acting_user: { id: mmAlice.id }, mattermost_site_url: 'javascript:alert(1)' }, values: { token: 'x'.repeat(5000) } },
      { context: { acting_user: { id: mmAlice.id }, mattermost_site_url: 'https://user:pw@chat.example.test' } },
      { context: { acting_user: { id: mmAlice.id } }, values: { token: { $ne: null } } },
      { context: { acting_user: { id: mmAlice.id } }, values: { token: '\u0000\u0001' } },
      { context: { acting_user: { id: mmAlice.id }, __proto__: { admin: true } }, values: [] }];
    const ids = [inst.id, 'AAAAAAAAAAAAAAAAAAAAAA', '%00', '..%2F..%2Fetc', 'x'.repeat(300)];
    for (const call of calls) {
      for (const id of ids) {
        for (const body of bodies) {
          const response = await fetch(`${base}/mattermost/${id}/${call}`, { method: 'POST', headers: { 'content-type': 'application/json', 'mattermost-app-authorization': `Bearer ${good}` }, body: typeof body === 'string' ? body : JSON.stringify(body) });
          const text = await response.text();
          expect(response.status, `${call} ${id} ${JSON.stringify(body)} -> ${text}`).toBeLessThan(500);
          // 414: the router refuses an over-long id before any route (and its error shape) is chosen.
          if (response.status >= 400 && response.status !== 414) expect(JSON.parse(text).type, text).toBe('error');
        }
      }
      const wrongType = await fetch(`${base}/mattermost/${inst.id}/${call}`, { method: 'POST', headers: { 'content-type': 'text/plain', 'mattermost-app-authorization': `Bearer ${good}` }, body: 'hello' });
      expect(wrongType.status).toBeLessThan(500);
      expect(wrongType.status).toBeGreaterThanOrEqual(400);
    }
  });

  it('a JSON body poisoning a prototype is told so (body_forbidden_key), a malformed one invalid_json, both in the call response shape', async () => {
    const good = await mattermostJwt(inst.secret, mmAlice.id, clock);
    const send = (body: string) => fetch(`${base}/mattermost/${inst.id}/status`, { method: 'POST', headers: { 'content-type': 'application/json', 'mattermost-app-authorization': `Bearer ${good}` }, body });
    const poisoned = await send('{"context":{"acting_user":{"id":"x"}},"__proto__":{"admin":true}}');
    expect(poisoned.status).toBe(400);
    expect(await poisoned.json()).toMatchObject({ type: 'error', data: { error: 'body_forbidden_key' } });
    const malformed = await send('{"context":');
    expect(malformed.status).toBe(400);
    expect(await malformed.json()).toMatchObject({ type: 'error', data: { error: 'invalid_json' } });
  });

  it('a body not sent as JSON (a form, text) is refused with 415, saying to send JSON, in the call response shape', async () => {
    const good = await mattermostJwt(inst.secret, mmAlice.id, clock);
    const body = JSON.stringify({ context: { acting_user: { id: mmAlice.id } } });
    for (const type of ['application/x-www-form-urlencoded', 'text/plain']) {
      const response = await fetch(`${base}/mattermost/${inst.id}/status`, { method: 'POST', headers: { 'content-type': type, 'mattermost-app-authorization': `Bearer ${good}` }, body });
      expect(response.status, type).toBe(415);
      expect(await response.json()).toEqual({ type: 'error', text: `Mattermost calls are JSON: send the body with content-type: application/json (this one came as ${type}).`, data: { error: 'unsupported_media_type' } });
    }
  });
});
