import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { accountsOf } from '../../../src/doors/accounts/accounts.js';
import { createTestApp, type TestApp } from '../../helpers/app.js';
import { authRequest, FormClient, postJson } from '../access/form-client.js';
import { outboxMails } from '../access/outbox.js';
import { DEVICE_ENV } from '../device/device-helpers.js';

/** The reset link of the latest mail, as a path (quoted-printable soft breaks and =3D undone). */
function latestResetPath(dataDir: string, base: string): string {
  const mail = outboxMails(dataDir).at(-1)!.replace(/=\r?\n/g, '').replace(/=3D/g, '=');
  const link = /(http:\/\/\S+\/account\/reset\/confirm\?token=[A-Za-z0-9_-]+&lang=\w+(?:&next=\S+)?)/.exec(mail)?.[1];
  if (!link) throw new Error(`no reset link in ${mail}`);
  return link.replace(base, '');
}

/** The decoded address of the first link whose href starts with `start`. */
function href(html: string, start: string): string {
  const found = new RegExp(`href="(${start.replace(/[?/]/g, '\\$&')}[^"]*)"`).exec(html)?.[1];
  if (!found) throw new Error(`no link to ${start}`);
  return found.replace(/&amp;/g, '&');
}

/** The value of the hidden `next` field of a form, if any. */
function hiddenNext(html: string): string | undefined {
  return /name="next" value="([^"]*)"/.exec(html)?.[1]?.replace(/&amp;/g, '&');
}

