import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Resolver } from 'node:dns/promises';
import type { InjectOptions, LightMyRequestResponse } from 'fastify';
import { expect } from 'vitest';
import { ManualClock } from '../../src/core/clock.js';
import { accountsOf } from '../../src/doors/accounts/accounts.js';
import { dnsRuntimeOf } from '../../src/doors/dns/dns-door.js';
import { signWebhook } from '../../src/doors/install/webhook/webhook-signature.js';
import { initBoxIdentity, type BoxIdentity } from '../../src/doors/registry/box-identity.js';
import { supportRelayDoor } from '../../src/doors/support/relay-door.js';
import { DnsUpdateClient } from '../../src/sdk/dns-update.js';
import { signAnnouncement } from '../../src/sdk/registry.js';
import { connectAgent, SupportOriginClient } from '../../src/sdk/support.js';
import { createTestApp, type TestApp } from '../helpers/app.js';
import { outboxMails, resetToken } from '../doors/access/outbox.js';
import { callRequest, mattermostId, mattermostJwt } from '../doors/install/install-helpers.js';

/**
 * The secret sweeps' shared driver (test/e2e/log-secrets-sweep.test.ts: no secret reaches a log;
 * test/e2e/store-secrets-sweep.test.ts: no secret is stored in plain form). One app with every door
 * on (the DNS door included, on free ports) and a relay of its own drive one realistic flow per door
 * and a few failing requests. Every request goes through `send`, which remembers every secret it sees
 * on the way in (Authorization headers, cookies, secret-named fields of bodies and query strings) and
 * on the way out (cookies, CSRF tokens, secret-named fields of successful JSON answers); the flows add
 * what only they know (a reset token read from the outbox, a code in each spelling a person may type).
 *
 * Not secret, and never collected: the ids of grants (the device consent form's `key`, which names a
 * refresh token family in the log when a token is presented twice), installations and organizations
 * (found by id, each guarded by a credential of its own: a session, a signature, a signed JWT), public
 * keys and certificate fingerprints (the registry's and DNS door's box identities: public by design).
 */


/** Secrets shorter than this are not searched for: a few random characters occur in any text by chance. */
export const MIN_SECRET_LENGTH = 6;

/**
 * Needles shorter than this count only as a whole word (see `findSecret`): six to nine characters
 * of a code's alphabet occur by chance in the base64url of the hashes around them about once in a
 * few thousand runs, and failed a sweep that way; ten are 2^50 to one.
 */
const WHOLE_WORD_BELOW = 10;

/**
 * Characters of the tokens and hashes a chance match hides in (hex, base64url, and base64 but for
 * `+` and `/`, which must end a word: a code in a URL's path follows a slash).
 */
const TOKEN_CHARACTER = /[A-Za-z0-9_-]/;

/**
 * Where `needle` occurs in `text`, or -1. A short needle (a pairing code) counts only where neither
 * neighbour is a token character: a code leaked as a value sits between quotes, spaces, slashes or
 * `=`, while one found in the middle of a hash is chance.
 */
export function findSecret(text: string, needle: string): number {
  if (needle.length >= WHOLE_WORD_BELOW) return text.indexOf(needle);
  for (let at = text.indexOf(needle); at >= 0; at = text.indexOf(needle, at + 1)) {
    const before = at > 0 ? text[at - 1]! : '';
    const after = text[at + needle.length] ?? '';
    if (!TOKEN_CHARACTER.test(before) && !TOKEN_CHARACTER.test(after)) return at;
  }
  return -1;
}

export const PASSWORD = 'sweep password one 0xA1!';
export const NEW_PASSWORD = 'sweep password two 0xB2?';
export const WRONG_PASSWORD = 'wrong password 0xC3#';
export const PLEXUS = { user: 'support', password: 'plexus-pass-0123456789' };
export const SESSION_LOGIN = { user: 'session-owner', password: 'session-owner-pass-987' };
export const ADMIN_TOKEN = 'device-admin-token-0123456789-abcdefghij';
export const DEVICE_INTROSPECTION = 'device-introspection-0123456789-abcdefgh';
export const ACCESS_INTROSPECTION = 'access-introspection-0123456789-abcdefgh';
export const METRICS_TOKEN = 'metrics-token-0123456789-abcdefghijklmnop';
export const RELAY_API_KEY = 'relay-api-key-0123456789-abcdefghijklmno';
export const INSTALL_KEY = Buffer.alloc(32, 7).toString('base64');
export const BOT_TOKEN = 'mattermost-bot-token-0123456789abcdef';

/** Body field and query parameter names whose values are secrets. */
export const SECRET_NAME = /pass(word)?|secret|token|credential|^key$|code$|^_csrf$|jwt|current/i;
/** Values of secret-looking names that are not secrets: machine codes (`refresh_token` as a grant type), URNs, token types. */
export const NOT_SECRET = /^[a-z]+(_[a-z]+)+$|^urn:|^(Bearer|Basic)$/i;

