import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, type TestApp } from '../helpers/app.js';

/** The Accept header of a browser sending a form or opening a page. */
const BROWSER = 'text/html,application/xhtml+xml,application/xml;q=0.9,image/avif,image/webp,*/*;q=0.8';

/** A form post as a browser sends it. */
function form(url: string, fields: Record<string, string>, headers: Record<string, string> = {}) {
  return { method: 'POST' as const, url, headers: { accept: BROWSER, 'content-type': 'application/x-www-form-urlencoded', ...headers }, payload: new URLSearchParams(fields).toString() };
}

/** The text of the page's alert (the message), without markup. */
function alertOf(html: string): string {
  return /<p role="alert">([^<]*)<\/p>/.exec(html)?.[1] ?? '';
}

function expectPage(response: { statusCode: number; headers: Record<string, unknown>; body: string }, status: number): void {
  expect(response.statusCode).toBe(status);
  expect(response.headers['content-type']).toBe('text/html; charset=utf-8');
  expect(String(response.headers['content-security-policy'])).toContain("default-src 'self'");
  expect(String(response.headers['content-security-policy'])).toContain("frame-ancestors 'none'");
  expect(response.headers['x-frame-options']).toBe('DENY');
  expect(response.headers['cache-control']).toBe('no-store');
  expect(response.body).toMatch(/^<!doctype html>/);
}

