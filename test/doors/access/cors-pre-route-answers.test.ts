import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, type TestApp } from '../../helpers/app.js';
import { browserSkipReason, useBrowser } from '../../helpers/browser.js';
import { lastRawAnswer as lastAnswer, openConnection as open, waitUntil as until, type RawAnswer } from '../../helpers/raw-exchange.js';

/**
 * The answers given before any route's hooks run (the router's `bad_url`, a shutdown's 503, a
 * stalled body's 503 at shutdown) carry the CORS headers the access door's routes give at the same
 * paths, so a web app's page on another origin reads the error instead of an opaque network
 * failure; the pages and their form posts get none of them.
 */

/** The third-party app's page, on an origin of its own. */
const APP_ORIGIN = 'https://notes-app.example';

/** A malformed %-escape (a UTF-8 sequence cut short, then a lone %): the router refuses it as `bad_url`. */
const MALFORMED = '%E0%A4%A';

/** Checks that `answer` is readable by the app's page: Allow-Origin `*`, no credentials, Retry-After exposed. */
function expectOpen(answer: RawAnswer, where: string): void {
  expect(answer.headers['access-control-allow-origin'], where).toBe('*');
  expect(answer.headers['access-control-allow-credentials'], where).toBeUndefined();
  expect(String(answer.headers['access-control-expose-headers']).split(', '), where).toEqual(expect.arrayContaining(['retry-after', 'preference-applied']));
}

/** Checks that `answer` opens nothing to other origins. */
function expectClosed(answer: RawAnswer, where: string): void {
  const cors = Object.keys(answer.headers).filter((name) => name.startsWith('access-control-'));
  expect(cors, where).toEqual([]);
}

/** What the shutdown's refusal says, in Pryv's shape (the access door's routes) and in pairgate's (a stalled body's, no route's). */
const SHUTTING_DOWN = 'This server is shutting down. Try again in a moment.';
const PRYV_SHUTTING_DOWN = { id: 'shutting_down', message: SHUTTING_DOWN, error: { id: 'shutting_down', message: SHUTTING_DOWN } };
const PAIRGATE_SHUTTING_DOWN = { error: 'shutting_down', message: SHUTTING_DOWN };

/** A test app listening on a real socket that counts the requests its routes have taken (their headers read). */
async function countingApp(): Promise<{ t: TestApp; base: string; seen: () => number }> {
  const t = await createTestApp({ PAIRGATE_SCRYPT_COST: '10' });
  let seen = 0;
  t.app.addHook('onRequest', (_request, _reply, done) => {
    seen++;
    done();
  });
  const base = await t.listen();
  return { t, base, seen: () => seen };
}

/** A request's head, with the app's Origin. */
function head(method: string, path: string, extra = ''): string {
  return `${method} ${path} HTTP/1.1\r\nHost: x\r\nOrigin: ${APP_ORIGIN}\r\n${extra}`;
}

describe('the router\'s bad_url at the access door\'s CORS-open paths (real sockets)', () => {
  let t: TestApp;
  let base: string;
  beforeAll(async () => {
    ({ t, base } = await countingApp());
  });
  afterAll(() => t.close());

  const ask = async (method: string, path: string): Promise<RawAnswer> => {
    const connection = await open(base, `${head(method, path)}Connection: close\r\n\r\n`);
    await connection.closed;
    return lastAnswer(connection.received());
  };

  it('carries Allow-Origin at the poll, its stream, service info and access-info, with the same body as before', async () => {
    for (const [method, path] of [['GET', `/access/${MALFORMED}`], ['HEAD', `/access/${MALFORMED}`], ['GET', `/access/${MALFORMED}/events`], ['GET', `/${MALFORMED}/service/info`], ['GET', `/${MALFORMED}/access-info`], ['GET', `/access/auth${MALFORMED}?wait=1`]] as const) {
      const answer = await ask(method, path);
      expect(answer.status, `${method} ${path}`).toBe(400);
      if (method !== 'HEAD') expect(JSON.parse(answer.body), `${method} ${path}`).toEqual({ error: 'bad_url', message: 'This address has a malformed %-escape. Check the link.' });
      expectOpen(answer, `${method} ${path}`);
    }
  });

  it('carries none at a page\'s form post, for a method the open route does not take, or where no route is', async () => {
    for (const [method, path] of [['POST', `/account/accesses/${MALFORMED}/revoke`], ['POST', `/access/${MALFORMED}`], ['GET', `/account/${MALFORMED}`], ['GET', `/${MALFORMED}`]] as const) {
      const answer = await ask(method, path);
      expect(answer.status, `${method} ${path}`).toBe(400);
      expect(JSON.parse(answer.body), `${method} ${path}`).toMatchObject({ error: 'bad_url' });
      expectClosed(answer, `${method} ${path}`);
    }
  });
});

