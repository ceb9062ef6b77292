import Fastify, { type FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { installCookies } from '../../src/server/cookies.js';
import { createTestApp, type TestApp } from '../helpers/app.js';

describe('cookies read on first use and set at once (cookies.ts)', () => {
  let app: FastifyInstance;
  let parsedBeforeAsked: unknown[] = [];
  beforeAll(async () => {
    app = Fastify();
    installCookies(app);
    app.get('/read', async (request) => {
      parsedBeforeAsked.push(request.cookiesParsed);
      return { cookies: request.cookies, again: request.cookies === request.cookies };
    });
    app.get('/set', async (request, reply) => {
      reply.setCookie('a', 'one two', { path: '/', httpOnly: true });
      reply.setCookie('b', '2', { path: '/x', secure: true, sameSite: 'strict', maxAge: 60 });
      // A cookie set now is visible to the rest of the request.
      (request.cookies as Record<string, string>).a = 'one two';
      return { a: request.cookies.a };
    });
    app.get('/clear', async (_request, reply) => reply.clearCookie('gone', { secure: true }).send({ ok: true }));
    await app.ready();
  });
  afterAll(() => app.close());

  it('parses the Cookie header only when a route asks, once per request, percent-decoded; none without the header', async () => {
    parsedBeforeAsked = [];
    const read = await app.inject({ url: '/read', headers: { cookie: 'pg_lang=fr; x=a%20b; bad=%E0%A4%A' } });
    expect(read.json()).toEqual({ cookies: { pg_lang: 'fr', x: 'a b', bad: '%E0%A4%A' }, again: true });
    expect((await app.inject({ url: '/read' })).json()).toEqual({ cookies: {}, again: true });
    expect(parsedBeforeAsked).toEqual([null, null]);
  });

  it('sets each cookie as its own Set-Cookie header, SameSite=Lax unless told otherwise', async () => {
    const set = await app.inject({ url: '/set' });
    expect(set.headers['set-cookie']).toEqual(['a=one%20two; Path=/; HttpOnly; SameSite=Lax', 'b=2; Max-Age=60; Path=/x; Secure; SameSite=Strict']);
    expect(set.json()).toEqual({ a: 'one two' });
  });

  it('clears a cookie with an empty value that has already expired, on the path and with the Secure it was set with', async () => {
    const clear = await app.inject({ url: '/clear' });
    expect(clear.cookies).toEqual([{ name: 'gone', value: '', path: '/', maxAge: 0, expires: new Date(0), secure: true, sameSite: 'Lax' }]);
  });
});

describe('the API runs no cookie hook', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await createTestApp();
    await t.app.ready();
  });
  afterAll(() => t.close());

  // Cookie hooks on every route cost the API 3% of a creation (bench/), and an onSend hook keeps
  // every JSON answer on Fastify's slower path: grant creation runs none.
  it('grant creation has no onSend hook, and its onRequest hooks read no cookie', async () => {
    const routes = t.app.printRoutes({ includeHooks: true, commonPrefix: false }).split('\n');
    const at = routes.findIndex((line) => /api\/v1\/grants \(POST\)/.test(line));
    expect(at).toBeGreaterThan(-1);
    const hooks = routes.slice(at + 1).filter((line, i, all) => all.slice(0, i + 1).every((l) => l.includes('•'))).join('\n');
    expect(hooks).toContain('(onRequest)');
    expect(hooks).not.toContain('(onSend)');
    expect(hooks.toLowerCase()).not.toContain('cookie');
  });

  it('a page still gets its CSRF cookie, and a browser that sends it back is read', async () => {
    const page = await t.app.inject({ url: '/account/signin' });
    const csrf = page.cookies.find((cookie) => cookie.name === 'pg_csrf');
    expect(csrf).toMatchObject({ httpOnly: true, sameSite: 'Lax', path: '/' });
    const again = await t.app.inject({ url: '/account/signin', headers: { cookie: `pg_csrf=${csrf!.value}` } });
    expect(again.cookies.find((cookie) => cookie.name === 'pg_csrf')).toBeUndefined();
    expect(again.body).toContain(`value="${csrf!.value}"`);
  });
});
