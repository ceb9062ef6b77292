import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ManualClock } from '../../../src/core/clock.js';
import { signWebhook } from '../../../src/doors/install/webhook/webhook-signature.js';
import { createTestApp, type TestApp } from '../../helpers/app.js';
import { callRequest, INSTALL_ENV, installConnector, Member, mattermostId, mattermostJwt, type Answer } from './install-helpers.js';

/**
 * A link the command itself refuses having changed nothing (a token missing or malformed, said
 * before any look-up; a token already used, found so by a look-up) keeps its call unspent: the
 * same call delivered again, as a chat server or sender retrying does, gets the same refusal, not
 * 409 replayed. An accepted link is still refused the second time. Both connectors, real sockets,
 * a manual clock that stands still unless advanced, so a call sent again is the very same call.
 */
describe('install door: a link refused having changed nothing may be sent again unchanged (real sockets, manual clock)', () => {
  let t: TestApp;
  let base: string;
  let clock: ManualClock;
  let admin: Member;
  let orgId: string;
  const hooks: Record<'webhook' | 'mattermost', { id: string; secret: string }> = {} as never;

  beforeAll(async () => {
    clock = new ManualClock(Date.now());
    t = await createTestApp(INSTALL_ENV, { clock });
    base = await t.listen();
    admin = await Member.create(base, 'retry-admin');
    orgId = await admin.createOrg('Retried links');
    hooks.webhook = await installConnector(base, admin, orgId, 'webhook', clock);
    hooks.mattermost = await installConnector(base, admin, orgId, 'mattermost', clock);
  });
  afterAll(() => t.close());

  /** What a refusal or an answer comes to, in either connector's shape. */
  const outcomeOf = (answer: Answer) => `${answer.status} ${answer.body.error ?? answer.body.data?.error ?? (answer.body.data?.linked ? 'linked' : '?')}`;

  /**
   * One link call by `user` typing `typed` after `link` (undefined: nothing), its bytes and
   * signature or call token fixed, that can be delivered as often as wanted.
   */
  const linkCall = async (connector: 'webhook' | 'mattermost', user: string, typed: string | undefined): Promise<() => Promise<string>> => {
    const { id, secret } = hooks[connector];
    let headers: Record<string, string>;
    let raw: string;
    if (connector === 'webhook') {
      raw = JSON.stringify({ user_id: user, text: typed === undefined ? 'link' : `link ${typed}` });
      const timestamp = String(Math.floor(clock.now() / 1000));
      headers = { 'x-pairgate-timestamp': timestamp, 'x-pairgate-signature': signWebhook(secret, timestamp, raw) };
    } else {
      const mmUser = { id: mattermostId(user), username: user };
      raw = JSON.stringify(callRequest(`/mattermost/${id}/link`, mmUser, typed === undefined ? {} : { values: { token: typed } }));
      headers = { 'mattermost-app-authorization': `Bearer ${await mattermostJwt(secret, mmUser.id, clock)}` };
    }
    return async () => {
      const response = await fetch(`${base}/${connector}/${id}/${connector === 'webhook' ? 'command' : 'link'}`, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: raw });
      return outcomeOf({ status: response.status, body: await response.json(), headers: response.headers });
    };
  };

  const replayed = { webhook: '409 signature_replayed', mattermost: '409 call_replayed' };

  for (const connector of ['webhook', 'mattermost'] as const) {
    describe(connector, () => {
      it('a link whose token is missing or malformed gets the same 400 at every delivery', async () => {
        const cases: [string | undefined, string][] = [
          [undefined, '400 link_token_missing'],
          ['<token>', '400 link_token_missing'],
          ['k7m2x-9qdp4', '400 link_token_malformed'],
          ['k7m2x-9qdp4-!', '400 link_token_malformed'],
          ['x'.repeat(65), '400 link_token_malformed'],
        ];
        for (const [typed, expected] of cases) {
          clock.advance(1000);
          const link = await linkCall(connector, `typo-${connector}`, typed);
          for (let delivery = 1; delivery <= 3; delivery++) expect(await link(), `${typed} delivery ${delivery}`).toBe(expected);
        }
        // A token with a typo its check character catches, the same.
        const token = (await admin.linkToken(orgId, connector)).body.token as string;
        const last = token.at(-1)!;
        clock.advance(1000);
        const typo = await linkCall(connector, `typo-${connector}`, token.slice(0, -1) + (last === 'a' ? 'b' : 'a'));
        for (let delivery = 1; delivery <= 2; delivery++) expect(await typo(), `typo delivery ${delivery}`).toBe('400 link_token_malformed');
      });

      it('a link whose token was used already gets 409 link_token_used at every delivery; the link that used it is refused as replayed', async () => {
        const token = (await admin.linkToken(orgId, connector)).body.token as string;
        clock.advance(1000);
        const first = await linkCall(connector, `first-${connector}`, token);
        expect(await first()).toBe('200 linked');
        const second = await linkCall(connector, `second-${connector}`, token);
        for (let delivery = 1; delivery <= 3; delivery++) expect(await second(), `delivery ${delivery}`).toBe('409 link_token_used');
        expect(await first()).toBe(replayed[connector]);
      });
    });
  }

  it('webhook: an install from another site, refused having changed nothing, gets 409 installation_site_mismatch at every delivery; an accepted one is refused as replayed', async () => {
    const { id, secret } = hooks.webhook;
    const installCall = (siteUrl: string): (() => Promise<string>) => {
      clock.advance(1000);
      const raw = JSON.stringify({ site_url: siteUrl });
      const timestamp = String(Math.floor(clock.now() / 1000));
      const headers = { 'content-type': 'application/json', 'x-pairgate-timestamp': timestamp, 'x-pairgate-signature': signWebhook(secret, timestamp, raw) };
      return async () => {
        const response = await fetch(`${base}/webhook/${id}/install`, { method: 'POST', headers, body: raw });
        return outcomeOf({ status: response.status, body: await response.json(), headers: response.headers });
      };
    };
    const elsewhere = installCall('https://other-bot.example.test');
    for (let delivery = 1; delivery <= 3; delivery++) expect(await elsewhere(), `delivery ${delivery}`).toBe('409 installation_site_mismatch');
    // From its own site, an install updates it (ok), and the same call again is a replay.
    const again = installCall('https://bot.example.test');
    expect((await again()).startsWith('200')).toBe(true);
    expect(await again()).toBe(replayed.webhook);
  });
});
