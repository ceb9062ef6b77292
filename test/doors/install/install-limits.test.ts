import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ManualClock } from '../../../src/core/clock.js';
import { LINK_TOKEN_FORMAT } from '../../../src/doors/install/link-tokens.js';
import { signWebhook } from '../../../src/doors/install/webhook/webhook-signature.js';
import { createTestApp, type TestApp } from '../../helpers/app.js';
import { FakeMattermost, INSTALL_ENV, installationIdOf, Member, mattermostId, type Answer, type MattermostUser } from './install-helpers.js';

/**
 * The install door's limits, each with a low value in an app of its own (the other install tests
 * raise them out of the way): every one answers 429 `rate_limited` with Retry-After, never a 5xx,
 * and each test fails when its limit is taken away.
 */

/** A Mattermost-shaped refusal by a limit. */
function expectMattermostLimited(answer: Answer): void {
  expect(answer.status).toBe(429);
  expect(answer.body).toMatchObject({ type: 'error', data: { error: 'rate_limited' } });
  expect(Number(answer.headers.get('retry-after'))).toBeGreaterThan(0);
}

/** A pairgate-shaped refusal by a limit. */
function expectApiLimited(answer: Answer): void {
  expect(answer.status).toBe(429);
  expect(answer.body).toMatchObject({ error: 'rate_limited' });
  expect(Number(answer.headers.get('retry-after'))).toBeGreaterThan(0);
}

const chatUser = (name: string): MattermostUser => ({ id: mattermostId(`${name}onchat`), username: name });

describe('install door: live link tokens and the wrong-token budget of an installation', () => {
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

  beforeAll(async () => {
    clock = new ManualClock(Date.now());
    t = await createTestApp({
      ...INSTALL_ENV,
      PAIRGATE_PUBLIC_URL: 'https://pair.example',
      PAIRGATE_SESSION_TTL_SECONDS: String(30 * 86400),
      PAIRGATE_INSTALL_MAX_LIVE_LINK_TOKENS: '3',
      // Per chat user generous, per installation tight: only the installation's budget can refuse.
      PAIRGATE_INSTALL_LINK_MISSES_PER_HOUR: '10',
      PAIRGATE_INSTALL_LINK_MISSES_PER_INSTALLATION: '3',
    }, { clock });
    base = await t.listen();
    mm = new FakeMattermost(base, clock);
    admin = await Member.create(base, 'limits-admin');
    alice = await Member.create(base, 'limits-alice');
    orgId = await admin.createOrg('Limited');
    await admin.addMember(orgId, 'limits-alice');
    otherOrgId = await admin.createOrg('Elsewhere');
    const setup = async (org: string) => {
      const answer = await admin.setup(org);
      const installed = { id: installationIdOf(answer.body.manifest_link), secret: answer.body.jwt_secret as string };
      expect((await mm.install(installed.id, installed.secret, chatUser('sysadmin'))).status).toBe(200);
      return installed;
    };
    inst = await setup(orgId);
    otherInst = await setup(otherOrgId);
  });
  afterAll(() => t.close());

  const link = (token: string, user: MattermostUser, installation = inst) => mm.call(installation.id, 'link', installation.secret, user, { values: { token } });

  it('PAIRGATE_INSTALL_MAX_LIVE_LINK_TOKENS: beyond that many live tokens, 429 for everyone until some expire', async () => {
    for (let i = 0; i < 3; i++) expect((await alice.linkToken(orgId)).status).toBe(201);
    expectApiLimited(await alice.linkToken(orgId));
    // The cap is the server's, not a person's: the admin, in another organization, is refused too.
    expectApiLimited(await admin.linkToken(otherOrgId));
    clock.advance(300_001);
    expect((await alice.linkToken(orgId)).status).toBe(201);
  });

  it('PAIRGATE_INSTALL_LINK_MISSES_PER_INSTALLATION: wrong tokens of many chat users lock the installation, even for a right token; other installations go on', async () => {
    // Three chat users, one wrong token each: within each user's budget of 10.
    for (const name of ['guess1', 'guess2', 'guess3']) {
      const miss = await link(LINK_TOKEN_FORMAT.generate(), chatUser(name));
      expect(miss.status).toBe(404);
      expect(miss.body.data.error).toBe('link_token_unknown');
    }
    // A fourth user, who never guessed, with a token that would link: the installation is spent.
    const { body } = await alice.linkToken(orgId);
    const refused = await link(body.token, chatUser('innocent'));
    expectMattermostLimited(refused);
    // About an hour left on the counter.
    expect(Number(refused.headers.get('retry-after'))).toBeGreaterThan(3500);
    // The other organization's installation has a budget of its own.
    const elsewhere = await admin.linkToken(otherOrgId);
    expect((await link(elsewhere.body.token, chatUser('neighbour'), otherInst)).status).toBe(200);
    // An hour later the installation takes tokens again.
    clock.advance(3_600_001);
    const fresh = await alice.linkToken(orgId);
    expect((await link(fresh.body.token, chatUser('innocent'))).status).toBe(200);
  });
});