/** Every spelling of a code a person may type: as given, upper and lower case, without or with other separators. */
export function spellings(code: string): string[] {
  const bare = code.replace(/[\s-]/g, '');
  const groups = code.split(/[\s-]+/);
  const variants = [code, bare, groups.join(' '), groups.join('-'), groups.join('')];
  return [...new Set(variants.flatMap((variant) => [variant, variant.toLowerCase(), variant.toUpperCase()]))];
}

/** What the main app and the relay run on besides their defaults (SQLite in a fresh data folder). */
export interface SweepStores {
  /** Added to the main app's settings (e.g. PAIRGATE_REDIS_URL, PAIRGATE_DATABASE_URL). */
  env?: Record<string, string>;
  /** Added to the relay's settings. */
  relayEnv?: Record<string, string>;
}

/** One sweep: its apps, the secrets its requests saw, and the flows that drive every door. */
export interface SecretSweep {
  /** The app with every door. */
  readonly t: TestApp;
  /** The relay the support origin publishes its pairing codes on (a server of its own, as deployed). */
  readonly relay: TestApp;
  readonly base: string;
  readonly clock: ManualClock;
  /** Secret value (in each spelling kept) -> where it was seen (for failure messages). */
  readonly secrets: Map<string, string>;
  /** Values under a secret-looking name that are known not to be secrets (see where they are added). */
  readonly notSecrets: Set<string>;
  /** The codes people type, in every spelling kept (a subset of `secrets`' keys). */
  readonly codes: Set<string>;
  /** Requests sent so far. */
  readonly requests: number;
  keep(where: string, value: unknown): void;
  keepCode(where: string, code: unknown): void;
  /** Starts the relay and the app (call in beforeAll) and keeps what the configuration holds. */
  start(stores?: SweepStores): Promise<void>;
  /** One realistic flow per door, failing requests included. */
  driveEveryDoor(): Promise<void>;
  close(): Promise<void>;
}