describe('the 503 shutting_down of a request that arrives while the server shuts down (real sockets)', () => {
  let t: TestApp;
  afterAll(() => t.close());

  it('carries Allow-Origin at service info and the auth request, and none at a page or a form post', async () => {
    const app = await countingApp();
    t = app.t;
    // Each connection holds a request in flight (half its body sent), so the shutdown keeps it;
    // the second request, sent once the shutdown began, arrives behind it.
    const body = '{"label":"kept in flight"}';
    const inFlight = `POST /api/v1/grants HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: ${body.length}\r\n\r\n${body.slice(0, 5)}`;
    const late: Array<[string, string, boolean]> = [
      ['GET', '/service/info', true],
      ['POST', '/access', true],
      ['GET', '/account/signin', false],
      ['POST', '/access/auth/decide', false],
    ];
    const connections = await Promise.all(late.map(() => open(app.base, inFlight)));
    await until(() => app.seen() === late.length, 'the requests in flight');
    const closing = t.app.close();
    // The listener closes once the shutdown has begun (after the preClose hooks).
    await until(() => !t.app.server.listening, 'the shutdown');
    late.forEach(([method, path], index) => {
      const lateBody = method === 'POST' ? '{}' : '';
      connections[index]!.socket.write(`${body.slice(5)}${head(method, path)}Content-Type: application/json\r\nContent-Length: ${lateBody.length}\r\n\r\n${lateBody}`);
    });
    await Promise.all(connections.map((connection) => connection.closed));
    await closing;
    late.forEach(([method, path, cors], index) => {
      const received = connections[index]!.received();
      // The request in flight was answered; the late one refused.
      expect(received, `${method} ${path}`).toMatch(/^HTTP\/1\.1 201/);
      const answer = lastAnswer(received);
      expect(answer.status, `${method} ${path}`).toBe(503);
      expect(answer.headers['retry-after'], `${method} ${path}`).toBe('5');
      expect(answer.body, `${method} ${path}`).toContain('shutting_down');
      // The body as before: only headers were added.
      if (cors) expect(JSON.parse(answer.body), `${method} ${path}`).toEqual(PRYV_SHUTTING_DOWN);
      if (cors) expectOpen(answer, `${method} ${path}`);
      else expectClosed(answer, `${method} ${path}`);
    });
  });
});

describe('the 503 shutting_down of a body that stalls while the server shuts down (real sockets)', () => {
  let t: TestApp;
  afterAll(() => t.close());

  it('carries Allow-Origin at the auth request, and none at the consent and sign-in posts', async () => {
    const app = await countingApp();
    t = app.t;
    const stalled: Array<[string, string, boolean]> = [
      ['/access', 'application/json', true],
      ['/access/auth/decide', 'application/x-www-form-urlencoded', false],
      ['/account/signin', 'application/x-www-form-urlencoded', false],
    ];
    // Content-Length 100, 4 bytes sent, then silence.
    const connections = await Promise.all(stalled.map(([path, type]) => open(app.base, `${head('POST', path)}Content-Type: ${type}\r\nContent-Length: 100\r\n\r\n{"re`)));
    await until(() => app.seen() === stalled.length, 'the stalled requests');
    await t.app.close();
    await Promise.all(connections.map((connection) => connection.closed));
    stalled.forEach(([path, , cors], index) => {
      const answer = lastAnswer(connections[index]!.received());
      expect(answer.status, path).toBe(503);
      expect(answer.headers['retry-after'], path).toBe('5');
      expect(JSON.parse(answer.body), path).toEqual(PAIRGATE_SHUTTING_DOWN);
      if (cors) expectOpen(answer, path);
      else expectClosed(answer, path);
    });
  });
});

const skip = browserSkipReason('the browser case of the access door\'s CORS on answers given before the routes');

describe.skipIf(Boolean(skip))(`the router's bad_url read by a web app's page in Chromium${skip ? ` (skipped: ${skip})` : ''}`, () => {
  let t: TestApp;
  let base: string;
  let appSite: Server;
  let appBase: string;
  beforeAll(async () => {
    // The third-party app's page, on another origin (another port).
    appSite = createServer((_request, response) => response.writeHead(200, { 'content-type': 'text/html; charset=utf-8' }).end('<!doctype html><title>notes app</title><p>notes</p>'));
    await new Promise<void>((resolve) => appSite.listen(0, '127.0.0.1', resolve));
    appBase = `http://127.0.0.1:${(appSite.address() as AddressInfo).port}`;
    ({ t, base } = await countingApp());
  });
  afterAll(async () => {
    await t?.close();
    await new Promise<void>((resolve) => (appSite ? appSite.close(() => resolve()) : resolve()));
  });
  const browser = useBrowser();

  it('a fetch of a poll address with a malformed %-escape reads the 400 bad_url, not a network error', async () => {
    const { page } = await browser.newPage();
    await page.goto(`${appBase}/`);
    const fetched = await page.evaluate(async (url) => {
      try {
        const response = await fetch(url);
        return { status: response.status, body: (await response.json()) as Record<string, unknown> };
      } catch (error) {
        return { error: String(error) };
      }
    }, `${base}/access/${MALFORMED}`);
    expect(fetched).toEqual({ status: 400, body: { error: 'bad_url', message: 'This address has a malformed %-escape. Check the link.' } });
  });
});