describe('a page refused before its handler shows the error page to a browser, and keeps JSON for programs', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await createTestApp({ PAIRGATE_BODY_LIMIT: '4096' });
  });
  afterAll(() => t.close());

  it('a form field edited to an impossible value: 400 page naming the field, with the way back to the form', async () => {
    const response = await t.app.inject(form('/device', { user_code: 'x'.repeat(101), _csrf: 'token' }));
    expectPage(response, 400);
    expect(response.body).toContain('<h1>This form could not be accepted</h1>');
    expect(alertOf(response.body)).toBe('The form’s field “user_code” holds a value this page does not accept (too long, or not one of its choices). Reload the page and fill in the form again.');
    expect(response.body).toContain('<a class="button secondary" href="/device?lang=en">Back to the page</a>');
    expect(response.body).toContain('<html lang="en">');
    expect(response.headers['set-cookie']).toBeUndefined();
  });

  it('a choice the page never offered (decision=maybe), and a missing field, in the page language asked for', async () => {
    const maybe = await t.app.inject(form('/access/auth/decide', { key: 'k', decision: 'maybe', lang: 'fr' }));
    expectPage(maybe, 400);
    expect(maybe.body).toContain('<html lang="fr">');
    expect(maybe.body).toContain('Ce formulaire n’a pas pu être accepté');
    expect(alertOf(maybe.body)).toContain('Le champ «\u00a0decision\u00a0» du formulaire contient une valeur que cette page n’accepte pas');
    // No page at GET /access/auth/decide: no link back.
    expect(maybe.body).not.toContain('class="button secondary"');
    const missing = await t.app.inject(form('/device', { _csrf: 'token' }, { 'accept-language': 'fr-CH, fr;q=0.9, en;q=0.8' }));
    expectPage(missing, 400);
    expect(alertOf(missing.body)).toBe('Le formulaire est arrivé sans son champ «\u00a0user_code\u00a0». Rechargez la page et envoyez à nouveau le formulaire.');
    expect(missing.body).toContain('href="/device?lang=fr"');
  });

  it('a link whose query the page refuses: a page about the link', async () => {
    const response = await t.app.inject({ url: `/device?user_code=${'x'.repeat(101)}`, headers: { accept: BROWSER } });
    expectPage(response, 400);
    expect(response.body).toContain('This link does not work');
    expect(alertOf(response.body)).toContain('A part of this address (“user_code”) is not one this page accepts');
    // Reloading would be refused again: the way out is the home page.
    expect(response.body).toContain('<a class="button secondary" href="/">Go to the home page</a>');
  });

  it('a body larger than the server takes: 413 page', async () => {
    const response = await t.app.inject(form('/account/signin', { login: 'someone', password: 'p'.repeat(5000) }));
    expectPage(response, 413);
    expect(alertOf(response.body)).toBe('What you sent is larger than this server accepts. Shorten what you typed and send the form again.');
    expect(response.body).toContain('href="/account/signin?lang=en"');
  });

  it('a body of a type no parser takes: 415 page', async () => {
    const response = await t.app.inject({ method: 'POST', url: '/account/register', headers: { accept: BROWSER, 'content-type': 'text/plain' }, payload: 'login=someone' });
    expectPage(response, 415);
    expect(response.body).toContain('This form was sent in a way this page does not accept');
  });

  it('a body no parser reads as the form (bad JSON, or JSON with a __proto__ key): the page says the form could not be read', async () => {
    for (const payload of ['{"login":', '{"login":"someone","__proto__":{}}']) {
      const response = await t.app.inject({ method: 'POST', url: '/account/signin', headers: { accept: BROWSER, 'content-type': 'application/json' }, payload });
      expectPage(response, 400);
      expect(alertOf(response.body), payload).toBe('What your browser sent could not be read as this page’s form. Reload the page and send the form again.');
    }
  });

  it('the relay\'s code form, translated like every page, refuses a bad address in the browser\'s language', async () => {
    const response = await t.app.inject({ url: `/relay/go?code=${'x'.repeat(500)}`, headers: { accept: BROWSER, 'accept-language': 'fr' } });
    expectPage(response, 400);
    expect(response.body).toContain('<html lang="fr">');
    // The code form again, with the refusal (since db63044), not the general error page.
    expect(response.body).toContain('Assistance à distance');
    expect(response.body).toContain('Ce n’est pas un code');
  });

  it('programs keep the route\'s JSON shape: no Accept, */*, or JSON first', async () => {
    for (const accept of [undefined, '*/*', 'application/json', 'application/json, text/html']) {
      const response = await t.app.inject({ ...form('/device', { user_code: 'x'.repeat(101) }), headers: { 'content-type': 'application/x-www-form-urlencoded', ...(accept ? { accept } : {}) } });
      expect(response.statusCode).toBe(400);
      expect(response.headers['content-type']).toBe('application/json; charset=utf-8');
      expect(response.json()).toMatchObject({ error: 'validation_failed', message: 'body.user_code must NOT have more than 100 characters.' });
    }
  });

  it('an API route answers JSON to a browser too', async () => {
    const response = await t.app.inject({ method: 'POST', url: '/api/v1/grants', headers: { accept: BROWSER, 'content-type': 'application/json' }, payload: JSON.stringify({ ttlSeconds: 'soon' }) });
    expect(response.statusCode).toBe(400);
    expect(response.json().error).toBe('validation_failed');
  });

  it('an address nothing answers: a 404 page to a browser, in its language; JSON to a program', async () => {
    const page = await t.app.inject({ url: '/no/such/page?code=abcd', headers: { accept: BROWSER } });
    expectPage(page, 404);
    expect(page.body).toContain('<h1>There is no page here</h1>');
    expect(alertOf(page.body)).toBe('Nothing on this server answers at this address. Check the link, or open it again from where you found it.');
    // The address is not repeated: it may carry a code or a token.
    expect(page.body).not.toContain('abcd');
    const french = await t.app.inject({ url: '/plus/rien', headers: { accept: BROWSER, 'accept-language': 'fr-FR,fr;q=0.9' } });
    expectPage(french, 404);
    expect(french.body).toContain('<html lang="fr">');
    expect(french.body).toContain('Il n’y a pas de page ici');
    const program = await t.app.inject({ url: '/no/such/page', headers: { accept: 'application/json' } });
    expect(program.statusCode).toBe(404);
    expect(program.json().error).toBe('route_not_found');
    expect((await t.app.inject({ url: '/no/such/page' })).json().error).toBe('route_not_found');
  });

  it('what a page\'s handler decides is answered as before (the route\'s own refusal), not the error page', async () => {
    // Schema-valid, no CSRF token: the handler shows its own form again (or its own refusal).
    const response = await t.app.inject(form('/account/signin', { login: 'someone', password: 'secret' }));
    expect(response.statusCode).toBe(403);
    expect(response.body).not.toContain('This form could not be accepted');
  });
});

describe('a page past the rate limit', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await createTestApp({ PAIRGATE_RATE_LIMIT_MAX: '1', PAIRGATE_RATE_LIMIT_WINDOW_SECONDS: '120' });
  });
  afterAll(() => t.close());

  it('shows a 429 page with the wait in words and Retry-After; a program gets the JSON', async () => {
    await t.app.inject({ url: '/account/signin', headers: { accept: BROWSER } });
    const page = await t.app.inject({ url: '/account/signin?lang=fr', headers: { accept: BROWSER } });
    expectPage(page, 429);
    expect(page.headers['retry-after']).toMatch(/^\d+$/);
    expect(page.body).toContain('Trop de requêtes');
    expect(alertOf(page.body)).toBe('Trop de requêtes sont venues de votre réseau. Attendez 2 minutes, puis réessayez.');
    const json = await t.app.inject({ url: '/account/signin' });
    expect(json.statusCode).toBe(429);
    expect(json.json().error).toBe('rate_limited');
    const home = await t.app.inject({ url: '/', headers: { accept: BROWSER } });
    expectPage(home, 429);
    expect(alertOf(home.body)).toBe('Too many requests came from your network. Wait 2 minutes, then try again.');
  });
});
