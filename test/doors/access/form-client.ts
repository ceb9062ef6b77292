import { beforeAll, expect } from 'vitest';
import type { GrantEngine } from '../../../src/engine/grant-engine.js';
import { listeningTestApp, useListeningApp, type TestApp, type TestAppEnv } from '../../helpers/app.js';
import { aroundApprove } from '../../helpers/engine-hooks.js';

/**
 * A small browser stand-in over real sockets: keeps cookies, reads the CSRF token out of each
 * page and posts forms the way the pages do, without following redirects (tests look at them).
 */
export class FormClient {
  readonly cookies = new Map<string, string>();
  lastCsrf = '';

  constructor(readonly base: string, readonly headers: Record<string, string> = {}) {}

  private cookieHeader(): string {
    return [...this.cookies].map(([name, value]) => `${name}=${value}`).join('; ');
  }

  private remember(response: Response): void {
    for (const line of response.headers.getSetCookie()) {
      const [pair = ''] = line.split(';');
      const at = pair.indexOf('=');
      const name = pair.slice(0, at).trim();
      const value = pair.slice(at + 1).trim();
      if (value === '' || /expires=Thu, 01 Jan 1970/i.test(line)) this.cookies.delete(name);
      else this.cookies.set(name, value);
    }
  }

  /** GET a path (or absolute URL); returns status, body and the redirect target. */
  async get(path: string): Promise<{ status: number; text: string; location: string | null; headers: Headers }> {
    const response = await fetch(path.startsWith('http') ? path : `${this.base}${path}`, { redirect: 'manual', headers: { ...this.headers, cookie: this.cookieHeader() } });
    this.remember(response);
    const text = await response.text();
    const csrf = /name="_csrf" value="([^"]+)"/.exec(text)?.[1];
    if (csrf) this.lastCsrf = csrf;
    return { status: response.status, text, location: response.headers.get('location'), headers: response.headers };
  }

  /** POST a form (urlencoded) with the last CSRF token unless `_csrf` is given. */
  async post(path: string, fields: Record<string, string>): Promise<{ status: number; text: string; location: string | null; headers: Headers }> {
    const body = new URLSearchParams({ _csrf: this.lastCsrf, ...fields });
    const response = await fetch(`${this.base}${path}`, {
      method: 'POST',
      redirect: 'manual',
      headers: { ...this.headers, 'content-type': 'application/x-www-form-urlencoded', cookie: this.cookieHeader() },
      body,
    });
    this.remember(response);
    const text = await response.text();
    const csrf = /name="_csrf" value="([^"]+)"/.exec(text)?.[1];
    if (csrf) this.lastCsrf = csrf;
    return { status: response.status, text, location: response.headers.get('location'), headers: response.headers };
  }

  /** Registers (and so signs in) an account. */
  async register(username: string, password = 'correct horse battery', email = `${username}@example.test`): Promise<void> {
    await this.get('/account/register');
    const result = await this.post('/account/register', { username, email, password });
    if (result.status !== 303) throw new Error(`register failed: ${result.status} ${result.text.slice(0, 500)}`);
  }

  /** Signs in on the account page. */
  async signIn(login: string, password: string): Promise<{ status: number; text: string; location: string | null }> {
    await this.get('/account/signin');
    return this.post('/account/signin', { login, password });
  }

  /** Opens the auth page of `key` and decides (the user must be signed in). */
  async decide(key: string, decision: 'accept' | 'refuse'): Promise<{ status: number; text: string; location: string | null }> {
    const page = await this.get(`/access/auth?key=${key}`);
    if (page.status !== 200 || !page.text.includes('/access/auth/decide')) throw new Error(`no consent screen: ${page.status} ${page.location ?? ''} ${page.text.slice(0, 300)}`);
    return this.post('/access/auth/decide', { key, decision });
  }
}

/** POSTs JSON and returns status and parsed body. */
export async function postJson(url: string, body: unknown, headers: Record<string, string> = {}): Promise<{ status: number; body: Record<string, unknown> }> {
  const response = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: typeof body === 'string' ? body : JSON.stringify(body) });
  return { status: response.status, body: (await response.json()) as Record<string, unknown> };
}

/** GETs JSON and returns status and parsed body. */
export async function getJson(url: string, headers: Record<string, string> = {}): Promise<{ status: number; body: Record<string, unknown> }> {
  const response = await fetch(url, { headers });
  return { status: response.status, body: (await response.json()) as Record<string, unknown> };
}

/** A typical auth request body. */
export function authRequest(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    requestingAppId: 'test-app-id',
    requestedPermissions: [{ streamId: 'diary', level: 'read', defaultName: 'Diary' }],
    languageCode: 'en',
    ...overrides,
  };
}

/** A listening test app and a FormClient registered (and so signed in) on it. */
export interface RegisteredUser {
  readonly t: TestApp;
  readonly base: string;
  readonly user: FormClient;
}

/**
 * Starts a test app with `env` (and `options`, a clock say) before the tests of the calling describe block, registers
 * `username` on it with a FormClient, and closes the app after; the fields are there from the
 * first test on.
 */
export function useRegisteredUser(username: string, env: TestAppEnv = {}, options: Parameters<typeof listeningTestApp>[1] = {}): RegisteredUser {
  const served = useListeningApp(env, options);
  let user: FormClient | undefined;
  // Runs after useListeningApp's beforeAll, which starts the app: hooks run in the order declared.
  beforeAll(async () => {
    user = new FormClient(served.base);
    await user.register(username);
  });
  return {
    get t() {
      return served.t;
    },
    get base() {
      return served.base;
    },
    get user() {
      return user!;
    },
  };
}

/**
 * A user registered on the first of `bases` and signed in on every one: one session, its cookies
 * copied onto a client per base, as the nodes of one store set-up share sessions. Call it inside a
 * test: `listeningNodes` fills `bases` once its nodes listen.
 */
export async function signedInUser(bases: readonly string[], username: string): Promise<FormClient[]> {
  const first = new FormClient(bases[0]!);
  await first.register(username);
  return bases.map((base, i) => {
    if (i === 0) return first;
    const client = new FormClient(base);
    for (const [name, value] of first.cookies) client.cookies.set(name, value);
    return client;
  });
}

/**
 * Accept pressed twice on the consent screen of `key`, the second press recorded while the first
 * is about to be: the first has written its token and changed the access, the second is recorded
 * first, and the first then loses. The answers of both presses, first the one that lost.
 */
export async function acceptTwiceAtOnce(engine: GrantEngine, user: FormClient, key: string): Promise<{ lost: { status: number }; won: { status: number }; approvals: number }> {
  let won: { status: number } | undefined;
  let approvals = 0;
  const lost = await aroundApprove(engine, async (approve, id, result) => {
    approvals += 1;
    if (approvals === 1) won = await user.post('/access/auth/decide', { key, decision: 'accept' });
    return approve(id, result);
  }, () => user.post('/access/auth/decide', { key, decision: 'accept' }));
  return { lost, won: won!, approvals };
}

/** Makes an auth request and has `client` accept it (on its node); the token its poll answers. */
export async function acceptedToken(client: FormClient, request: Record<string, unknown>): Promise<string> {
  const created = await postJson(`${client.base}/access`, authRequest(request));
  expect((await client.decide(String(created.body.key), 'accept')).status).toBeLessThan(400);
  const answer = await getJson(String(created.body.poll));
  expect(answer.body).toMatchObject({ status: 'ACCEPTED' });
  return String(answer.body.token);
}
