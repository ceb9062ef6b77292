import type { LightMyRequestResponse } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PasswordResets } from '../../../src/doors/accounts/password-resets.js';
import { createTestApp, type TestApp } from '../../helpers/app.js';

/**
 * The account pages' links carry no `?lang=`: a page speaks the person's own language (the
 * switch's choice, remembered by the pg_lang cookie since f0afc52, else the browser's), and the
 * page a link leads to picks it again by itself. Only the language switch names a language.
 */
describe('the account pages\' links (inject)', () => {
  let t: TestApp;
  /** The cookies an English browser keeps, as a browser would. */
  const jar = new Map<string, string>();
  let csrf = '';

  beforeAll(async () => {
    t = await createTestApp({ PAIRGATE_SCRYPT_COST: '10' });
  });
  afterAll(() => t.close());

  const keep = (response: LightMyRequestResponse): LightMyRequestResponse => {
    for (const cookie of response.cookies as { name: string; value: string }[]) jar.set(cookie.name, cookie.value);
    csrf = /name="_csrf" value="([^"]+)"/.exec(response.body)?.[1] ?? csrf;
    return response;
  };
  const headers = () => ({ 'accept-language': 'en', accept: 'text/html' });
  const get = async (url: string) => keep(await t.app.inject({ url, headers: headers(), cookies: Object.fromEntries(jar) }));
  const post = async (url: string, fields: Record<string, string>) =>
    keep(await t.app.inject({ method: 'POST', url, headers: { ...headers(), 'content-type': 'application/x-www-form-urlencoded' }, cookies: Object.fromEntries(jar), payload: new URLSearchParams({ _csrf: csrf, ...fields }).toString() }));

  /** The hrefs of a page's links, but the language switch's (the one link that names a language). */
  const links = (html: string): string[] =>
    [...html.matchAll(/<a ([^>]*)>/g)].map((match) => match[1]!).filter((attributes) => !attributes.includes('hreflang=')).map((attributes) => /href="([^"]*)"/.exec(attributes)![1]!);
  const expectBare = (response: LightMyRequestResponse, ...expected: string[]) => {
    expect(response.body).toContain('<html lang="fr">');
    for (const href of expected) expect(links(response.body)).toContain(href);
    expect(links(response.body).filter((href) => href.includes('lang='))).toEqual([]);
  };

  it('are bare on every account page, and the page they lead to still speaks the language chosen', async () => {
    // The person switches to French: remembered, so a bare link stays in French.
    const register = await get('/account/register?lang=fr');
    expect(jar.get('pg_lang')).toBe('fr');
    expectBare(register, '/account/signin');
    expect((await get('/account/signin')).body).toContain('<html lang="fr">');
    // With a way back (next), only next is carried.
    expectBare(await get('/account/register?next=%2Faccount%2Fdevices'), `/account/signin?next=${encodeURIComponent('/account/devices')}`);
    expectBare(await get('/account/reset?next=%2Faccount%2Fdevices'));
    expectBare(await post('/account/reset', { login: 'nobody-here', lang: 'fr', next: '/account/devices' }), `/account/signin?next=${encodeURIComponent('/account/devices')}`);
    // The browser keeps the reset request's way back (`ResetReturn`, not the mail): the reset pages carry it on.
    expectBare(await get('/account/reset/confirm?token=not-a-live-token-0123456789'), `/account/reset?next=${encodeURIComponent('/account/devices')}`);

    await get('/account/register');
    expect((await post('/account/register', { username: 'bare-links', email: 'bare-links@example.test', password: 'correct horse battery', lang: 'fr' })).statusCode).toBe(303);
    const user = await t.app.pairgate.stores.db.selectFrom('users').select('id').where('username', '=', 'bare-links').executeTakeFirstOrThrow();
    const token = await new PasswordResets(t.app.pairgate.stores.db, 60_000).issue(user.id, Date.now());
    await get(`/account/reset/confirm?token=${token}`);
    expectBare(await post('/account/reset/confirm', { token, password: 'a new horse battery', lang: 'fr' }), `/account/signin?next=${encodeURIComponent('/account/devices')}`);

    await post('/account/signin', { login: 'bare-links', password: 'a new horse battery', lang: 'fr' });
    expectBare(await get('/account/password'), '/account/delete');
    expectBare(await post('/account/password', { current: 'a new horse battery', password: 'correct horse battery', lang: 'fr' }), '/account/accesses');
    await get('/account/delete');
    expectBare(await post('/account/delete', { password: 'correct horse battery', lang: 'fr' }), '/account/register');
    expect((await get('/account/register')).body).toContain('<html lang="fr">');
  });
});
