import { describe, expect, it } from 'vitest';
import { randomToken } from '../../../src/core/ids.js';
import { browserSkipReason } from '../../helpers/browser.js';
import { FormClient } from '../access/form-client.js';
import { useSiblingAttack } from '../access/sibling-site.js';
import { authorize, DEVICE_ENV, pollToken } from './device-helpers.js';

const skip = browserSkipReason('the cross-site request forgery tests of the device pages');

/**
 * The consent screen of a device is bound to the browser that typed its code by that browser's
 * CSRF cookie. A sibling subdomain can plant a CSRF cookie of its choosing for the whole site: the
 * attacker types the code of their own device under a cookie value, plants the same value in a
 * signed-in person's browser, and posts the approval from its page. Fetch Metadata says the post
 * comes from a sibling (`same-site`), which the forms must refuse.
 */
describe.skipIf(skip)('device approval posted by a sibling subdomain, in Chromium', () => {
  const attack = useSiblingAttack(DEVICE_ENV);

  it('a sibling cannot make a signed-in person approve the attacker\'s device', async () => {
    const { t, pairgate, evil } = attack;
    // The victim, signed in to pairgate in their browser.
    const { context, page } = await attack.victim('device-victim');

    // The attacker's device asks, and the attacker types its code under a CSRF cookie they chose.
    const device = (await authorize(t.app)).body;
    const planted = randomToken();
    const attacker = new FormClient(t.url);
    attacker.cookies.set('pg_csrf', planted);
    attacker.lastCsrf = planted;
    const typed = await attacker.post('/device', { user_code: String(device.user_code) });
    expect(typed.status).toBe(303);
    const grantId = new URL(typed.location!, t.url).searchParams.get('request')!;

    await page.goto(evil.page({ action: `${pairgate}/device/decide`, fields: { _csrf: planted, key: grantId, decision: 'approve' }, cookie: { name: 'pg_csrf', value: planted, path: '/device' } }));
    await page.waitForLoadState('load');

    const token = await pollToken(t.app, String(device.device_code));
    expect(token.body.access_token).toBeUndefined();
    expect(token.body.error).toBe('authorization_pending');
    expect(await t.app.pairgate.engine.get(grantId)).toMatchObject({ state: 'pending' });
    await context.close();
  });
});
