import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ManualClock } from '../../../src/core/clock.js';
import { createTestApp, type TestApp } from '../../helpers/app.js';
import { FormClient } from '../access/form-client.js';
import { DEVICE_ENV } from './device-helpers.js';
import { DEVICE_GRANT_TYPE } from '../../../src/doors/device/device-grant.js';

/** POSTs a form over the socket and parses the JSON answer. */
async function postForm(url: string, fields: Record<string, string>, headers: Record<string, string> = {}): Promise<{ status: number; body: Record<string, unknown> }> {
  const response = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded', ...headers }, body: new URLSearchParams(fields) });
  return { status: response.status, body: (await response.json()) as Record<string, unknown> };
}

describe('device verification pages over real sockets', () => {
  let t: TestApp;
  let base: string;
  const password = 'correct horse battery';
  beforeAll(async () => {
    t = await createTestApp({ ...DEVICE_ENV, PAIRGATE_DEVICE_CODE_MISSES_PER_SESSION: '3' });
    base = await t.listen();
    const owner = new FormClient(base);
    await owner.register('device-owner', password);
  });
  afterAll(() => t.close());

  const startDevice = async (clientId = 'cli', scope = 'read write', userAgent = 'SmartTV/2.1 (pages test)') =>
    (await postForm(`${base}/oauth/device_authorization`, { client_id: clientId, scope }, { 'user-agent': userAgent })).body as { device_code: string; user_code: string; verification_uri_complete: string };
  const token = (deviceCode: string, clientId = 'cli') => postForm(`${base}/oauth/token`, { grant_type: DEVICE_GRANT_TYPE, device_code: deviceCode, client_id: clientId });

  /** Types the code (any case, any separators), signs in, and returns the consent page. */
  const reachConsent = async (browser: FormClient, userCode: string) => {
    const form = await browser.get(`/device`);
    expect(form.status).toBe(200);
    expect(form.headers.get('content-security-policy')).toContain("default-src 'self'");
    const typed = await browser.post('/device', { user_code: userCode.toLowerCase().replace('-', ' ') });
    expect(typed.status).toBe(303);
    const signin = await browser.get(typed.location!);
    expect(signin.status).toBe(200);
    expect(signin.text).toContain('action="/device/signin"');
    const key = /name="key" value="([^"]+)"/.exec(signin.text)![1]!;
    const signedIn = await browser.post('/device/signin', { key, login: 'device-owner', password });
    expect(signedIn.status).toBe(303);
    const consent = await browser.get(signedIn.location!);
    expect(consent.status).toBe(200);
    return { key, consent: consent.text };
  };

  it('prefills ?user_code= and shows, never looks it up, until the person continues', async () => {
    const device = await startDevice();
    const page = await new FormClient(base).get(`/device?user_code=${device.user_code.toLowerCase()}`);
    expect(page.status).toBe(200);
    expect(page.text).toContain(`value="${device.user_code}"`);
    expect(await t.app.pairgate.engine.get(device.device_code.split('.')[0]!)).toMatchObject({ state: 'pending' });
  });

  it('code -> sign in -> consent (client, scopes, origin) -> approve -> the device gets its token', async () => {
    const device = await startDevice();
    const browser = new FormClient(base);
    const { key, consent } = await reachConsent(browser, device.user_code);
    expect(consent).toContain('pairgate CLI');
    expect(consent).toContain('<code id="client-id">cli</code>');
    expect(consent).toContain('<li><code>read</code></li>');
    expect(consent).toContain('<li><code>write</code></li>');
    expect(consent).toContain('127.0.0.1');
    expect(consent).toContain('SmartTV/2.1 (pages test)');
    expect(consent).toMatch(/\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2} UTC/);
    expect((await token(device.device_code)).body.error).toBe('authorization_pending');
    const done = await browser.post('/device/decide', { key, decision: 'approve' });
    expect(done.status).toBe(200);
    expect(done.text).toContain('data-outcome="approved"');
    const answer = await token(device.device_code);
    expect(answer.status).toBe(200);
    expect(answer.body).toMatchObject({ token_type: 'Bearer', scope: 'read write' });
    // The code is spent: typing it again finds nothing.
    expect((await browser.post('/device', { user_code: device.user_code })).status).toBe(404);
  });

  it('the software the device names is said to be unchecked, and a long one is cut to 80 characters (a phishing device writes what it likes there)', async () => {
    const claim = `Living-room TV (verified by your bank) ${'x'.repeat(200)}`;
    const device = await startDevice('cli', 'read write', claim);
    const { consent } = await reachConsent(new FormClient(base), device.user_code);
    const shown = /<li id="origin-agent">([^<]*)<\/li>/.exec(consent)![1]!;
    expect(shown).toMatch(/^Software, as the device names itself \(not checked\): Living-room TV \(verified by your bank\) x+\.\.\.$/);
    expect(shown.length).toBeLessThan(160);
  });

  it('deny: the device learns access_denied', async () => {
    const device = await startDevice('tv-app', '');
    const browser = new FormClient(base);
    const { key, consent } = await reachConsent(browser, device.user_code);
    expect(consent).toContain('Living-room TV');
    expect(consent).toContain('Basic access, no particular scope.');
    const done = await browser.post('/device/decide', { key, decision: 'deny' });
    expect(done.text).toContain('data-outcome="denied"');
    expect((await token(device.device_code, 'tv-app')).body.error).toBe('access_denied');
    // A second decision is refused: the request has been answered.
    expect((await browser.post('/device/decide', { key, decision: 'approve' })).status).toBe(409);
  });

  it('a signed-in person goes straight from the code to the consent screen, in French when asked', async () => {
    const browser = new FormClient(base);
    await browser.signIn('device-owner', password);
    const device = await startDevice();
    await browser.get('/device?lang=fr');
    const typed = await browser.post('/device', { user_code: device.user_code, lang: 'fr' });
    const consent = await browser.get(typed.location!);
    expect(consent.text).toContain('Connecter pairgate CLI\u00a0?');
    expect(consent.text).toContain('action="/device/decide"');
  });

  it('the code form leads to a bare consent address and the message page back to a bare /device when the cookie carries the language; ?lang= only for a browser without it', async () => {
    // An English browser whose person switched to French: the switch's cookie carries it.
    const browser = new FormClient(base, { 'accept-language': 'en' });
    await browser.signIn('device-owner', password);
    await browser.get('/device?lang=fr');
    expect(browser.cookies.get('pg_lang')).toBe('fr');
    const device = await startDevice();
    const typed = await browser.post('/device', { user_code: device.user_code, lang: 'fr' });
    expect(typed.location).toMatch(/^\/device\/consent\?request=[^&]+$/);
    expect((await browser.get(typed.location!)).text).toContain('<html lang="fr">');
    // The message page's way back is bare too, and French again.
    const unknown = await browser.get('/device/consent?request=nothing-here');
    expect(unknown.status).toBe(404);
    expect(unknown.text).toContain('<html lang="fr">');
    expect(unknown.text).toContain('class="button secondary" href="/device"');
    // A browser that kept no cookie: the form's French travels in the address, as the next page cannot know it.
    browser.cookies.delete('pg_lang');
    const again = await startDevice();
    const typedAgain = await browser.post('/device', { user_code: again.user_code, lang: 'fr' });
    expect(typedAgain.location).toMatch(/^\/device\/consent\?request=[^&]+&lang=fr$/);
    const noCookie = await browser.get('/device/consent?request=nothing-here&lang=fr');
    expect(noCookie.text).toContain('class="button secondary" href="/device?lang=fr"');
  });

  it('someone without an account registers from the sign-in form and comes back to the consent screen', async () => {
    const device = await startDevice();
    const browser = new FormClient(base);
    await browser.get('/device');
    const typed = await browser.post('/device', { user_code: device.user_code });
    const signin = await browser.get(typed.location!);
    const registerLink = /href="(\/account\/register[^"]+)"/.exec(signin.text)![1]!.replace(/&amp;/g, '&');
    await browser.get(registerLink);
    const next = new URL(registerLink, base).searchParams.get('next')!;
    const registered = await browser.post('/account/register', { username: 'device-newcomer', email: 'newcomer@example.test', password, next });
    expect(registered.status).toBe(303);
    expect(registered.location).toBe(typed.location);
    const consent = await browser.get(registered.location!);
    expect(consent.text).toContain('action="/device/decide"');
  });

  it('the consent screen opens only in the browser that typed the code', async () => {
    const device = await startDevice();
    const browser = new FormClient(base);
    const { key } = await reachConsent(browser, device.user_code);
    const other = new FormClient(base);
    await other.signIn('device-owner', password);
    expect((await other.get(`/device/consent?request=${key}`)).status).toBe(404);
    expect((await other.post('/device/decide', { key, decision: 'approve' })).status).toBe(404);
    expect(await t.app.pairgate.engine.get(key)).toMatchObject({ state: 'pending' });
  });

  it('the pages of a request this browser cannot decide log no error (they are answers, not failures)', async () => {
    const device = await startDevice();
    const browser = new FormClient(base);
    const errorsBefore = t.logs.filter((line) => /"level":50/.test(line)).length;
    await browser.get('/device');
    expect((await browser.get(`/device/consent?request=${device.device_code.split('.')[0]!}`)).status).toBe(404);
    const { key } = await reachConsent(browser, device.user_code);
    expect((await browser.post('/device/decide', { key, decision: 'deny' })).status).toBe(200);
    expect((await browser.get(`/device/consent?request=${key}`)).status).toBe(409);
    expect((await browser.post('/device/decide', { key, decision: 'approve' })).status).toBe(409);
    expect((await browser.post('/device/signin', { key, login: 'device-owner', password })).status).toBe(409);
    expect(t.logs.filter((line) => /"level":50/.test(line)).slice(errorsBefore)).toEqual([]);
  });

  it('the consent address cut short (no request) is the page that says the request is unknown, not a JSON error', async () => {
    const page = await new FormClient(base).get('/device/consent?lang=fr');
    expect(page.status).toBe(404);
    expect(page.headers.get('content-type')).toContain('text/html');
    expect(page.text).toContain("Cette demande n’existe pas ou a expiré.");
  });

  it('forms need the CSRF token', async () => {
    const device = await startDevice();
    const browser = new FormClient(base);
    await browser.get('/device');
    expect((await browser.post('/device', { user_code: device.user_code, _csrf: 'forged' })).status).toBe(403);
    const { key } = await reachConsent(browser, device.user_code);
    expect((await browser.post('/device/decide', { key, decision: 'approve', _csrf: 'forged' })).status).toBe(403);
    expect(await t.app.pairgate.engine.get(key)).toMatchObject({ state: 'pending' });
  });

  it('a malformed code is said in the page\'s language, with the character that cannot be in a code', async () => {
    const browser = new FormClient(base);
    await browser.get('/device?lang=fr');
    const cases: Array<[string, string]> = [
      ['', 'Saisissez le code affiché sur votre appareil.'],
      ['bcd-f', 'Un code a 8 lettres, sans compter le tiret\u00a0; celui-ci en a 4.'],
      ['BCDF-GHAK', '«\u00a0A\u00a0» (caractère 7) ne peut pas figurer dans un code.'],
    ];
    for (const [typed, said] of cases) {
      const page = await browser.post('/device', { user_code: typed, lang: 'fr' });
      expect(page.status).toBe(400);
      expect(page.text).toContain(said.replace(/'/g, '&#39;'));
      expect(page.text).not.toMatch(/cannot appear|Enter the code|A code has/);
    }
    const english = await browser.post('/device', { user_code: 'bcdf ghak', lang: 'en' });
    expect(english.text).toContain('&quot;A&quot; (character 7) cannot be in a code. Check the code and type it again.');
  });

  it('a code typed with Cyrillic or Greek look-alikes of its letters (a keyboard left in another layout) finds its request; a Cyrillic letter that is none is refused as before', async () => {
    // Cyrillic capitals and small letters, then Greek, as the person's layout gives them.
    const cyrillic: Record<string, string> = { B: 'в', C: 'С', H: 'н', K: 'К', M: 'м', P: 'Р', T: 'т', X: 'Х', J: 'Ј', S: 'ѕ' };
    const greek: Record<string, string> = { B: 'Β', H: 'η', K: 'κ', M: 'Μ', N: 'ν', P: 'ρ', T: 'Τ', X: 'χ', Z: 'ζ' };
    const retyped = (code: string, table: Record<string, string>) => [...code].map((char) => table[char] ?? char).join('');
    // A code with letters to retype in both scripts (most have several; 12 of the 20 letters have a look-alike).
    let device = await startDevice();
    while (retyped(device.user_code, cyrillic) === device.user_code || retyped(device.user_code, greek) === device.user_code) device = await startDevice();
    for (const typed of [retyped(device.user_code, cyrillic), retyped(device.user_code, greek)]) {
      const browser = new FormClient(base);
      await browser.get('/device');
      const answer = await browser.post('/device', { user_code: typed });
      expect(answer.status, typed).toBe(303);
      expect(answer.location).toContain(`request=${device.device_code.split('.')[0]!}`);
    }
    // In small letters too (reachConsent lowers the code); approved from there, the device gets its token.
    const approver = new FormClient(base);
    const { key } = await reachConsent(approver, retyped(device.user_code, cyrillic));
    expect(key).toBe(device.device_code.split('.')[0]!);
    expect((await approver.post('/device/decide', { key, decision: 'approve' })).text).toContain('data-outcome="approved"');
    expect((await token(device.device_code)).status).toBe(200);

    // Cyrillic Zhe looks like no letter of a code, and Cyrillic A like a vowel, which codes have none of.
    const browser = new FormClient(base);
    await browser.get('/device');
    for (const [foreign, position] of [['Ж', 3], ['А', 6]] as const) {
      const typed = `${device.user_code.slice(0, position - 1)}${foreign}${device.user_code.slice(position)}`;
      const refused = await browser.post('/device', { user_code: typed });
      expect(refused.status, typed).toBe(400);
      expect(refused.text).toContain(`&quot;${foreign}&quot; (character ${position === 6 ? 5 : position}) cannot be in a code. Check the code and type it again.`);
    }
  });

  it('malformed codes are said at once; wrong codes are counted per session, then refused with 429', async () => {
    const browser = new FormClient(base);
    await browser.get('/device');
    const malformed = await browser.post('/device', { user_code: 'BCD' });
    expect(malformed.status).toBe(400);
    expect(malformed.text).toContain('A code has 8 letters, not counting the dash; this one has 3.');
    expect((await browser.post('/device', { user_code: 'AAAA-BBBB' })).status).toBe(400);
    for (let i = 0; i < 3; i++) {
      const wrong = await browser.post('/device', { user_code: 'BCDF-GHJK' });
      expect(wrong.status).toBe(404);
      expect(wrong.text).toContain('No device is waiting with this code.');
    }
    const limited = await browser.post('/device', { user_code: 'BCDF-GHJK' });
    expect(limited.status).toBe(429);
    expect(limited.headers.get('retry-after')).toMatch(/^\d+$/);
    // Even the right code is refused now, from this session.
    const device = await startDevice();
    expect((await browser.post('/device', { user_code: device.user_code })).status).toBe(429);
  });
});

