import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ManualClock } from '../../../src/core/clock.js';
import { signWebhook } from '../../../src/doors/install/webhook/webhook-signature.js';
import { createTestApp, type TestApp } from '../../helpers/app.js';
import { callRequest, FakeMattermost, INSTALL_ENV, installationIdOf, installConnector, Member, mattermostId, mattermostJwt, type Answer, type MattermostUser } from './install-helpers.js';

/**
 * A signed call is spent only when it is accepted: one refused before it did anything (the
 * installation not installed yet, a body the route refuses) may be sent again unchanged, as a
 * sender retrying a failed delivery does, and is answered on its merits; one accepted is refused
 * the second time, also when the two arrive at once. Real sockets, a manual clock that stands
 * still unless advanced, so a call sent again carries the very same signature.
 */
describe('install door: a signature is spent only by a call that is accepted (real sockets, manual clock)', () => {
  let t: TestApp;
  let base: string;
  let clock: ManualClock;
  let admin: Member;

  beforeAll(async () => {
    clock = new ManualClock(Date.now());
    t = await createTestApp(INSTALL_ENV, { clock });
    base = await t.listen();
    admin = await Member.create(base, 'spent-admin');
  });
  afterAll(() => t.close());

  /** A second passes between the cases, so no two sign the same bytes at the same time by accident. */
  const tick = () => clock.advance(1000);

  /** One signed webhook call, its bytes and headers fixed, that can be delivered as often as wanted. */
  const signedCall = (id: string, call: string, secret: string, body: unknown) => {
    const raw = JSON.stringify(body);
    const timestamp = String(Math.floor(clock.now() / 1000));
    const signature = signWebhook(secret, timestamp, raw);
    return async (): Promise<Answer> => {
      const response = await fetch(`${base}/webhook/${id}/${call}`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'x-pairgate-timestamp': timestamp, 'x-pairgate-signature': signature },
        body: raw,
      });
      return { status: response.status, body: await response.json(), headers: response.headers };
    };
  };

  /** Sets up a signed webhook in a new organization, not installed yet. */
  const webhookSetup = async (orgName: string) => {
    const orgId = await admin.createOrg(orgName);
    const setup = (await admin.setup(orgId, 'webhook')).body;
    return { orgId, id: /\/webhook\/([^/]+)\/install$/.exec(setup.install_url as string)![1]!, secret: setup.signing_secret as string };
  };

  it('a webhook command refused as not installed yet is answered when the same signed call comes again after the install', async () => {
    const hook = await webhookSetup('Early commands');
    tick();
    const status = signedCall(hook.id, 'command', hook.secret, { user_id: 'early', text: 'status' });
    const early = await status();
    expect(early.status).toBe(409);
    expect(early.body.error).toBe('installation_not_installed');
    // The sender finishes the install, then retries its delivery unchanged, within the window.
    tick();
    expect((await signedCall(hook.id, 'install', hook.secret, { site_url: 'https://bot.example.test' })()).status).toBe(200);
    const retried = await status();
    expect(retried.status, JSON.stringify(retried.body)).toBe(200);
    expect(retried.body).toMatchObject({ ok: true, data: { linked: false } });
    // Accepted now: the same call a third time is a replay.
    expect((await status()).body.error).toBe('signature_replayed');
  });

  it('a webhook call the route refuses for its body is told the same refusal again, not that it was replayed', async () => {
    const hook = await webhookSetup('Bad bodies');
    tick();
    const badSite = signedCall(hook.id, 'install', hook.secret, { site_url: 'ftp://bot.example.test' });
    for (let delivery = 1; delivery <= 2; delivery++) {
      const answer = await badSite();
      expect([answer.status, answer.body.error], `delivery ${delivery}`).toEqual([400, 'invalid_site_url']);
    }
    expect((await signedCall(hook.id, 'install', hook.secret, { site_url: 'https://bot.example.test' })()).status).toBe(200);
    tick();
    const unknown = signedCall(hook.id, 'command', hook.secret, { user_id: 'typo', text: 'stauts' });
    for (let delivery = 1; delivery <= 2; delivery++) {
      const answer = await unknown();
      expect([answer.status, answer.body.error], `delivery ${delivery}`).toEqual([404, 'unknown_command']);
    }
  });

  it('two identical deliveries of a link at once: exactly one links, the other is refused as replayed', async () => {
    const orgId = await admin.createOrg('Twin deliveries');
    const hook = await installConnector(base, admin, orgId, 'webhook', clock);
    for (let round = 0; round < 5; round++) {
      tick();
      const token = (await admin.linkToken(orgId, 'webhook')).body.token as string;
      const link = signedCall(hook.id, 'command', hook.secret, { user_id: `twin${round}`, text: `link ${token}` });
      const answers = await Promise.all([link(), link()]);
      const outcomes = answers.map((answer) => `${answer.status} ${answer.body.error ?? answer.body.data?.linked}`).sort();
      expect(outcomes, `round ${round}`).toEqual(['200 true', '409 signature_replayed']);
    }
  });

  it('the replay of an accepted webhook call is refused and does nothing again', async () => {
    const orgId = await admin.createOrg('Replayed unlink');
    const hook = await installConnector(base, admin, orgId, 'webhook', clock);
    const linkFresh = async () => {
      tick();
      const token = (await admin.linkToken(orgId, 'webhook')).body.token as string;
      expect((await signedCall(hook.id, 'command', hook.secret, { user_id: 'again', text: `link ${token}` })()).body.data.linked).toBe(true);
    };
    await linkFresh();
    tick();
    const unlink = signedCall(hook.id, 'command', hook.secret, { user_id: 'again', text: 'unlink' });
    expect((await unlink()).body.data.unlinked).toBe(true);
    await linkFresh();
    // The captured unlink, played again within its window: refused, and the new link stays.
    const replayed = await unlink();
    expect([replayed.status, replayed.body.error]).toEqual([409, 'signature_replayed']);
    tick();
    expect((await signedCall(hook.id, 'command', hook.secret, { user_id: 'again', text: 'status' })()).body.data.linked).toBe(true);
  });

  describe('Mattermost link and unlink', () => {
    /** One Mattermost call, its token and bytes fixed, that can be delivered as often as wanted. */
    const mattermostCall = async (id: string, call: string, secret: string, user: MattermostUser | undefined) => {
      const jwt = await mattermostJwt(secret, user?.id, clock);
      const raw = JSON.stringify(callRequest(`/mattermost/${id}/${call}`, user));
      return async (): Promise<Answer> => {
        const response = await fetch(`${base}/mattermost/${id}/${call}`, {
          method: 'POST',
          headers: { 'content-type': 'application/json', 'mattermost-app-authorization': `Bearer ${jwt}` },
          body: raw,
        });
        return { status: response.status, body: await response.json(), headers: response.headers };
      };
    };

    it('an unlink refused as not installed yet is run when the same call comes again after the install', async () => {
      const orgId = await admin.createOrg('Early unlink');
      const setup = (await admin.setup(orgId)).body;
      const id = installationIdOf(setup.manifest_link as string);
      tick();
      const unlink = await mattermostCall(id, 'unlink', setup.jwt_secret as string, { id: mattermostId('earlyunlink'), username: 'early' });
      const early = await unlink();
      expect([early.status, early.body.data?.error]).toEqual([409, 'installation_not_installed']);
      expect((await new FakeMattermost(base, clock).install(id, setup.jwt_secret as string, { id: mattermostId('earlyadmin'), username: 'admin' })).status).toBe(200);
      const retried = await unlink();
      expect(retried.status, JSON.stringify(retried.body)).toBe(200);
      expect(retried.body.data).toMatchObject({ unlinked: false });
      expect((await unlink()).body.data?.error).toBe('call_replayed');
    });

    it('a link naming no acting user is told so again when sent again, not that it was replayed', async () => {
      const orgId = await admin.createOrg('Nobody links');
      const inst = await installConnector(base, admin, orgId, 'mattermost', clock);
      tick();
      const link = await mattermostCall(inst.id, 'link', inst.secret, undefined);
      for (let delivery = 1; delivery <= 2; delivery++) {
        const answer = await link();
        expect([answer.status, answer.body.data?.error], `delivery ${delivery}`).toEqual([400, 'acting_user_missing']);
      }
    });
  });
});
