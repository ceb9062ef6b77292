import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, type TestApp } from '../../helpers/app.js';
import { aroundApprove } from '../../helpers/engine-hooks.js';
import { FormClient } from '../access/form-client.js';
import { DEVICE_ENV } from './device-helpers.js';

/** The text of a page's outcome or alert, its French spaces made plain. */
const said = (html: string): string | undefined => /(?:id="outcome"|role="alert")[^>]*>([^<]+)</.exec(html)?.[1]?.replace(/&#39;/g, "'").replace(/\u00a0/g, ' ');

/**
 * The device's decision form sent twice (JavaScript off, or form-once.js not loaded yet): the
 * first post decides, the second finds the request answered. Its page must say the device has the
 * answer and what to do, never to start again when nothing needs starting again.
 */
describe('the device decision sent twice', () => {
  let t: TestApp;
  let base: string;
  const password = 'correct horse battery';
  beforeAll(async () => {
    t = await createTestApp(DEVICE_ENV);
    base = await t.listen();
    await new FormClient(base).register('twice-owner', password);
  });
  afterAll(() => t.close());

  /** A new device's code typed in `lang`, signed in: the browser on its consent screen, and the form's key. */
  const onConsent = async (lang: string) => {
    const started = await fetch(`${base}/oauth/device_authorization`, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: new URLSearchParams({ client_id: 'cli' }) });
    const { user_code: userCode } = (await started.json()) as { user_code: string };
    const browser = new FormClient(base);
    await browser.get(`/device?lang=${lang}`);
    const typed = await browser.post('/device', { user_code: userCode, lang });
    const form = await browser.get(typed.location!);
    const key = /name="key" value="([^"]+)"/.exec(form.text)![1]!;
    const signedIn = await browser.post('/device/signin', { key, login: 'twice-owner', password, lang });
    expect((await browser.get(signedIn.location!)).text).toContain('action="/device/decide"');
    return { browser, key };
  };

  it('after the first answered: the person is told what they answered, in English and French', async () => {
    const english = await onConsent('en');
    expect((await english.browser.post('/device/decide', { key: english.key, decision: 'approve', lang: 'en' })).status).toBe(200);
    const again = await english.browser.post('/device/decide', { key: english.key, decision: 'approve', lang: 'en' });
    expect(again.status).toBe(409);
    expect(said(again.text)).toBe('You already approved pairgate CLI: it is connected. You can return to your device.');
    const french = await onConsent('fr');
    expect((await french.browser.post('/device/decide', { key: french.key, decision: 'deny', lang: 'fr' })).status).toBe(200);
    const encore = await french.browser.post('/device/decide', { key: french.key, decision: 'deny', lang: 'fr' });
    expect(encore.status).toBe(409);
    expect(said(encore.text)).toBe("Vous avez déjà refusé l’accès à pairgate CLI. Rien n’a été connecté.");
  });

  it('while the first is being recorded (the second loses the engine\'s compare-and-set): the same page, not "start again"', async () => {
    const { browser, key } = await onConsent('fr');
    // The first post is recorded while the second is under way, just before the second's is.
    const second = await aroundApprove(t.app.pairgate.engine, async (approve, id, result) => {
      await approve(id, result);
      return approve(id, result);
    }, () => browser.post('/device/decide', { key, decision: 'approve', lang: 'fr' }));
    expect(second.status).toBe(409);
    expect(said(second.text)).toBe('Vous avez déjà approuvé pairgate CLI : il est connecté. Vous pouvez revenir à votre appareil.');
  });

  it('signed out in between: the page says the device has the answer and to look at it, in English and French', async () => {
    for (const [lang, expected] of [
      ['en', 'This request has already been answered, and the device has the answer. Look at your device: if it is not connected, start again there.'],
      ['fr', "Cette demande a déjà reçu une réponse, et l’appareil en dispose. Regardez votre appareil : s’il n’est pas connecté, recommencez depuis celui-ci."],
    ] as const) {
      const { browser, key } = await onConsent(lang);
      expect((await browser.post('/device/decide', { key, decision: 'approve', lang })).status).toBe(200);
      await browser.post('/account/signout', { lang });
      const again = await browser.post('/device/decide', { key, decision: 'approve', lang });
      expect(again.status).toBe(409);
      expect(said(again.text)).toBe(expected);
      expect(again.text).not.toMatch(/Forward|Suivant/);
    }
  });
});
