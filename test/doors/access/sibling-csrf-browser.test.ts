import type { BrowserContext, Page } from 'playwright-core';
import { describe, expect, it } from 'vitest';
import { randomToken } from '../../../src/core/ids.js';
import { browserSkipReason, settledForDecision } from '../../helpers/browser.js';
import { authRequest, FormClient, getJson, postJson } from './form-client.js';
import { useSiblingAttack } from './sibling-site.js';

const skip = browserSkipReason('the cross-site request forgery tests of the account and access pages');

/**
 * A sibling subdomain (evil.pairgate.localhost next to auth.pairgate.localhost) is the same site: its form
 * posts carry the SameSite session cookie, and it can plant a CSRF cookie of its choosing for the
 * whole domain and post the same value in the form, so the double-submit token alone does not
 * tell its forms from pairgate's. The browser's own word (Fetch Metadata, Origin) does.
 */
describe.skipIf(skip)('forms posted by a sibling subdomain, in Chromium', () => {
  const attack = useSiblingAttack({ PAIRGATE_SCRYPT_COST: '10' });
  let context: BrowserContext;
  let page: Page;

  /** A fresh victim browser, signed in to pairgate as `username`. */
  const signedInVictim = async (username: string) => {
    ({ context, page } = await attack.victim(username));
  };

  it('a sibling cannot make a signed-in user accept an auth request (the attacker would poll the token)', async () => {
    const { t, pairgate, evil } = attack;
    await signedInVictim('sibling-victim');
    const key = String((await postJson(`${t.url}/access`, authRequest({ requestingAppId: 'evil-app-id' }))).body.key);
    const planted = randomToken();
    await page.goto(evil.page({ action: `${pairgate}/access/auth/decide`, fields: { _csrf: planted, key, decision: 'accept' }, cookie: { name: 'pg_csrf', value: planted, path: '/access' } }));
    await page.waitForLoadState('load');
    const poll = await getJson(`${t.url}/access/${key}`);
    expect(poll.body.status).toBe('NEED_SIGNIN');
    expect(poll.body.token).toBeUndefined();
    await context.close();
  });

  it('a sibling cannot sign a visitor in to the attacker\'s account (login CSRF)', async () => {
    const { t, pairgate, evil } = attack;
    await new FormClient(t.url).register('sibling-attacker', 'attacker password 1');
    await signedInVictim('sibling-victim-2');
    const planted = randomToken();
    await page.goto(evil.page({ action: `${pairgate}/account/signin`, fields: { _csrf: planted, login: 'sibling-attacker', password: 'attacker password 1' }, cookie: { name: 'pg_csrf', value: planted, path: '/account' } }));
    await page.waitForLoadState('load');
    await page.goto(`${pairgate}/account/accesses`);
    expect(await page.content()).toContain('sibling-victim-2');
    expect(await page.content()).not.toContain('sibling-attacker');
    await context.close();
  });

  it('pairgate\'s own forms still work in that browser', async () => {
    const { t, pairgate } = attack;
    await signedInVictim('sibling-victim-3');
    const key = String((await postJson(`${t.url}/access`, authRequest({ requestingAppId: 'real-app-id' }))).body.key);
    await page.goto(`${pairgate}/access/auth?key=${key}`);
    await settledForDecision(page);
    await page.click('button[value=accept]');
    await page.waitForSelector('#outcome');
    expect((await getJson(`${t.url}/access/${key}`)).body.status).toBe('ACCEPTED');
    await context.close();
  });
});
