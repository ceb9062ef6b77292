import { afterEach, describe, expect, it } from 'vitest';
import { securityHeaders } from '../../src/server/security-headers.js';
import { createTestApp, type TestApp } from '../helpers/app.js';
import { lastRawAnswer as parseAnswer, openConnection as open, waitUntil as until, type RawAnswer } from '../helpers/raw-exchange.js';

/**
 * A body that stalls while the server shuts down is answered 503 `shutting_down` on the socket
 * (OpenConnections.endStalledBodies). At a page's form post, a browser asking for HTML first gets
 * the error page, as every other refusal of a page before its handler, not JSON shown as text;
 * programs, and every route that is no page, keep the JSON.
 */

/** The content security policy of every page (a JSON answer has `default-src 'none'`). */
const PAGE_CSP = securityHeaders()['content-security-policy'];

/** What a browser sends with a form post. */
const BROWSER_ACCEPT = 'text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8';

/** A stalled post: the head with `headers`, a Content-Length of 100 and 7 bytes of the body, then silence. */
interface StalledPost {
  path: string;
  type: string;
  headers: string;
}

describe('a body that stalls while the server shuts down (real sockets)', () => {
  let t: TestApp | undefined;
  afterEach(async () => {
    await t?.close();
    t = undefined;
  });

  /** Posts every one of `posts`, lets their bodies stall, closes the server and returns each answer. */
  async function answersAtShutdown(posts: readonly StalledPost[]): Promise<RawAnswer[]> {
    t = await createTestApp({ PAIRGATE_SCRYPT_COST: '10' });
    let seen = 0;
    t.app.addHook('onRequest', (_request, _reply, done) => {
      seen++;
      done();
    });
    const base = await t.listen();
    const connections = await Promise.all(posts.map(({ path, type, headers }) => open(base, `POST ${path} HTTP/1.1\r\nHost: x\r\nContent-Type: ${type}\r\n${headers}Content-Length: 100\r\n\r\nlogin=a`)));
    await until(() => seen === posts.length, 'the stalled requests');
    await t.app.close();
    await Promise.all(connections.map((connection) => connection.closed));
    return connections.map((connection) => parseAnswer(connection.received()));
  }

  it('answers a browser\'s form post to a page with the 503 error page, in the language it asks for, with the page headers', async () => {
    const [french, english, consent] = await answersAtShutdown([
      { path: '/account/signin', type: 'application/x-www-form-urlencoded', headers: `Accept: ${BROWSER_ACCEPT}\r\nAccept-Language: fr-FR,fr;q=0.9,en;q=0.5\r\n` },
      { path: '/account/signin', type: 'application/x-www-form-urlencoded', headers: `Accept: ${BROWSER_ACCEPT}\r\nCookie: pg_lang=en\r\nAccept-Language: fr\r\n` },
      { path: '/access/auth/decide', type: 'application/x-www-form-urlencoded', headers: `Accept: ${BROWSER_ACCEPT}\r\n` },
    ]);
    for (const [answer, where] of [[french!, 'fr'], [english!, 'en'], [consent!, 'consent']] as const) {
      expect(answer.status, where).toBe(503);
      expect(answer.headers['content-type'], where).toBe('text/html; charset=utf-8');
      expect(answer.headers['content-security-policy'], where).toBe(PAGE_CSP);
      expect(answer.headers.connection, where).toBe('close');
      expect(answer.headers['retry-after'], where).toBe('5');
      expect(answer.headers['cache-control'], where).toBe('no-store');
      expect(Number(answer.headers['content-length']), where).toBe(Buffer.byteLength(answer.body));
      expect(answer.body, where).toMatch(/^<!doctype html>/);
    }
    expect(french!.body).toContain('<html lang="fr">');
    expect(french!.body).toContain('<h1>Le service est momentanément indisponible</h1>');
    // The form's page, in the language the error page is in, as every other refused form's.
    expect(french!.body).toContain('href="/account/signin?lang=fr"');
    // The remembered choice outranks Accept-Language, as on every page.
    expect(english!.body).toContain('<html lang="en">');
    expect(english!.body).toContain('<h1>The service is briefly unavailable</h1>');
    // The access consent form: no language asked for, so the default.
    expect(consent!.body).toContain('<html lang="en">');
    expect(consent!.body).toContain('<h1>The service is briefly unavailable</h1>');
  });

  it('keeps the JSON for a program at the page, and for a browser at a route that is no page', async () => {
    const [program, api] = await answersAtShutdown([
      { path: '/account/signin', type: 'application/x-www-form-urlencoded', headers: 'Accept: application/json\r\n' },
      { path: '/api/v1/grants', type: 'application/json', headers: `Accept: ${BROWSER_ACCEPT}\r\n` },
    ]);
    for (const [answer, where] of [[program!, 'program at a page'], [api!, 'browser at the API']] as const) {
      expect(answer.status, where).toBe(503);
      expect(answer.headers['content-type'], where).toBe('application/json; charset=utf-8');
      expect(answer.headers['content-security-policy'], where).toBe("default-src 'none'; frame-ancestors 'none'");
      expect(answer.headers.connection, where).toBe('close');
      expect(JSON.parse(answer.body), where).toEqual({ error: 'shutting_down', message: 'This server is shutting down. Try again in a moment.' });
    }
  });
});