describe('install door: calls per minute to the chat callbacks, link tokens per minute', () => {
  let t: TestApp;
  let base: string;
  let clock: ManualClock;
  let admin: Member;
  let orgId: string;
  let mm: FakeMattermost;

  beforeAll(async () => {
    clock = new ManualClock(Date.now());
    t = await createTestApp({ ...INSTALL_ENV, PAIRGATE_PUBLIC_URL: 'https://pair.example', PAIRGATE_INSTALL_CALLS_PER_MINUTE: '5' }, { clock });
    base = await t.listen();
    mm = new FakeMattermost(base, clock);
    admin = await Member.create(base, 'calls-admin');
    orgId = await admin.createOrg('Chatty');
  });
  afterAll(() => t.close());

  it('PAIRGATE_INSTALL_CALLS_PER_MINUTE: a Mattermost callback answers 429 rate_limited past the limit, never a 5xx', async () => {
    const setup = await admin.setup(orgId);
    const inst = { id: installationIdOf(setup.body.manifest_link), secret: setup.body.jwt_secret as string };
    expect((await mm.install(inst.id, inst.secret, chatUser('sysadmin'))).status).toBe(200);
    const answers: Answer[] = [];
    for (let i = 0; i < 8; i++) answers.push(await mm.call(inst.id, 'status', inst.secret, chatUser('talker')));
    const statuses = answers.map((a) => a.status);
    expect(statuses.slice(0, 5)).toEqual([200, 200, 200, 200, 200]);
    expect(statuses.slice(5)).toEqual([429, 429, 429]);
    expectMattermostLimited(answers[7]!);
  });

  it('PAIRGATE_INSTALL_CALLS_PER_MINUTE: the webhook connector\'s callbacks too', async () => {
    const setup = await admin.setup(orgId, 'webhook');
    const { command_url: commandUrl, signing_secret: secret } = setup.body as { command_url: string; signing_secret: string };
    const statuses: number[] = [];
    let last: { status: number; body: any; retryAfter: string | null } | undefined;
    for (let i = 0; i < 8; i++) {
      clock.advance(1000);
      const raw = JSON.stringify({ user_id: 'U1', text: 'status' });
      const timestamp = String(Math.floor(clock.now() / 1000));
      const response = await fetch(commandUrl.replace('https://pair.example', base), {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'x-pairgate-timestamp': timestamp, 'x-pairgate-signature': signWebhook(secret, timestamp, raw) },
        body: raw,
      });
      last = { status: response.status, body: await response.json(), retryAfter: response.headers.get('retry-after') };
      statuses.push(response.status);
    }
    // Not installed yet (409) while within the limit: the limit comes first, and is not a 5xx.
    expect(statuses.slice(0, 5)).toEqual([409, 409, 409, 409, 409]);
    expect(statuses.slice(5)).toEqual([429, 429, 429]);
    expect(last?.body).toMatchObject({ ok: false, error: 'rate_limited' });
    expect(Number(last?.retryAfter)).toBeGreaterThan(0);
  });

  it('link tokens: 30 per minute per address, then 429 rate_limited', async () => {
    const statuses: number[] = [];
    let last: Answer | undefined;
    for (let i = 0; i < 32; i++) {
      last = await admin.linkToken(orgId);
      statuses.push(last.status);
    }
    expect(statuses.slice(0, 30).every((s) => s === 201)).toBe(true);
    expect(statuses.slice(30)).toEqual([429, 429]);
    expectApiLimited(last!);
  });
});