describe('the way back to an app\'s flow through the account pages', () => {
  let t: TestApp;
  let base: string;
  let nextAddress = 1;
  const newClient = () => new FormClient(base, { 'x-forwarded-for': `10.9.0.${nextAddress++}` });
  const mailsSent = () => accountsOf({ server: t.app }).parts.afterAnswer.idle();
  beforeAll(async () => {
    t = await createTestApp({ PAIRGATE_SCRYPT_COST: '10', PAIRGATE_TRUST_PROXY: '127.0.0.1', PAIRGATE_RESET_TTL_SECONDS: '90' });
    base = await t.listen();
  });
  afterAll(() => t.close());

  it('forgot password from an app\'s sign-in page: the reset pages carry the flow (the mail does not), and signing in lands on the consent screen', async () => {
    await newClient().register('forgot-in-flow', 'the old password');
    const created = await postJson(`${base}/access`, authRequest({ requestingAppId: 'return-app', languageCode: 'fr' }));
    // The way back is the bare auth page, which picks the app's French by itself; the account
    // pages on the way speak the person's own language (here their browser's French).
    const flow = `/access/auth?key=${String(created.body.key)}`;
    const person = new FormClient(base, { 'x-forwarded-for': `10.9.0.${nextAddress++}`, 'accept-language': 'fr' });

    const signInPage = await person.get(`${flow}&lang=fr`);
    expect(signInPage.text).toContain('return-app');
    const forgot = href(signInPage.text, '/account/reset?');
    expect(new URL(forgot, base).searchParams.get('next')).toBe(flow);

    const askPage = await person.get(forgot);
    expect(askPage.text).toContain('Après avoir choisi un nouveau mot de passe, vous vous connectez et reprenez là où vous en étiez.');
    expect(hiddenNext(askPage.text)).toBe(flow);
    const sent = await person.post('/account/reset', { login: 'forgot-in-flow', next: flow, lang: 'fr' });
    expect(sent.status).toBe(200);
    // How long the link works (PAIRGATE_RESET_TTL_SECONDS = 90) and what to do when no mail comes.
    expect(sent.text).toContain('Le lien fonctionne pendant 90 secondes. Pas de message après quelques minutes\u00a0? Regardez dans vos indésirables');
    expect(new URL(href(sent.text, '/account/signin?'), base).searchParams.get('next')).toBe(flow);
    // The way back stays in this browser, for the link's lifetime, sent to the reset pages only.
    const kept = sent.headers.getSetCookie().find((line) => line.startsWith('pg_reset_next='));
    expect(kept).toMatch(/; Max-Age=90;/i);
    expect(kept).toMatch(/; Path=\/account\/reset;/i);
    expect(kept).toMatch(/; HttpOnly/i);
    expect(kept).toMatch(/; SameSite=Lax/i);

    await mailsSent();
    const mail = outboxMails(t.config.PAIRGATE_DATA_DIR).at(-1)!;
    // The lifetime as it is (90 s), not rounded up to "2 minutes".
    expect(mail.replace(/=\r?\n/g, '')).toMatch(/pendant 90 secondes/);
    const link = latestResetPath(t.config.PAIRGATE_DATA_DIR, base);
    // The access key opens the app's token: a mailbox, and the outbox folder, never hold it.
    expect(new URL(link, base).searchParams.get('next')).toBeNull();
    const secret = String(created.body.key).split('.').at(-1)!;
    for (const written of outboxMails(t.config.PAIRGATE_DATA_DIR)) {
      const unfolded = written.replace(/=\r?\n/g, '');
      for (const form of [String(created.body.key), secret, encodeURIComponent(String(created.body.key))]) expect(unfolded).not.toContain(form);
      expect(unfolded).not.toContain('next=');
    }

    // Opened in the browser that asked, the form carries the way back again.
    const form = await person.get(link);
    expect(form.status).toBe(200);
    expect(hiddenNext(form.text)).toBe(flow);
    const token = new URL(link, base).searchParams.get('token')!;
    const done = await person.post('/account/reset/confirm', { token, password: 'the new password', next: hiddenNext(form.text)!, lang: 'fr' });
    expect(done.status).toBe(200);
    expect(done.text).toContain('<h1>Mot de passe changé</h1>');
    const signInAgain = href(done.text, '/account/signin?');
    expect(new URL(signInAgain, base).searchParams.get('next')).toBe(flow);
    // Its work done, the cookie goes.
    expect(person.cookies.has('pg_reset_next')).toBe(false);

    const page = await person.get(signInAgain);
    expect(page.text).toContain('Connectez-vous pour continuer.');
    const signedIn = await person.post('/account/signin', { login: 'forgot-in-flow', password: 'the new password', next: hiddenNext(page.text)!, lang: 'fr' });
    expect(signedIn.status).toBe(303);
    expect(signedIn.location).toBe(flow);
    const consent = await person.get(signedIn.location!);
    expect(consent.text).toContain('/access/auth/decide');
    expect(consent.text).toContain('return-app');
  });

  it('the way back is read from the browser that asked even when the form does not carry it; another browser sets the password without it', async () => {
    await newClient().register('forgot-elsewhere', 'the old password');
    const created = await postJson(`${base}/access`, authRequest({ requestingAppId: 'elsewhere-app' }));
    const flow = `/access/auth?key=${String(created.body.key)}`;
    const person = newClient();
    await person.get(`/account/reset?next=${encodeURIComponent(flow)}`);
    await person.post('/account/reset', { login: 'forgot-elsewhere', next: flow });
    await mailsSent();
    const link = latestResetPath(t.config.PAIRGATE_DATA_DIR, base);
    const token = new URL(link, base).searchParams.get('token')!;

    // The link opened on another device: the password is set, the sign-in leads to the account.
    const phone = newClient();
    const phoneForm = await phone.get(link);
    expect(phoneForm.status).toBe(200);
    expect(hiddenNext(phoneForm.text)).toBeUndefined();
    expect(phoneForm.text).not.toContain(String(created.body.key));

    // The browser that asked, posting a form without the field: the cookie leads back to the flow.
    await person.get(link);
    const done = await person.post('/account/reset/confirm', { token, password: 'the new password' });
    expect(done.status).toBe(200);
    expect(new URL(href(done.text, '/account/signin?'), base).searchParams.get('next')).toBe(flow);
  });

  it('a kept way back off this server (a cookie planted by a sibling subdomain) is dropped as a foreign next is', async () => {
    await newClient().register('forgot-planted', 'the old password');
    const person = newClient();
    await person.get('/account/reset');
    await person.post('/account/reset', { login: 'forgot-planted' });
    await mailsSent();
    const link = latestResetPath(t.config.PAIRGATE_DATA_DIR, base);
    person.cookies.set('pg_reset_next', encodeURIComponent('//evil.example/x'));
    const form = await person.get(link);
    expect(hiddenNext(form.text)).toBeUndefined();
    const done = await person.post('/account/reset/confirm', { token: new URL(link, base).searchParams.get('token')!, password: 'the new password' });
    expect(done.status).toBe(200);
    expect(done.text).not.toContain('evil.example');
  });

  it('never carries an address off this server: a foreign next is dropped at every step', async () => {
    await newClient().register('forgot-evil', 'the old password');
    const person = newClient();
    for (const evil of ['//evil.example/x', 'https://evil.example/', '/\\evil.example', '/.//evil.example']) {
      const askPage = await person.get(`/account/reset?next=${encodeURIComponent(evil)}`);
      expect(hiddenNext(askPage.text), evil).toBeUndefined();
      // (The language switch reloads this same page, whatever its query.)
      expect(askPage.text, evil).not.toMatch(/(?:href|action)="(?:https?:)?\/\/evil/);
    }
    const sent = await person.post('/account/reset', { login: 'forgot-evil', next: 'https://evil.example/' });
    expect(sent.text).not.toContain('evil.example');
    await mailsSent();
    const link = latestResetPath(t.config.PAIRGATE_DATA_DIR, base);
    expect(link).not.toContain('next=');
    const token = new URL(link, base).searchParams.get('token')!;
    const form = await person.get(`${link}&next=${encodeURIComponent('//evil.example/')}`);
    expect(hiddenNext(form.text)).toBeUndefined();
    const done = await person.post('/account/reset/confirm', { token, password: 'the new password', next: '//evil.example/' });
    expect(done.status).toBe(200);
    expect(done.text).not.toContain('evil.example');
  });

  it('the register page reached from a flow says who asks (the door\'s words) and that the person carries on afterwards', async () => {
    const created = await postJson(`${base}/access`, authRequest({ requestingAppId: 'register-app' }));
    const flow = `/access/auth?key=${String(created.body.key)}`;
    const person = newClient();
    const register = href((await person.get(flow)).text, '/account/register?');
    expect(new URL(register, base).searchParams.get('next')).toBe(flow);
    // The access door describes its flow (reading the key it was given): the words come from the
    // server, never from the address.
    const described = await person.get(register);
    expect(described.text).toContain('<p class="muted">register-app asks for access to your account. Once your account is created, you carry on where you left off.</p>');
    // Without a flow to return to, nothing is said.
    expect((await person.get('/account/register')).text).not.toContain('you carry on where you left off');
    // A flow no door describes gets the general line alone.
    const undescribed = await person.get(`/account/register?next=${encodeURIComponent('/account')}`);
    expect(undescribed.text).toContain('<p class="muted">Once your account is created, you carry on where you left off.</p>');
    // A failed attempt shows the form again with the same words and the way back.
    const refused = await person.post('/account/register', { username: 'x', email: 'x@example.test', password: 'long enough password', next: flow });
    expect(refused.status).toBe(400);
    expect(refused.text).toContain('register-app asks for access to your account.');
    expect(hiddenNext(refused.text)).toBe(flow);
    const registered = await person.post('/account/register', { username: 'register-in-flow', email: 'rif@example.test', password: 'long enough password', next: flow });
    expect(registered.location).toBe(flow);
  });
});

describe('the way back to a device\'s consent screen through a password reset', () => {
  it('forgot password on the /device sign-in page: the new password leads to the consent screen in the same browser', async () => {
    const t = await createTestApp({ ...DEVICE_ENV });
    try {
      const base = await t.listen();
      await new FormClient(base).register('device-forgetter', 'the old password');
      const authorization = await fetch(`${base}/oauth/device_authorization`, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: new URLSearchParams({ client_id: 'cli', scope: 'read' }) });
      const { user_code: userCode } = (await authorization.json()) as { user_code: string };
      const person = new FormClient(base);
      await person.get('/device');
      const typed = await person.post('/device', { user_code: userCode });
      const signInPage = await person.get(typed.location!);
      const forgot = href(signInPage.text, '/account/reset?');
      const consentPath = new URL(forgot, base).searchParams.get('next')!;
      expect(consentPath).toBe(typed.location);

      await person.get(forgot);
      await person.post('/account/reset', { login: 'device-forgetter', next: consentPath });
      await accountsOf({ server: t.app }).parts.afterAnswer.idle();
      const link = latestResetPath(t.config.PAIRGATE_DATA_DIR, base);
      const form = await person.get(link);
      const token = new URL(link, base).searchParams.get('token')!;
      const done = await person.post('/account/reset/confirm', { token, password: 'the new password', next: hiddenNext(form.text)! });
      const signIn = await person.get(href(done.text, '/account/signin?'));
      const signedIn = await person.post('/account/signin', { login: 'device-forgetter', password: 'the new password', next: hiddenNext(signIn.text)! });
      expect(signedIn.location).toBe(consentPath);
      expect((await person.get(signedIn.location!)).text).toContain('action="/device/decide"');
    } finally {
      await t.close();
    }
  });
});
