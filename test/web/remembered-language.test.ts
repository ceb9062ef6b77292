import type { FastifyRequest } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { languageToRemember, requestedLanguage } from '../../src/web/page-language.js';
import { createTestApp, type TestApp } from '../helpers/app.js';

/** The language a page's HTML is written in (`<html lang>`). */
function pageLanguage(html: string): string | undefined {
  return /<html lang="([^"]+)">/.exec(html)?.[1];
}

/** The language cookies an answer sets (name, value and attributes as light-my-request reads them). */
function languageCookies(answer: { cookies: { name: string }[] }): Record<string, unknown>[] {
  return answer.cookies.filter((cookie) => cookie.name.endsWith('pg_lang')) as unknown as Record<string, unknown>[];
}

describe('the language a page remembers from its switch', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await createTestApp();
  });
  afterAll(() => t.close());

  /** GET `url` with an English browser, optionally carrying `cookie`. */
  const open = (url: string, headers: Record<string, string> = {}) => t.app.inject({ method: 'GET', url, headers: { 'accept-language': 'en-GB,en;q=0.9', ...headers } });

  it('the switch (?lang=fr) remembers French in a long-lived, non-script, same-site cookie on the whole site, and the page is never stored', async () => {
    const page = await open('/boxes?lang=fr');
    expect(page.statusCode).toBe(200);
    expect(pageLanguage(page.body)).toBe('fr');
    expect(languageCookies(page)).toEqual([{ name: 'pg_lang', value: 'fr', path: '/', maxAge: 31_536_000, httpOnly: true, sameSite: 'Lax' }]);
    expect(page.headers['cache-control']).toBe('no-store');
  });

  it('a bare address then comes back in the remembered language, over the browser\'s, and is never stored either', async () => {
    const page = await open('/boxes', { cookie: 'pg_lang=fr' });
    expect(pageLanguage(page.body)).toBe('fr');
    expect(page.headers['cache-control']).toBe('no-store');
    // Already remembered: nothing set again.
    expect(languageCookies(page)).toEqual([]);
    const home = await open('/', { cookie: 'pg_lang=fr' });
    expect(pageLanguage(home.body)).toBe('fr');
    const signin = await open('/account/signin', { cookie: 'pg_lang=fr' });
    expect(pageLanguage(signin.body)).toBe('fr');
  });

  it('precedence: ?lang= over the remembered choice over Accept-Language over English', async () => {
    // ?lang= wins over the cookie, and becomes the remembered choice.
    const asked = await open('/boxes?lang=en', { cookie: 'pg_lang=fr', 'accept-language': 'fr' });
    expect(pageLanguage(asked.body)).toBe('en');
    expect(languageCookies(asked)).toMatchObject([{ name: 'pg_lang', value: 'en' }]);
    // The cookie wins over Accept-Language.
    expect(pageLanguage((await open('/boxes', { cookie: 'pg_lang=en', 'accept-language': 'fr' })).body)).toBe('en');
    // Without either, Accept-Language; without that, English.
    expect(pageLanguage((await open('/boxes', { 'accept-language': 'fr-CA,fr;q=0.9' })).body)).toBe('fr');
    expect(pageLanguage((await t.app.inject({ method: 'GET', url: '/boxes' })).body)).toBe('en');
  });

  it('a link in the language the browser gets anyway sets nothing (only a choice that changes something is remembered)', async () => {
    const french = await open('/boxes?lang=fr', { 'accept-language': 'fr' });
    expect(pageLanguage(french.body)).toBe('fr');
    expect(languageCookies(french)).toEqual([]);
    const again = await open('/boxes?lang=fr', { cookie: 'pg_lang=fr' });
    expect(languageCookies(again)).toEqual([]);
  });

  it('an unknown ?lang= is ignored: nothing remembered, the page in the language it would have had', async () => {
    for (const lang of ['xx', 'de', 'fr%3Bpath%3D%2Fx', 'fr-CA', '%3Cscript%3E', '']) {
      const page = await open(`/boxes?lang=${lang}`, { cookie: 'pg_lang=fr' });
      expect(page.statusCode, lang).toBe(200);
      expect(languageCookies(page), lang).toEqual([]);
      const fresh = await open(`/boxes?lang=${lang}`);
      expect(languageCookies(fresh), lang).toEqual([]);
    }
    expect(pageLanguage((await open('/boxes?lang=de', { cookie: 'pg_lang=fr' })).body)).toBe('fr');
    expect(pageLanguage((await open('/boxes?lang=de')).body)).toBe('en');
  });

  it('a cookie holding anything but a known language is ignored: Accept-Language decides', async () => {
    for (const value of ['xx', 'de', 'frogs', 'fr-CA', '%3Cb%3E']) {
      const page = await open('/boxes', { cookie: `pg_lang=${value}`, 'accept-language': 'en' });
      expect(pageLanguage(page.body), value).toBe('en');
    }
  });

  it('a form that carries its page\'s language (a POST) remembers nothing', async () => {
    const signin = await open('/account/signin?lang=fr', { 'accept-language': 'fr' });
    const cookie = signin.cookies.map((c) => `${c.name}=${c.value}`).join('; ');
    const csrf = /name="_csrf" value="([^"]+)"/.exec(signin.body)![1]!;
    const refused = await t.app.inject({
      method: 'POST',
      url: '/account/signin?lang=fr',
      headers: { cookie, 'content-type': 'application/x-www-form-urlencoded', 'sec-fetch-site': 'same-origin', 'accept-language': 'en' },
      payload: new URLSearchParams({ _csrf: csrf, lang: 'fr', login: 'nobody-here', password: 'not the password' }).toString(),
    });
    expect(pageLanguage(refused.body)).toBe('fr');
    expect(languageCookies(refused)).toEqual([]);
  });

  it('the error page of an unknown address speaks the remembered language', async () => {
    const missing = await open('/no-such-page', { cookie: 'pg_lang=fr', accept: 'text/html' });
    expect(missing.statusCode).toBe(404);
    expect(pageLanguage(missing.body)).toBe('fr');
  });

  it('the error page of an address the router refuses before any route (bad_url, uri_too_long) speaks the remembered language, read from the raw Cookie header', async () => {
    const bad = await open('/access/%E0%A4%A', { cookie: 'pg_lang=fr', accept: 'text/html' });
    expect(bad.statusCode).toBe(400);
    expect(bad.headers['content-type']).toMatch(/^text\/html/);
    expect(pageLanguage(bad.body)).toBe('fr');
    expect(bad.body).toContain('<h1>Ce lien ne fonctionne pas</h1>');
    const long = await open(`/access/${'a'.repeat(150)}`, { cookie: 'theme=dark; pg_lang=fr', accept: 'text/html' });
    expect(long.statusCode).toBe(414);
    expect(pageLanguage(long.body)).toBe('fr');
    // Without the cookie, the English browser's language; a program still gets the JSON.
    const english = await open('/access/%E0%A4%A', { accept: 'text/html' });
    expect(pageLanguage(english.body)).toBe('en');
    expect(english.body).toContain('<h1>This link does not work</h1>');
    expect((await open('/access/%E0%A4%A', { cookie: 'pg_lang=fr' })).json()).toEqual({ error: 'bad_url', message: expect.any(String) });
  });

  it('the person\'s remembered choice outranks the language an app prefers for its page; ?lang= outranks both', () => {
    const request = (fields: { query?: object; cookies?: Record<string, string>; headers?: Record<string, string> }) =>
      ({ query: {}, body: undefined, cookies: {}, headers: {}, ...fields }) as unknown as FastifyRequest;
    expect(requestedLanguage(request({ cookies: { pg_lang: 'fr' } }), 'en')).toBe('fr');
    expect(requestedLanguage(request({ headers: { 'accept-language': 'fr' } }), 'en')).toBe('en');
    expect(requestedLanguage(request({ query: { lang: 'en' }, cookies: { pg_lang: 'fr' } }), 'fr')).toBe('en');
    // Over https the __Host- cookie, which no sibling subdomain can plant, is read first.
    expect(requestedLanguage(request({ cookies: { 'pg_lang': 'en', '__Host-pg_lang': 'fr' } }))).toBe('fr');
  });

  it('a ?lang= naming the language the page prefers (an app\'s, passed in by the page) is not remembered; naming another one is', () => {
    const get = (fields: { method?: string; query?: object; cookies?: Record<string, string>; headers?: Record<string, string> }) =>
      ({ method: 'GET', query: {}, body: undefined, cookies: {}, headers: { 'accept-language': 'en' }, ...fields }) as unknown as FastifyRequest;
    const french = get({ query: { lang: 'fr' } });
    // The app prefers French: its link's ?lang=fr is the app's choice, the bare address would be French anyway.
    expect(languageToRemember(french, 'fr', 'fr')).toBeUndefined();
    expect(languageToRemember(french, 'fr', 'FR')).toBeUndefined();
    // No preference given: the English browser's ?lang=fr is the person's choice.
    expect(languageToRemember(french, 'fr')).toBe('fr');
    // The app prefers English: ?lang=fr changes something, so it is remembered.
    expect(languageToRemember(french, 'fr', 'en')).toBe('fr');
    // Nothing is kept between calls: the same request asked again without the preference remembers it.
    expect(languageToRemember(french, 'fr', 'fr')).toBeUndefined();
    expect(languageToRemember(french, 'fr')).toBe('fr');
    // A HEAD is answered as the GET, headers included; a POST remembers nothing.
    expect(languageToRemember(get({ method: 'HEAD', query: { lang: 'fr' } }), 'fr')).toBe('fr');
    expect(languageToRemember(get({ method: 'POST', query: { lang: 'fr' } }), 'fr')).toBeUndefined();
  });

  it('a HEAD of a page with ?lang= sets the same pg_lang cookie as its GET, and a HEAD that changes nothing sets none', async () => {
    const head = await t.app.inject({ method: 'HEAD', url: '/boxes?lang=fr', headers: { 'accept-language': 'en' } });
    expect(head.statusCode).toBe(200);
    expect(head.body).toBe('');
    const get = await open('/boxes?lang=fr');
    expect(languageCookies(head)).toEqual(languageCookies(get));
    expect(languageCookies(head)).toMatchObject([{ name: 'pg_lang', value: 'fr' }]);
    const same = await t.app.inject({ method: 'HEAD', url: '/boxes?lang=fr', headers: { 'accept-language': 'en', cookie: 'pg_lang=fr' } });
    expect(languageCookies(same)).toEqual([]);
  });
});

describe('the remembered language over https', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await createTestApp({ PAIRGATE_PUBLIC_URL: 'https://pairgate.example.test' });
  });
  afterAll(() => t.close());

  it('is a __Host- cookie (Secure, Path=/, no Domain), which a sibling subdomain cannot plant, and it is read back', async () => {
    const page = await t.app.inject({ method: 'GET', url: '/boxes?lang=fr', headers: { 'accept-language': 'en' } });
    expect(languageCookies(page)).toEqual([{ name: '__Host-pg_lang', value: 'fr', path: '/', maxAge: 31_536_000, httpOnly: true, secure: true, sameSite: 'Lax' }]);
    const next = await t.app.inject({ method: 'GET', url: '/boxes', headers: { 'accept-language': 'en', cookie: '__Host-pg_lang=fr' } });
    expect(pageLanguage(next.body)).toBe('fr');
    const bad = await t.app.inject({ method: 'GET', url: '/access/%E0%A4%A', headers: { 'accept-language': 'en', accept: 'text/html', cookie: '__Host-pg_lang=fr' } });
    expect(pageLanguage(bad.body)).toBe('fr');
  });
});
