import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createRequire } from 'node:module';
import type { Page } from 'playwright-core';
import { build, type Rollup } from 'vite';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, type TestApp } from '../../helpers/app.js';
import { browserSkipReason, useBrowser } from '../../helpers/browser.js';
import { authRequest, FormClient } from './form-client.js';

const skip = browserSkipReason('the access door CORS browser tests');

/**
 * The `pryv` library as a browser loads it: its CommonJS sources bundled into one script that
 * defines `window.pryv` (the package ships no browser build of its own without socket.io).
 */
async function pryvBrowserBundle(): Promise<string> {
  const entry = createRequire(import.meta.url).resolve('pryv');
  const built = await build({
    configFile: false,
    logLevel: 'silent',
    build: { write: false, minify: false, lib: { entry, formats: ['iife'], name: 'pryv', fileName: 'pryv' } },
  });
  const output = (Array.isArray(built) ? built[0] : built) as Rollup.RollupOutput;
  const chunk = output.output.find((item) => item.type === 'chunk');
  if (!chunk || chunk.type !== 'chunk') throw new Error('the pryv bundle has no script');
  return chunk.code;
}

/** What a page's fetch told: the status, the body and the headers it could read, or the error. */
interface Fetched {
  status?: number;
  body?: Record<string, unknown>;
  headers?: Record<string, string | null>;
  error?: string;
}

