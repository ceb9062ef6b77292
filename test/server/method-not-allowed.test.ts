import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, type TestApp } from '../helpers/app.js';

/** A path under a method its routes do not serve is a 405 with Allow (RFC 9110 15.5.6), not a 404 saying there is nothing there. */
describe('a wrong method on a served path: 405 method_not_allowed with Allow', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await createTestApp();
  });
  afterAll(() => t.close());

  it('DELETE /api/v1/grants names the methods the path answers, in the body and the Allow header', async () => {
    const response = await t.app.inject({ method: 'DELETE', url: '/api/v1/grants?x=1' });
    expect(response.statusCode).toBe(405);
    expect(response.headers.allow).toBe('POST, OPTIONS');
    expect(response.json()).toEqual({ error: 'method_not_allowed', message: 'DELETE is not allowed at /api/v1/grants; it answers POST, OPTIONS.' });
  });

  it('PUT on a grant (a path with a parameter) lists GET and the HEAD Fastify serves with it', async () => {
    const response = await t.app.inject({ method: 'PUT', url: '/api/v1/grants/AAAAAAAAAAAAAAAAAAAAAA' });
    expect(response.statusCode).toBe(405);
    expect(response.headers.allow).toBe('GET, HEAD, OPTIONS');
    expect(response.json().error).toBe('method_not_allowed');
  });

  it('HEAD where GET is served is answered, not refused', async () => {
    const response = await t.app.inject({ method: 'HEAD', url: '/healthz' });
    expect(response.statusCode).toBe(200);
  });

  it('OPTIONS on a served path says what it allows, with no body', async () => {
    const response = await t.app.inject({ method: 'OPTIONS', url: '/healthz' });
    expect(response.statusCode).toBe(204);
    expect(response.headers.allow).toBe('GET, HEAD, OPTIONS');
    expect(response.body).toBe('');
  });

  it('a path no method serves stays a 404 route_not_found, without Allow, OPTIONS included', async () => {
    for (const method of ['DELETE', 'OPTIONS', 'GET'] as const) {
      const response = await t.app.inject({ method, url: '/no/such/thing' });
      expect(response.statusCode).toBe(404);
      expect(response.headers.allow).toBeUndefined();
      expect(response.json().error).toBe('route_not_found');
    }
  });

  it('a browser gets the error page, with the 405 and Allow', async () => {
    const response = await t.app.inject({ method: 'POST', url: '/healthz', headers: { accept: 'text/html,*/*;q=0.8' } });
    expect(response.statusCode).toBe(405);
    expect(response.headers.allow).toBe('GET, HEAD, OPTIONS');
    expect(response.headers['content-type']).toBe('text/html; charset=utf-8');
    expect(String(response.headers['content-security-policy'])).toContain("default-src 'self'");
    expect(response.body).toMatch(/^<!doctype html>/);
    // The page's words for people, not the message for programs.
    expect(response.body).toContain('<h1>This address cannot be opened this way</h1>');
    expect(response.body).toContain('a form’s address opened as a link, or a form sent to an address that only shows a page');
    expect(response.body).not.toContain('POST is not allowed');
  });

  it('a French browser (Accept-Language, the remembered pg_lang, ?lang=fr) gets the 405 page in French', async () => {
    const asks = [
      { url: '/account/devices', headers: { 'accept-language': 'fr-FR,fr;q=0.9,en;q=0.8' } },
      { url: '/account/devices', headers: { cookie: 'pg_lang=fr', 'accept-language': 'en' } },
      { url: '/account/devices?lang=fr', headers: { 'accept-language': 'en' } },
    ];
    for (const ask of asks) {
      const response = await t.app.inject({ method: 'POST', url: ask.url, headers: { accept: 'text/html,*/*;q=0.8', ...ask.headers } });
      expect(response.statusCode).toBe(405);
      expect(response.headers.allow).toBe('GET, HEAD, OPTIONS');
      expect(response.body).toContain('<html lang="fr">');
      expect(response.body).toContain('<h1>Cette adresse ne s’ouvre pas de cette façon</h1>');
      // French typography: a no-break space before the colon.
      expect(response.body).toContain('elle ne répond pas\u00a0: l’adresse d’un formulaire ouverte comme un lien');
      expect(response.body).not.toMatch(/is not allowed|This address/);
    }
    // A form too large for the server, sent there, is refused before the 405: the page too, in French.
    const large = await t.app.inject({ method: 'POST', url: '/account/devices', headers: { accept: 'text/html', 'accept-language': 'fr', 'content-type': 'application/x-www-form-urlencoded' }, payload: 'a='.padEnd(3_000_000, 'x') });
    expect(large.statusCode).toBe(413);
    expect(large.headers['content-type']).toBe('text/html; charset=utf-8');
    expect(large.body).toContain('<h1>Le formulaire est trop volumineux</h1>');
    const largeForProgram = await t.app.inject({ method: 'POST', url: '/no/such/thing', headers: { 'content-type': 'application/x-www-form-urlencoded' }, payload: 'a='.padEnd(3_000_000, 'x') });
    expect(largeForProgram.json().error).toBe('payload_too_large');
    // A program asking in French still gets the JSON, its message in English.
    const program = await t.app.inject({ method: 'POST', url: '/account/devices', headers: { 'accept-language': 'fr' } });
    expect(program.json()).toEqual({ error: 'method_not_allowed', message: 'POST is not allowed at /account/devices; it answers GET, HEAD, OPTIONS.' });
  });
});