/** A sweep at trace level (the app's and the relay's logs capture everything). */
export function secretSweep(): SecretSweep {
  let t: TestApp | undefined;
  let relay: TestApp | undefined;
  let base = '';
  const clock = new ManualClock(Date.now());
  const secrets = new Map<string, string>();
  const notSecrets = new Set<string>();
  const codes = new Set<string>();
  let requests = 0;
  const app = (): TestApp => {
    if (!t) throw new Error('the sweep has not started');
    return t;
  };
  const relayApp = (): TestApp => {
    if (!relay) throw new Error('the sweep has not started');
    return relay;
  };

  const keep = (where: string, value: unknown): void => {
    if (typeof value !== 'string' || value.length < MIN_SECRET_LENGTH || notSecrets.has(value)) return;
    for (const spelling of [value, encodeURIComponent(value), new URLSearchParams({ v: value }).toString().slice(2)]) {
      if (spelling.length < MIN_SECRET_LENGTH) continue;
      const seen = secrets.get(spelling);
      if (!seen?.split(' | ').includes(where)) secrets.set(spelling, seen ? `${seen} | ${where}` : where);
    }
    // An Authorization header's credentials alone, and Basic's decoded password.
    const auth = /^(Bearer|Basic)\s+(.+)$/i.exec(value);
    if (auth) {
      keep(`${where} (credentials)`, auth[2]);
      if (/^basic$/i.test(auth[1]!)) keep(`${where} (basic password)`, Buffer.from(auth[2]!, 'base64').toString('utf8').split(':').slice(1).join(':'));
    }
  };
  const keepCode = (where: string, code: unknown): void => {
    if (typeof code !== 'string') return;
    for (const spelling of spellings(code)) {
      keep(where, spelling);
      if (spelling.length >= MIN_SECRET_LENGTH) codes.add(spelling);
    }
  };
  /** Keeps the secret-named string fields of `value`, at any depth. */
  const harvest = (where: string, value: unknown, name = ''): void => {
    if (typeof value === 'string') {
      if (SECRET_NAME.test(name) && !NOT_SECRET.test(value)) (/code$/i.test(name) ? keepCode : keep)(`${where} ${name}`, value);
    } else if (Array.isArray(value)) {
      for (const item of value) harvest(where, item, name);
    } else if (value && typeof value === 'object') {
      for (const [key, inner] of Object.entries(value)) harvest(where, inner, key);
    }
  };

  /** `inject` that remembers every secret on the way in and out. */
  const send = async (request: InjectOptions, target = app().app): Promise<LightMyRequestResponse> => {
    requests++;
    const where = `${request.method ?? 'GET'} ${String(request.url).split('?')[0]}`;
    const headers = (request.headers ?? {}) as Record<string, string>;
    for (const [name, value] of Object.entries(headers)) {
      if (/authorization|signature/i.test(name)) keep(`${where} header ${name}`, value);
      if (name === 'cookie') for (const pair of value.split(';')) keep(`${where} cookie`, pair.split('=').slice(1).join('=').trim());
    }
    const url = new URL(String(request.url), 'http://x');
    for (const [name, value] of url.searchParams) harvest(`${where} query`, value, name);
    if (typeof request.payload === 'string') {
      try {
        harvest(`${where} body`, JSON.parse(request.payload));
      } catch {
        for (const [name, value] of new URLSearchParams(request.payload)) harvest(`${where} form`, value, name);
      }
    }
    const response = await target.inject(request);
    for (const cookie of response.cookies) keep(`${where} set-cookie ${cookie.name}`, cookie.value);
    const csrf = /name="_csrf" value="([^"]+)"/.exec(response.body)?.[1];
    keep(`${where} page csrf`, csrf);
    if (response.statusCode < 400 && /json/.test(String(response.headers['content-type']))) harvest(`${where} answer`, response.json());
    return response;
  };
  const json = (method: InjectOptions['method'], url: string, body?: unknown, headers: Record<string, string> = {}) =>
    send({ method, url, headers: { ...headers, ...(body !== undefined ? { 'content-type': 'application/json' } : {}) }, ...(body !== undefined ? { payload: JSON.stringify(body) } : {}) });
  const form = (url: string, fields: Record<string, string>, headers: Record<string, string> = {}) =>
    send({ method: 'POST', url, headers: { ...headers, 'content-type': 'application/x-www-form-urlencoded' }, payload: new URLSearchParams(fields).toString() });

  /** A browser over `send`: keeps cookies, reads each page's CSRF token, never follows redirects. */
  class Browser {
    readonly cookies = new Map<string, string>();
    csrf = '';

    private async go(request: InjectOptions): Promise<LightMyRequestResponse> {
      const cookie = [...this.cookies].map(([name, value]) => `${name}=${value}`).join('; ');
      const response = await send({ ...request, headers: { ...request.headers, ...(cookie ? { cookie } : {}) } });
      for (const set of response.cookies) {
        if (set.value === '' || (set.expires && set.expires.getTime() < clock.now())) this.cookies.delete(set.name);
        else this.cookies.set(set.name, set.value);
      }
      const token = /name="_csrf" value="([^"]+)"/.exec(response.body)?.[1];
      if (token) this.csrf = token;
      return response;
    }

    get(url: string): Promise<LightMyRequestResponse> {
      return this.go({ method: 'GET', url, headers: { accept: 'text/html' } });
    }

    post(url: string, fields: Record<string, string> = {}): Promise<LightMyRequestResponse> {
      return this.go({ method: 'POST', url, headers: { 'content-type': 'application/x-www-form-urlencoded', accept: 'text/html' }, payload: new URLSearchParams({ _csrf: this.csrf, ...fields }).toString() });
    }

    json(method: InjectOptions['method'], url: string, body?: unknown): Promise<LightMyRequestResponse> {
      return this.go({ method, url, headers: body !== undefined ? { 'content-type': 'application/json' } : {}, ...(body !== undefined ? { payload: JSON.stringify(body) } : {}) });
    }
  }

  const start = async (stores: SweepStores = {}): Promise<void> => {
    // Three codes an hour for the origin: its fourth publication is refused, so the origin answers 502 (and logs it).
    relay = await createTestApp({
      PAIRGATE_LOG_LEVEL: 'trace',
      PAIRGATE_RELAY_ONLY: 'true',
      PAIRGATE_RELAY_ALLOW_HTTP: 'true',
      PAIRGATE_BRUTE_FORCE_BUDGET: '1',
      PAIRGATE_RELAY_CREATE_MAX: '3',
      PAIRGATE_RELAY_CREATE_WINDOW_SECONDS: '3600',
      ...stores.relayEnv,
    }, { doors: [supportRelayDoor], clock });
    await relay.listen();
    t = await createTestApp({
      PAIRGATE_LOG_LEVEL: 'trace',
      PAIRGATE_RATE_LIMIT_MAX: '1000000',
      PAIRGATE_CODE_LOOKUPS_PER_MINUTE: '1000000',
      PAIRGATE_CODE_MISSES_PER_HOUR: '1000000',
      PAIRGATE_BRUTE_FORCE_BUDGET: '1',
      PAIRGATE_SCRYPT_COST: '10',
      PAIRGATE_METRICS_TOKEN: METRICS_TOKEN,
      PAIRGATE_DEVICE_CLIENTS: JSON.stringify({ 'tv-app': 'Living-room TV' }),
      PAIRGATE_DEVICE_ADMIN_TOKEN: ADMIN_TOKEN,
      PAIRGATE_DEVICE_INTROSPECTION_SECRET: DEVICE_INTROSPECTION,
      PAIRGATE_DEVICE_INTERVAL_SECONDS: '1',
      PAIRGATE_ACCESS_INTROSPECTION_SECRET: ACCESS_INTROSPECTION,
      PAIRGATE_INSTALL_SECRET_KEY: INSTALL_KEY,
      PAIRGATE_INSTALL_CALLS_PER_MINUTE: '100000',
      PLEXUS_AUTH_USER: PLEXUS.user,
      PLEXUS_AUTH_PASS: PLEXUS.password,
      PLEXUS_PAIRING_URL: `${relay.url}/pairing/`,
      PAIRGATE_RELAY_ALLOW_HTTP: 'true',
      PAIRGATE_RELAY_API_KEYS: RELAY_API_KEY,
      PAIRGATE_DNS_ZONE: 'box.example.test',
      PAIRGATE_DNS_PORT: '0',
      PAIRGATE_DNS_UPDATE_PORT: '0',
      ...stores.env,
    }, { clock });
    base = await t.listen();
    // What the configuration holds is secret too.
    for (const value of [PLEXUS.password, SESSION_LOGIN.password, ADMIN_TOKEN, DEVICE_INTROSPECTION, ACCESS_INTROSPECTION, METRICS_TOKEN, RELAY_API_KEY, INSTALL_KEY, BOT_TOKEN, PASSWORD, NEW_PASSWORD, WRONG_PASSWORD]) keep('configuration or test constant', value);
  };

  const driveEveryDoor = async (): Promise<void> => {
    const t = app();
    const relay = relayApp();
    const basic = (user: string, password: string) => ({ authorization: `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}` });

    // Health and metrics (with its token).
    expect((await send({ url: '/healthz' })).statusCode).toBe(200);
    expect((await send({ url: '/metrics', headers: { authorization: `Bearer ${METRICS_TOKEN}` } })).statusCode).toBe(200);
    expect((await send({ url: '/metrics', headers: { authorization: 'Bearer wrong-metrics-token-0123456789abcdef' } })).statusCode).toBe(401);

    // Generic grants: create, look up (in other spellings), approve, redeem; a wrong code, a wrong secret.
    const grant = (await json('POST', '/api/v1/grants', { label: 'sweep', data: { room: 'hall' } })).json();
    expect(grant.code).toMatch(/-/);
    keepCode('grant code', grant.code);
    keep('grant secret', grant.secret);
    expect((await send({ url: `/api/v1/codes/${grant.code.toUpperCase()}` })).statusCode).toBe(200);
    expect((await send({ url: `/api/v1/codes/${encodeURIComponent(grant.code.replace(/-/g, ' '))}` })).statusCode).toBe(200);
    expect((await json('POST', `/api/v1/codes/${grant.code}/approve`, { note: 'ok' })).statusCode).toBe(200);
    expect((await send({ url: `/api/v1/grants/${grant.id}?wait=0` })).statusCode).toBe(200);
    expect((await json('POST', `/api/v1/grants/${grant.id}/redeem`, { secret: 'x'.repeat(43) })).statusCode).toBe(404);
    expect((await json('POST', `/api/v1/grants/${grant.id}/redeem`, { secret: grant.secret })).statusCode).toBe(200);
    expect((await json('POST', `/api/v1/grants/${grant.id}/redeem`, { secret: grant.secret })).statusCode).toBe(409);
    const other = (await json('POST', '/api/v1/grants', { label: 'sweep 2' })).json();
    const wrongCode = [...other.code].map((c: string, i: number) => (i === 0 ? (c === 'a' ? 'b' : 'a') : c)).join('');
    keepCode('wrong grant code', wrongCode);
    expect((await send({ url: `/api/v1/codes/${wrongCode}` })).statusCode).toBeGreaterThanOrEqual(400);
    expect((await json('POST', `/api/v1/codes/${other.code}/refuse`, {})).statusCode).toBe(200);

    // Accounts: sign up, a wrong password, sign in, a new password, a reset by mail, sign out.
    const person = new Browser();
    await person.get('/account/register');
    expect((await person.post('/account/register', { username: 'sweep-person', email: 'sweep@example.test', password: PASSWORD })).statusCode).toBe(303);
    await person.post('/account/signout');
    await person.get('/account/signin');
    expect((await person.post('/account/signin', { login: 'sweep-person', password: WRONG_PASSWORD })).statusCode).toBeGreaterThanOrEqual(400);
    expect((await person.post('/account/signin', { login: 'sweep-person', password: PASSWORD })).statusCode).toBe(303);
    await person.get('/account/password');
    expect((await person.post('/account/password', { current: WRONG_PASSWORD, password: NEW_PASSWORD })).statusCode).toBe(401);
    expect((await person.post('/account/password', { current: PASSWORD, password: NEW_PASSWORD })).statusCode).toBeLessThan(400);
    await person.get('/account/signin');
    await person.post('/account/signin', { login: 'sweep-person', password: NEW_PASSWORD });
    const resetter = new Browser();
    await resetter.get('/account/reset');
    await resetter.post('/account/reset', { login: 'sweep-person' });
    await accountsOf({ server: t.app }).parts.afterAnswer.idle();
    const mail = outboxMails(t.config.PAIRGATE_DATA_DIR).at(-1);
    expect(mail).toBeDefined();
    const reset = resetToken(mail!);
    keep('reset token', reset);
    expect((await resetter.get(`/account/reset/confirm?token=${reset}`)).statusCode).toBe(200);
    // A wrong reset token, in the query string.
    await resetter.get(`/account/reset/confirm?token=${'Q'.repeat(43)}`);
    expect((await resetter.post('/account/reset/confirm', { token: reset, password: PASSWORD })).statusCode).toBeLessThan(400);
    await person.get('/account/signin');
    expect((await person.post('/account/signin', { login: 'sweep-person', password: PASSWORD })).statusCode).toBe(303);

    // App accesses: a request, signing in on its auth page, consent, the token at work and introspected.
    const access = (await json('POST', '/access', { requestingAppId: 'sweep-app', requestedPermissions: [{ streamId: 'diary', level: 'read', defaultName: 'Diary' }], languageCode: 'en' })).json();
    expect(access.key).toBeDefined();
    const anonymous = new Browser();
    await anonymous.get(`/access/auth?key=${access.key}`);
    await anonymous.post('/access/auth/signin', { key: access.key, login: 'sweep-person', password: WRONG_PASSWORD });
    await anonymous.post('/access/auth/signin', { key: access.key, login: 'sweep-person', password: PASSWORD });
    expect((await anonymous.post('/access/auth/decide', { key: access.key, decision: 'accept' })).statusCode).toBe(200);
    const accepted = (await send({ url: `/access/${access.key}` })).json();
    expect(accepted.status).toBe('ACCEPTED');
    keep('access token', accepted.token);
    expect((await send({ url: '/sweep-person/access-info', headers: { authorization: String(accepted.token) } })).statusCode).toBe(200);
    await send({ url: '/sweep-person/access-info', headers: { authorization: 'not-the-access-token-0123456789' } });
    await form('/access/introspect', { token: accepted.token }, { authorization: `Bearer ${ACCESS_INTROSPECTION}` });
    await form('/access/introspect', { token: accepted.token }, { authorization: 'Bearer wrong-introspection-secret-0123456' });
    await send({ url: `/access/${'k'.repeat(40)}?token=${accepted.token}` });

    // Devices (RFC 8628): authorization, polling before approval, a wrong user code, the right one in
    // another spelling, consent, tokens, refresh, introspection, revocation.
    const started = (await form('/oauth/device_authorization', { client_id: 'tv-app' })).json();
    keepCode('device user_code', started.user_code);
    keep('device verification_uri_complete', started.verification_uri_complete);
    const tokenRequest = { grant_type: 'urn:ietf:params:oauth:grant-type:device_code', device_code: started.device_code, client_id: 'tv-app' };
    expect((await form('/oauth/token', tokenRequest)).json().error).toBe('authorization_pending');
    await form('/oauth/token', tokenRequest); // too soon: slow_down
    clock.advance(10_000);
    await person.get(`/device?user_code=${encodeURIComponent(started.user_code)}`);
    const wrongUserCode = started.user_code.replace(/^./, (c: string) => (c === 'B' ? 'C' : 'B'));
    keepCode('wrong device user_code', wrongUserCode);
    expect((await person.post('/device', { user_code: wrongUserCode })).statusCode).toBeGreaterThanOrEqual(400);
    const typed = await person.post('/device', { user_code: started.user_code.toLowerCase().replace('-', ' ') });
    expect(typed.statusCode).toBe(303);
    const consent = await person.get(typed.headers.location as string);
    // The consent form's key is the authorization's id, not a secret: the consent screen opens only
    // in the browser that typed the code (a ticket keyed by its CSRF cookie), and the id names the
    // token family in the log of a refresh token presented twice.
    const consentKey = /name="key" value="([^"]+)"/.exec(consent.body)?.[1];
    notSecrets.add(String(consentKey));
    expect((await person.post('/device/decide', { key: String(consentKey), decision: 'approve' })).statusCode).toBe(200);
    clock.advance(10_000);
    const tokens = (await form('/oauth/token', tokenRequest)).json();
    expect(tokens.access_token).toBeDefined();
    clock.advance(10_000);
    const refreshed = (await form('/oauth/token', { grant_type: 'refresh_token', refresh_token: tokens.refresh_token, client_id: 'tv-app' })).json();
    expect(refreshed.access_token).toBeDefined();
    await form('/oauth/token', { grant_type: 'refresh_token', refresh_token: tokens.refresh_token, client_id: 'tv-app' }); // reused: revokes the family
    // A second device, approved by someone not yet signed in: the code typed, a wrong password and
    // the right one on the device sign-in form, then a refusal.
    const second = (await form('/oauth/device_authorization', { client_id: 'tv-app' })).json();
    keepCode('second device user_code', second.user_code);
    const visitor = new Browser();
    await visitor.get('/device');
    const visited = await visitor.post('/device', { user_code: second.user_code });
    expect(visited.statusCode).toBe(303);
    const signInPage = await visitor.get(visited.headers.location as string);
    const secondKey = /name="key" value="([^"]+)"/.exec(signInPage.body)?.[1];
    notSecrets.add(String(secondKey));
    expect((await visitor.post('/device/signin', { key: String(secondKey), login: 'sweep-person', password: WRONG_PASSWORD })).statusCode).toBe(401);
    const signedIn = await visitor.post('/device/signin', { key: String(secondKey), login: 'sweep-person', password: PASSWORD });
    expect(signedIn.statusCode).toBe(303);
    await visitor.get(signedIn.headers.location as string);
    expect((await visitor.post('/device/decide', { key: String(secondKey), decision: 'deny' })).statusCode).toBe(200);
    clock.advance(10_000);
    expect((await form('/oauth/token', { grant_type: 'urn:ietf:params:oauth:grant-type:device_code', device_code: second.device_code, client_id: 'tv-app' })).json().error).toBe('access_denied');
    await form('/oauth/introspect', { token: refreshed.access_token }, { authorization: `Bearer ${DEVICE_INTROSPECTION}` });
    await form('/oauth/introspect', { token: refreshed.access_token }, { authorization: 'Bearer wrong-device-introspection-01234' });
    await form('/oauth/revoke', { token: refreshed.access_token, client_id: 'tv-app' });
    await json('PUT', '/api/v1/device/clients/sweep-client', { name: 'Sweep' }, { authorization: `Bearer ${ADMIN_TOKEN}` });
    await json('GET', '/api/v1/device/clients', undefined, { authorization: 'Bearer wrong-admin-token-0123456789abcdef' });
    await json('DELETE', '/api/v1/device/clients/sweep-client', undefined, { authorization: `Bearer ${ADMIN_TOKEN}` });

    // Organizations and chat installations: Mattermost and the signed webhook, each installed and linked.
    const org = (await person.json('POST', '/api/v1/organizations', { name: 'Sweep org' })).json();
    expect(org.id).toBeDefined();
    const setup = (await person.json('POST', '/api/v1/integrations/mattermost/setup', { org_id: org.id })).json();
    const installation = /\/mattermost\/([^/]+)\/manifest\.json$/.exec(setup.manifest_link)![1]!;
    const mmAdmin = { id: mattermostId('sweepadmin'), username: 'sweepadmin' };
    const mmCall = async (call: string, secret: string, extra: Parameters<typeof callRequest>[2] = {}, jwt?: string) => {
      const token = jwt ?? (await mattermostJwt(secret, mmAdmin.id, clock));
      keep('mattermost jwt', token);
      return json('POST', `/mattermost/${installation}/${call}`, callRequest(`/mattermost/${installation}/${call}`, mmAdmin, extra), { 'mattermost-app-authorization': `Bearer ${token}` });
    };
    const botContext = { bot_user_id: mattermostId('botpairgate'), bot_access_token: BOT_TOKEN, app: { app_id: 'pairgate', bot_user_id: mattermostId('botpairgate'), bot_access_token: BOT_TOKEN } };
    expect((await mmCall('install', setup.jwt_secret, { context: botContext })).statusCode).toBe(200);
    const mmLink = (await person.json('POST', '/api/v1/integrations/mattermost/link-tokens', { org_id: org.id })).json();
    expect(mmLink.token).toBeDefined();
    expect((await mmCall('link', setup.jwt_secret, { values: { token: mmLink.token } })).statusCode).toBe(200);
    await mmCall('status', 'not-the-jwt-secret-0123456789abcdefgh');
    await mmCall('link', setup.jwt_secret, { values: { token: 'wrong-link-token-0123456789' } });
    const hook = (await person.json('POST', '/api/v1/integrations/webhook/setup', { org_id: org.id })).json();
    const signed = (url: string, secret: string, body: unknown) => {
      clock.advance(1000);
      const raw = JSON.stringify(body);
      const timestamp = String(Math.floor(clock.now() / 1000));
      return send({ method: 'POST', url: new URL(url).pathname, headers: { 'content-type': 'application/json', 'x-pairgate-timestamp': timestamp, 'x-pairgate-signature': signWebhook(secret, timestamp, raw) }, payload: raw });
    };
    expect((await signed(hook.install_url, hook.signing_secret, { site_url: 'https://bot.example.test/' })).statusCode).toBe(200);
    const hookLink = (await person.json('POST', '/api/v1/integrations/webhook/link-tokens', { org_id: org.id })).json();
    expect((await signed(hook.command_url, hook.signing_secret, { user_id: 'U1', user_name: 'ada', text: `link ${hookLink.token}` })).statusCode).toBe(200);
    await signed(hook.command_url, 'not-the-signing-secret-0123456789', { user_id: 'U1', text: 'status' });
    await signed(hook.command_url, hook.signing_secret, { user_id: 'U2', text: `link ${hookLink.token}` });

    // Support: a session (with its own login), its pairing looked up and confirmed, the agent's
    // configuration, the agent and the supporter on the channel, wrong credentials and a wrong code.
    const plexus = basic(PLEXUS.user, PLEXUS.password);
    const session = await json('POST', '/session', { id: 'sweep-session', supporter_name: 'Ada', supporter_avatar: 'https://img.example/ada.png', username: SESSION_LOGIN.user, password: SESSION_LOGIN.password }, plexus);
    expect(session.statusCode, session.body).toBe(201);
    keepCode('support first pairing code', session.json().PairingCode);
    // A new code for the waiting session (the old code and agent token die): the one used below.
    const renewed = await json('POST', '/session/sweep-session/code', {}, plexus);
    expect(renewed.statusCode, renewed.body).toBe(201);
    const created = renewed.json();
    keepCode('support pairing code', created.PairingCode);
    const agentToken = /:([A-Za-z]{20})$/.exec(created.AgentMSH)?.[1];
    keep('support agent token', agentToken);
    const redirect = await send({ url: `/pairing/${created.PairingCode.toUpperCase()}` }, relay.app);
    expect(redirect.statusCode).toBe(302);
    expect((await json('GET', new URL(String(redirect.headers.location)).pathname, undefined, { accept: 'application/json' })).statusCode).toBe(200);
    await send({ url: `/go?code=${created.PairingCode}` }, relay.app);
    const wrongPairing = created.PairingCode.replace(/^./, (c: string) => (c === 'a' ? 'b' : 'a'));
    keepCode('wrong support pairing code', wrongPairing);
    await json('GET', `/pairing/${wrongPairing}`, undefined, { accept: 'application/json' });
    await send({ url: `/pairing/${wrongPairing}` }, relay.app);
    const confirmed = await json('POST', `/pairing/${created.PairingCode}/confirm`, { Decision: 'accept' }, { accept: 'application/json' });
    expect(confirmed.statusCode).toBe(200);
    const confirmation = confirmed.json();
    keep('support agent credential', confirmation.AgentCredential);
    expect((await send({ url: new URL(created.AgentMSH).pathname })).statusCode).toBe(200);
    await json('GET', '/session/sweep-session', undefined, basic(SESSION_LOGIN.user, SESSION_LOGIN.password));
    await json('GET', '/session/sweep-session', undefined, basic(SESSION_LOGIN.user, 'wrong-session-pass-0123'));
    await json('GET', '/session', undefined, basic(PLEXUS.user, 'wrong-plexus-pass-0123456'));
    const supporter = await new SupportOriginClient({ baseUrl: base, user: PLEXUS.user, password: PLEXUS.password }).attach('sweep-session');
    const connected = supporter.next((event) => event.type === 'state' && event.state === 'connected');
    const agent = await connectAgent(confirmation.MeshServer, confirmation.AgentCredential);
    await connected;
    agent.close();
    supporter.close();
    // A session created as the seed's curl call does (multipart, Basic credentials), with its own login.
    const boundary = 'sweepboundary';
    const multipartOf = (fields: Record<string, string>) => Object.entries(fields).map(([name, value]) => `--${boundary}\r\ncontent-disposition: form-data; name="${name}"\r\n\r\n${value}\r\n`).join('') + `--${boundary}--\r\n`;
    const multipartSession = await send({
      method: 'POST',
      url: '/session',
      headers: { 'content-type': `multipart/form-data; boundary=${boundary}`, ...plexus },
      payload: multipartOf({ id: 'sweep-multipart', ttl: '600', username: 'multipart-owner', password: 'multipart-owner-pass-0123', supporter_name: 'Ada', supporter_avatar: 'https://img.example/ada.png' }),
    });
    expect(multipartSession.statusCode, multipartSession.body).toBe(201);
    // The relay refuses a fourth code: a 5xx, logged, for a session created with its own password.
    const refused = await json('POST', '/session', { id: 'sweep-refused', supporter_name: 'Ada', supporter_avatar: 'https://img.example/ada.png', username: 'refused-owner', password: 'refused-owner-pass-0123' }, plexus);
    expect(refused.statusCode).toBe(502);
    await json('DELETE', '/session/sweep-session', undefined, plexus);

    // The relay: a code published with the API key, followed, typed on the page; a wrong key and code.
    const relayed = await json('POST', '/relay/pairing', { url: `${base}/pairing` }, { authorization: `Bearer ${RELAY_API_KEY}` });
    expect(relayed.statusCode).toBe(200);
    const relayCode = relayed.json().code;
    keepCode('relay code', relayCode);
    expect((await send({ url: `/relay/pairing/${relayCode}` })).statusCode).toBe(302);
    expect((await send({ url: `/relay/go?code=${relayCode.toUpperCase()}` })).statusCode).toBe(302);
    await json('POST', '/relay/pairing', { url: `${base}/pairing` }, { authorization: 'Bearer wrong-relay-key-0123456789abcdef' });
    const wrongRelay = relayCode.replace(/^./, (c: string) => (c === 'a' ? 'b' : 'a'));
    keepCode('wrong relay code', wrongRelay);
    await send({ url: `/relay/go?code=${wrongRelay}` });

    // Registry: a box announces itself (a signed JWS), then is listed.
    const box: BoxIdentity = await initBoxIdentity(join(mkdtempSync(join(tmpdir(), 'pairgate-sweep-box-')), 'box'), { name: 'sweep box' });
    const announcement = JSON.stringify({ fingerprint: box.fingerprint, local_origin: 'https://192.168.1.20:4443', name: 'Sweep box' });
    const signature = await signAnnouncement(box, announcement, { now: clock.now() });
    expect((await send({ method: 'POST', url: '/register', headers: { 'content-type': 'application/json', authorization: signature }, payload: announcement })).statusCode).toBe(200);
    // The same signature again (single-use jti), and another box's signature.
    await send({ method: 'POST', url: '/register', headers: { 'content-type': 'application/json', authorization: signature }, payload: announcement });
    expect((await send({ url: '/ping' })).statusCode).toBe(200);

    // DNS: a record set through the update API (client certificate), answered over DNS, removed.
    const runtime = dnsRuntimeOf(t.app.pairgate)!;
    expect(runtime).toBeDefined();
    const dns = new DnsUpdateClient({ baseUrl: runtime.updateApi!.url, box, ca: runtime.updateCertPem! });
    const name = `local.${box.fingerprint}.box.example.test`;
    await dns.set(name, 'A', '192.168.1.30');
    await dns.set(`_acme-challenge.${box.fingerprint}.box.example.test`, 'TXT', 'acme-challenge-value-0123456789');
    const resolver = new Resolver({ timeout: 2000, tries: 1 });
    resolver.setServers([`127.0.0.1:${runtime.dns.port}`]);
    expect(await resolver.resolve4(name)).toEqual(['192.168.1.30']);
    await dns.remove(name, { type: 'A' });

    // Failing requests: malformed JSON with a password, secrets in the query string of a bad request,
    // secrets in a URL no route answers, a body too large with a token in it.
    const malformed = `{"username": "sweep-person", "password": "${PASSWORD}", "token": "${accepted.token}"`;
    expect((await send({ method: 'POST', url: '/api/v1/grants', headers: { 'content-type': 'application/json' }, payload: malformed })).statusCode).toBe(400);
    expect((await send({ method: 'POST', url: '/oauth/token', headers: { 'content-type': 'application/json' }, payload: malformed })).statusCode).toBeLessThan(500);
    expect((await send({ method: 'POST', url: '/session', headers: { 'content-type': 'application/json', ...plexus }, payload: malformed })).statusCode).toBeLessThan(500);
    expect((await send({ method: 'POST', url: '/register', headers: { 'content-type': 'application/json', authorization: signature }, payload: malformed })).statusCode).toBe(400);
    const multipart = `--${boundary}\r\ncontent-disposition: form-data; name="id"\r\n\r\nsweep-multipart\r\n--${boundary}\r\ncontent-disposition: form-data; name="password"\r\n\r\n${SESSION_LOGIN.password}`;
    expect((await send({ method: 'POST', url: '/session', headers: { 'content-type': `multipart/form-data; boundary=${boundary}`, ...plexus }, payload: multipart })).statusCode).toBeLessThan(500);
    const badQuery = await send({ url: `/api/v1/grants/${grant.id}?wait=not-a-number&access_token=${tokens.access_token}&secret=${grant.secret}` });
    expect(badQuery.statusCode).toBe(400);
    expect((await send({ url: `/no/such/route?token=${tokens.refresh_token}&password=${encodeURIComponent(PASSWORD)}` })).statusCode).toBe(404);
    expect((await send({ url: `/api/v1/codes/${'%E0%A4%A'}?code=${grant.code}` })).statusCode).toBeLessThan(500);
    const large = JSON.stringify({ label: 'x'.repeat(t.config.PAIRGATE_BODY_LIMIT), secret: grant.secret });
    expect((await send({ method: 'POST', url: '/api/v1/grants', headers: { 'content-type': 'application/json' }, payload: large })).statusCode).toBe(413);
    expect((await send({ method: 'POST', url: '/account/signin', headers: { 'content-type': 'text/plain' }, payload: `password=${PASSWORD}` })).statusCode).toBe(415);
  };

  return {
    get t() {
      return app();
    },
    get relay() {
      return relayApp();
    },
    get base() {
      return base;
    },
    clock,
    secrets,
    notSecrets,
    codes,
    get requests() {
      return requests;
    },
    keep,
    keepCode,
    start,
    driveEveryDoor,
    async close() {
      await t?.close();
      await relay?.close();
    },
  };
}