describe.skipIf(Boolean(skip))(`access door CORS from a web app's page in Chromium${skip ? ` (skipped: ${skip})` : ''}`, () => {
  let t: TestApp;
  let base: string;
  let user: FormClient;
  let appSite: Server;
  let appBase: string;
  const preflights: string[] = [];

  // The third-party app's own site, on another origin (another port): its page and the library.
  beforeAll(async () => {
    const bundle = await pryvBrowserBundle();
    appSite = createServer((request, response) => {
      if (request.url === '/pryv.js') return void response.writeHead(200, { 'content-type': 'text/javascript; charset=utf-8' }).end(bundle);
      response.writeHead(200, { 'content-type': 'text/html; charset=utf-8' }).end('<!doctype html><title>notes app</title><script src="/pryv.js"></script><p>notes</p>');
    });
    await new Promise<void>((resolve) => appSite.listen(0, '127.0.0.1', resolve));
    appBase = `http://127.0.0.1:${(appSite.address() as AddressInfo).port}`;
    t = await createTestApp({ PAIRGATE_SCRYPT_COST: '10' });
    // Every preflight the browser sends, to check the calls really were cross-origin ones.
    t.app.addHook('onRequest', (request, _reply, done) => {
      if (request.method === 'OPTIONS') preflights.push(request.url.split('?')[0]!.replace(/\/access\/[A-Za-z0-9_-]{20,}/, '/access/<key>'));
      done();
    });
    base = await t.listen();
    user = new FormClient(base);
    await user.register('browser-app-user');
  });
  afterAll(async () => {
    await t?.close();
    await new Promise<void>((resolve) => (appSite ? appSite.close(() => resolve()) : resolve()));
  });
  const browser = useBrowser();

  /** The app's page, on its own origin, with the library loaded. */
  const appPage = async (): Promise<{ page: Page; problems: string[] }> => {
    const opened = await browser.newPage();
    await opened.page.goto(`${appBase}/`);
    expect(await opened.page.evaluate(() => typeof (globalThis as unknown as { pryv?: unknown }).pryv)).toBe('object');
    return opened;
  };

  it('plain fetch from the page: POST /access (JSON, preflighted), the poll and the long poll with Prefer, an unknown key\'s 404, the event stream', async () => {
    const { page, problems } = await appPage();
    expect(new URL(page.url()).origin).not.toBe(base);
    const created = await page.evaluate(async ({ url, body }) => {
      try {
        const response = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
        return { status: response.status, body: (await response.json()) as Record<string, unknown> };
      } catch (error) {
        return { error: String(error) };
      }
    }, { url: `${base}/access`, body: authRequest({ requestingAppId: 'browser-notes-app' }) }) as Fetched;
    expect(created.error).toBeUndefined();
    expect(created.status).toBe(201);
    expect(created.body).toMatchObject({ status: 'NEED_SIGNIN', requestingAppId: 'browser-notes-app' });
    const poll = String(created.body!.poll);

    const read = (url: string, headers: Record<string, string> = {}): Promise<Fetched> => page.evaluate(async ({ url, headers }) => {
      try {
        const response = await fetch(url, { headers });
        const names = ['preference-applied', 'retry-after', 'content-type'];
        return { status: response.status, body: (await response.json()) as Record<string, unknown>, headers: Object.fromEntries(names.map((name) => [name, response.headers.get(name)])) };
      } catch (error) {
        return { error: String(error) };
      }
    }, { url, headers });
    const polled = await read(poll);
    expect(polled.error).toBeUndefined();
    expect(polled).toMatchObject({ status: 201, body: { status: 'NEED_SIGNIN' } });
    // Prefer is no safelisted header: the long poll is preflighted, and its answer's header exposed.
    const waited = await read(poll, { prefer: 'wait=1' });
    expect(waited.error).toBeUndefined();
    expect(waited).toMatchObject({ status: 201, headers: { 'preference-applied': 'wait=1' } });
    const unknown = await read(`${base}/access/AAAAAAAAAAAAAAAAAAAAAA`);
    expect(unknown.error).toBeUndefined();
    expect(unknown).toMatchObject({ status: 404, body: { id: 'unknown_key' } });

    // The stream: EventSource is a CORS request too.
    const event = await page.evaluate((url) => new Promise<string>((resolve) => {
      const source = new EventSource(url);
      source.addEventListener('state', (message) => {
        source.close();
        resolve((message as unknown as { data: string }).data);
      });
      source.onerror = () => {
        source.close();
        resolve('error');
      };
    }), `${poll}/events`);
    expect(JSON.parse(event)).toMatchObject({ status: 'NEED_SIGNIN' });

    expect(preflights).toEqual(expect.arrayContaining(['/access', '/access/<key>']));
    expect(problems).toEqual([]);
  });

  it('the pryv library in the page: Service.info, startAccessRequest, pollAccessRequest until ACCEPTED, Connection.accessInfo (Authorization)', async () => {
    const { page, problems } = await appPage();
    const started = await page.evaluate(async (serviceInfoUrl) => {
      const pryv = (globalThis as unknown as { pryv: any }).pryv;
      try {
        const service = new pryv.Service(serviceInfoUrl);
        const info = await service.info();
        const request = await service.startAccessRequest({ requestingAppId: 'browser-pryv-app', requestedPermissions: [{ streamId: 'diary', level: 'read', defaultName: 'Diary' }], languageCode: 'en' });
        const first = await service.pollAccessRequest(request.poll);
        (globalThis as unknown as { service: unknown }).service = service;
        return { name: info.name as string, key: request.key as string, poll: request.poll as string, status: first.status as string };
      } catch (error) {
        return { error: String(error) };
      }
    }, `${base}/service/info`) as { name?: string; key?: string; poll?: string; status?: string; error?: string };
    expect(started.error).toBeUndefined();
    expect(started).toMatchObject({ name: 'pairgate', status: 'NEED_SIGNIN' });

    // The person accepts on pairgate's own page.
    expect((await user.decide(started.key!, 'accept')).status).toBe(200);

    const accessed = await page.evaluate(async (poll) => {
      const pryv = (globalThis as unknown as { pryv: any }).pryv;
      const service = (globalThis as unknown as { service: any }).service;
      try {
        const state = await service.pollAccessRequest(poll);
        const connection = new pryv.Connection(state.apiEndpoint);
        const info = await connection.accessInfo();
        return { status: state.status as string, name: info.name as string, username: info.user?.username as string };
      } catch (error) {
        return { error: String(error) };
      }
    }, started.poll!) as { status?: string; name?: string; username?: string; error?: string };
    expect(accessed.error).toBeUndefined();
    expect(accessed).toEqual({ status: 'ACCEPTED', name: 'browser-pryv-app', username: 'browser-app-user' });
    // The library's POST and its Authorization header were asked about first.
    expect(preflights).toEqual(expect.arrayContaining(['/access/', '/browser-app-user/access-info']));
    expect(problems).toEqual([]);
  });
});