describe('device verification pages: the per-address budget', () => {
  let t: TestApp;
  let base: string;
  beforeAll(async () => {
    t = await createTestApp({ ...DEVICE_ENV, PAIRGATE_CODE_MISSES_PER_HOUR: '4' });
    base = await t.listen();
  });
  afterAll(() => t.close());

  it('wrong codes from one address across fresh browsers are refused once its budget is spent', async () => {
    for (let i = 0; i < 4; i++) {
      const browser = new FormClient(base);
      await browser.get('/device');
      expect((await browser.post('/device', { user_code: 'BCDF-GHJK' })).status).toBe(404);
    }
    const fresh = new FormClient(base);
    await fresh.get('/device');
    expect((await fresh.post('/device', { user_code: 'BCDF-GHJK' })).status).toBe(429);
  });
});

describe('device verification pages: how long a spent budget lasts, in words', () => {
  let t: TestApp;
  let base: string;
  const clock = new ManualClock(Date.now());
  beforeAll(async () => {
    t = await createTestApp({ ...DEVICE_ENV, PAIRGATE_DEVICE_CODE_MISSES_PER_SESSION: '2' }, { clock });
    base = await t.listen();
  });
  afterAll(() => t.close());

  it('says "in 60 minutes", then "in a minute" (not "in 1 minutes") near the end of the hour', async () => {
    const browser = new FormClient(base);
    await browser.get('/device');
    for (let i = 0; i < 2; i++) expect((await browser.post('/device', { user_code: 'BCDF-GHJK' })).status).toBe(404);
    const limited = await browser.post('/device', { user_code: 'BCDF-GHJK' });
    expect(limited.status).toBe(429);
    expect(limited.text).toContain('Try again in 60 minutes.');
    expect((await browser.post('/device', { user_code: 'BCDF-GHJK', lang: 'fr' })).text).toContain('Trop de codes erronés. Réessayez dans 60 minutes.');
    clock.advance(3_600_000 - 30_000);
    const almost = await browser.post('/device', { user_code: 'BCDF-GHJK' });
    expect(almost.status).toBe(429);
    expect(Number(almost.headers.get('retry-after'))).toBeLessThanOrEqual(60);
    expect(almost.text).toContain('Too many wrong codes. Try again in a minute.');
    expect((await browser.post('/device', { user_code: 'BCDF-GHJK', lang: 'fr' })).text).toContain('Réessayez dans une minute.');
  });
});
