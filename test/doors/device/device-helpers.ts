import type { FastifyInstance } from 'fastify';
import { UserStore } from '../../../src/doors/accounts/users.js';
import type { User } from '../../../src/doors/accounts/users.js';
import { DEVICE_GRANT_TYPE } from '../../../src/doors/device/device-grant.js';
import { FormClient } from '../access/form-client.js';

/** Clients every device test registers. */
export const CLIENTS = JSON.stringify({
  'tv-app': 'Living-room TV',
  cli: { name: 'pairgate CLI', scopes: ['read', 'write'] },
});

/** The introspection secret device tests configure: without one, /oauth/introspect refuses everyone. */
export const INTROSPECTION_SECRET = 'test-introspection-secret-0123456789';

/** The header a resource server sends to /oauth/introspect with that secret. */
export const INTROSPECTION_AUTH = { authorization: `Bearer ${INTROSPECTION_SECRET}` };

/** Configuration of device tests (fast password hashing, the clients above, the introspection secret). */
export const DEVICE_ENV = { PAIRGATE_SCRYPT_COST: '10', PAIRGATE_DEVICE_CLIENTS: CLIENTS, PAIRGATE_DEVICE_INTROSPECTION_SECRET: INTROSPECTION_SECRET };

/** An inject answer, parsed. */
export interface Answer {
  status: number;
  body: Record<string, unknown>;
  headers: Record<string, unknown>;
}

/** POSTs a form to `url` by inject. */
export async function postForm(app: FastifyInstance, url: string, fields: Record<string, string>, headers: Record<string, string> = {}): Promise<Answer> {
  const response = await app.inject({ method: 'POST', url, headers: { 'content-type': 'application/x-www-form-urlencoded', ...headers }, payload: new URLSearchParams(fields).toString() });
  return { status: response.statusCode, body: response.body ? (response.json() as Record<string, unknown>) : {}, headers: response.headers };
}

/** Starts a device authorization for `client_id`. */
export async function authorize(app: FastifyInstance, clientId = 'tv-app', scope?: string): Promise<Answer> {
  return postForm(app, '/oauth/device_authorization', { client_id: clientId, ...(scope !== undefined ? { scope } : {}) }, { 'user-agent': 'DeviceTest/1.0' });
}

/** A token request with the device code. */
export async function pollToken(app: FastifyInstance, deviceCode: string, clientId = 'tv-app'): Promise<Answer> {
  return postForm(app, '/oauth/token', { grant_type: DEVICE_GRANT_TYPE, device_code: deviceCode, client_id: clientId });
}

/** The grant id inside a device code. */
export function grantIdOf(deviceCode: string): string {
  return deviceCode.split('.')[0]!;
}

/** Creates an account directly in the store (the pages are tested elsewhere). */
export async function createUser(app: FastifyInstance, username: string): Promise<User> {
  const users = new UserStore(app.pairgate.stores.db);
  return users.create({ username, email: `${username}@example.test`, passwordHash: 'not-a-real-hash' }, Date.now());
}

/** Approves the device authorization of `deviceCode` as `user`, through the engine. */
export async function approve(app: FastifyInstance, deviceCode: string, user: User): Promise<void> {
  await app.pairgate.engine.approve(grantIdOf(deviceCode), { status: 'approved', userId: user.id, username: user.username });
}

/** Denies it, through the engine. */
export async function deny(app: FastifyInstance, deviceCode: string, user: User): Promise<void> {
  await app.pairgate.engine.refuse(grantIdOf(deviceCode), { status: 'denied', username: user.username });
}

/** The admin token device admin tests configure (PAIRGATE_DEVICE_ADMIN_TOKEN). */
export const ADMIN_TOKEN = 'test-admin-token-0123456789-abcdefghij';

/** A call of the device client admin API over a real socket; `token` null sends no Authorization. */
export async function adminCall(base: string, method: string, path: string, body?: unknown, token: string | null = ADMIN_TOKEN): Promise<{ status: number; body: Record<string, unknown>; headers: Headers }> {
  const response = await fetch(`${base}/api/v1/device/clients${path}`, {
    method,
    headers: { ...(token !== null ? { authorization: `Bearer ${token}` } : {}), ...(body !== undefined ? { 'content-type': 'application/json' } : {}) },
    ...(body !== undefined ? { body: typeof body === 'string' ? body : JSON.stringify(body) } : {}),
  });
  const text = await response.text();
  return { status: response.status, body: text ? (JSON.parse(text) as Record<string, unknown>) : {}, headers: response.headers };
}

/**
 * A person in a browser (real sockets): types `userCode` on /device, signs in as `login`, and
 * decides on the consent screen. Returns the consent page and the decision's page; when the consent
 * screen is not reached, the page shown instead (`consent` undefined).
 */
export async function decideInBrowser(base: string, userCode: string, login: string, password: string, decision: 'approve' | 'deny' = 'approve'): Promise<{ consent?: string; done?: string; stopped?: { status: number; text: string } }> {
  const browser = new FormClient(base);
  await browser.get('/device');
  const typed = await browser.post('/device', { user_code: userCode });
  if (typed.status !== 303) return { stopped: typed };
  const signin = await browser.get(typed.location!);
  if (signin.status !== 200) return { stopped: signin };
  const key = /name="key" value="([^"]+)"/.exec(signin.text)![1]!;
  const signedIn = await browser.post('/device/signin', { key, login, password });
  if (signedIn.status !== 303) return { stopped: signedIn };
  const consent = await browser.get(signedIn.location!);
  if (consent.status !== 200) return { stopped: consent };
  const done = await browser.post('/device/decide', { key, decision });
  return { consent: consent.text, done: done.text };
}

/** A refresh (RFC 6749 §6) by inject; `scope` only when given. */
export async function refreshToken(app: FastifyInstance, token: string, clientId = 'tv-app', scope?: string): Promise<Answer> {
  return postForm(app, '/oauth/token', { grant_type: 'refresh_token', refresh_token: token, client_id: clientId, ...(scope !== undefined ? { scope } : {}) });
}

/** Introspects `token` as a resource server holding the secret of DEVICE_ENV, by inject. */
export async function introspect(app: FastifyInstance, token: string): Promise<Answer> {
  return postForm(app, '/oauth/introspect', { token }, INTROSPECTION_AUTH);
}

/** Whether `token` introspects as active, by inject. */
export async function isActive(app: FastifyInstance, token: string): Promise<boolean> {
  return (await introspect(app, token)).body.active === true;
}

/** Connects a device of `clientId` to `user` (authorize, approve through the engine, redeem): the token answer. */
export async function connectDevice(app: FastifyInstance, user: User, clientId = 'tv-app', scope?: string): Promise<Answer> {
  const device = await authorize(app, clientId, scope);
  await approve(app, String(device.body.device_code), user);
  return pollToken(app, String(device.body.device_code), clientId);
}
