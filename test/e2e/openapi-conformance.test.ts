import type { InjectOptions, LightMyRequestResponse } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, type TestApp } from '../helpers/app.js';
import { fillPath, hostileRequests, sweptOperations, type OpenApiDocument } from '../helpers/hostile-requests.js';
import type { OpenApiSchema as Schema } from '../helpers/openapi-schema.js';

/**
 * Every answer a route gives is one its OpenAPI document lists. A hook on the app sees every
 * response it sends and the route that sent it, and the answers are checked against that route's
 * `responses` in `/docs/json` (the route's `schema.response` plus the shared responses of
 * `src/server/openapi-responses.ts`). Traffic: the bad-input sweep over every route; a
 * schema-valid request to every operation, anonymous, signed in, and signed in but sent from
 * another site; each door's happy path; and every operation past the global rate limit.
 */

/** One answer the app sent. */
interface Answer {
  method: string;
  /** The route's pattern (`/api/v1/grants/:id`), or undefined when no route answered. */
  route: string | undefined;
  url: string;
  status: number;
  /** The media type of the body (no parameters), '' when none was sent. */
  contentType: string;
}

/**
 * What is answered when no route is chosen: an unknown path (after reading its body: 413, 415), a
 * malformed %-escape, too long a parameter, a method the path is not served for (405, with Allow;
 * described once in the shared responses, not per operation).
 */
const ROUTER_STATUSES = new Set([400, 404, 405, 413, 414, 415]);

/** The media type of a Content-Type header value, without its parameters ('' when there is none). */
function mediaTypeOf(header: unknown): string {
  return String(header ?? '').split(';')[0]!.trim().toLowerCase();
}

/** A Fastify route pattern as an OpenAPI path: `/a/:id` is `/a/{id}`. */
function openApiPath(route: string): string {
  return route.replace(/:(\w+)(\([^)]*\))?/g, '{$1}');
}

/**
 * The answers whose status their route does not document, or whose body's media type that status
 * does not list, one line per route and status with an example request. Routes absent from the document (hidden pages) are not checked; answers no
 * route gave must be the router's own.
 */
function undocumented(answers: readonly Answer[], doc: OpenApiDocument): string[] {
  const found = new Map<string, string>();
  for (const answer of answers) {
    if (answer.method === 'HEAD') continue;
    if (answer.route === undefined) {
      if (!ROUTER_STATUSES.has(answer.status)) found.set(`(no route) ${answer.status}`, `${answer.method} ${answer.url}`);
      continue;
    }
    const operation = doc.paths[openApiPath(answer.route)]?.[answer.method.toLowerCase()];
    if (!operation) continue;
    const documented = Object.keys(operation.responses ?? {});
    const response = operation.responses?.[String(answer.status)] as { content?: Record<string, unknown> } | undefined;
    let key: string | undefined;
    if (!response) key = `${answer.method} ${answer.route} -> ${answer.status} (documents ${documented.join(', ')})`;
    else {
      // A body of a media type the status does not document (a page where JSON is listed, say).
      const types = Object.keys(response.content ?? {});
      if (answer.contentType && types.length > 0 && !types.includes(answer.contentType)) key = `${answer.method} ${answer.route} -> ${answer.status} as ${answer.contentType} (documents ${types.join(', ')})`;
    }
    if (key && !found.has(key)) found.set(key, `${answer.method} ${answer.url.slice(0, 120)}`);
  }
  return [...found].map(([key, example]) => `${key}, e.g. ${example}`);
}

/** An operation of the document as the request builder reads it. */
interface DocOperation {
  parameters?: { in: string; name: string; required?: boolean; schema?: Schema }[];
  requestBody?: { content?: Record<string, { schema?: Schema }> };
  security?: Record<string, string[]>[];
}

const USERNAME = 'conformance-sweeper';
const PASSWORD = 'correct horse battery staple';
const ADMIN_TOKEN = 'conformance-admin-token-0123456789-abcdefghij';
const PLEXUS = { user: 'support', pass: 'sweep-password' };

/** A string `schema` accepts, favouring `name`'s usual values. */
function sampleString(schema: Schema, name: string): string {
  const named: Record<string, string> = { username: USERNAME, login: USERNAME, email: 'sweeper@example.test', password: PASSWORD, current: PASSWORD };
  const candidates = [
    named[name],
    schema.format === 'email' ? 'sweeper@example.test' : undefined,
    schema.format === 'uri' || /url$/i.test(name) ? 'https://app.example/return' : undefined,
    'abcdefghijklmnopqrstuv',
    'BCDF-GHJK',
    'abcdefgh',
    '12345678',
    ...Array.from({ length: 64 }, (_, n) => 'a'.repeat(n + 1)),
    ...Array.from({ length: 64 }, (_, n) => 'A'.repeat(n + 1)),
  ];
  const fits = (value: string): boolean =>
    value.length >= (schema.minLength ?? 0) && value.length <= (schema.maxLength ?? Infinity) && (!schema.pattern || new RegExp(schema.pattern, 'u').test(value));
  return candidates.find((value): value is string => value !== undefined && fits(value)) ?? 'a'.repeat(Math.max(1, schema.minLength ?? 1));
}

/** A value `schema` accepts: required fields only, the first of any choice. */
function sample(schema: Schema | undefined, name = ''): unknown {
  if (!schema) return 'a';
  if (schema.const !== undefined) return schema.const;
  if (schema.enum) return schema.enum[0];
  const choice = schema.anyOf ?? schema.oneOf;
  if (choice) return sample(choice.find((option) => option.type !== 'null') ?? choice[0], name);
  switch (schema.type) {
    case 'string':
      return sampleString(schema, name);
    case 'integer':
    case 'number':
      return Math.max(schema.minimum ?? 1, 1);
    case 'boolean':
      return true;
    case 'array':
      return [sample(schema.items, name)];
    case 'object':
    case undefined:
      return Object.fromEntries((schema.required ?? []).map((field) => [field, sample(schema.properties?.[field], field)]));
    default:
      return 'a';
  }
}

/** How a schema-valid request is sent: by whom, and from where. */
interface Caller {
  cookie?: string;
  csrf?: string;
  crossSite?: boolean;
  credentials?: boolean;
  /** Asks for HTML first, as a browser's address bar does: routes that serve people a page then do. */
  browser?: boolean;
}

/** The Accept header of a browser navigating to a page. */
const BROWSER_ACCEPT = 'text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8';

/** A request `operation` accepts as far as its schemas go. */
function validRequest(method: string, path: string, operation: DocOperation, caller: Caller): InjectOptions {
  let url = path;
  const query = new URLSearchParams();
  for (const parameter of operation.parameters ?? []) {
    const value = String(sample(parameter.schema, parameter.name));
    if (parameter.in === 'path') url = url.replace(`{${parameter.name}}`, encodeURIComponent(value));
    if (parameter.in === 'query' && parameter.required) query.set(parameter.name, value);
  }
  url = fillPath(url, 'abcdefghijklmnopqrstuv');
  const headers: Record<string, string> = {};
  if (caller.cookie) headers.cookie = caller.cookie;
  if (caller.crossSite) Object.assign(headers, { origin: 'https://elsewhere.example', 'sec-fetch-site': 'cross-site' });
  if (caller.browser) headers.accept = BROWSER_ACCEPT;
  const scheme = Object.keys(operation.security?.[0] ?? {})[0];
  if (caller.credentials && scheme === 'bearerSecret') headers.authorization = `Bearer ${ADMIN_TOKEN}`;
  if (caller.credentials && scheme === 'basicAuth') headers.authorization = `Basic ${Buffer.from(`${PLEXUS.user}:${PLEXUS.pass}`).toString('base64')}`;
  const request: InjectOptions = { method: method.toUpperCase() as InjectOptions['method'], url: `${url}${query.size ? `?${query}` : ''}`, headers };
  const content = operation.requestBody?.content;
  if (content && method !== 'get') {
    const json = content['application/json'];
    const schema = (json ?? content['application/x-www-form-urlencoded'])?.schema;
    const body = sample(schema) as Record<string, unknown>;
    if (caller.csrf && schema?.properties?._csrf) body._csrf = caller.csrf;
    if (json) {
      headers['content-type'] = 'application/json';
      request.payload = JSON.stringify(body);
    } else {
      headers['content-type'] = 'application/x-www-form-urlencoded';
      request.payload = new URLSearchParams(Object.entries(body).map(([key, value]): [string, string] => [key, String(value)])).toString();
    }
  }
  return request;
}

/** The cookies a response sets, as `name=value` pairs. */
function cookiesOf(response: LightMyRequestResponse): Record<string, string> {
  return Object.fromEntries(response.cookies.map((cookie) => [cookie.name, cookie.value]));
}

/** A browser over `inject`: keeps cookies, reads each page's CSRF token, never follows redirects. */
class Browser {
  readonly cookies = new Map<string, string>();
  csrf = '';

  constructor(private readonly app: TestApp['app']) {}

  private async send(request: InjectOptions): Promise<LightMyRequestResponse> {
    const cookie = [...this.cookies].map(([name, value]) => `${name}=${value}`).join('; ');
    const response = await this.app.inject({ ...request, headers: { ...request.headers, ...(cookie ? { cookie } : {}) } });
    for (const set of response.cookies) {
      if (set.value === '' || (set.expires && set.expires.getTime() < Date.now())) this.cookies.delete(set.name);
      else this.cookies.set(set.name, set.value);
    }
    const token = /name="_csrf" value="([^"]+)"/.exec(response.body)?.[1];
    if (token) this.csrf = token;
    return response;
  }

  /** GETs a page. */
  get(url: string): Promise<LightMyRequestResponse> {
    return this.send({ method: 'GET', url, headers: { accept: BROWSER_ACCEPT } });
  }

  /** Posts a form with this browser's CSRF token. */
  post(url: string, fields: Record<string, string> = {}): Promise<LightMyRequestResponse> {
    return this.send({ method: 'POST', url, headers: { 'content-type': 'application/x-www-form-urlencoded' }, payload: new URLSearchParams({ _csrf: this.csrf, ...fields }).toString() });
  }

  /** Sends JSON (or nothing) with this browser's cookies, as a program would. */
  json(method: InjectOptions['method'], url: string, body?: unknown, headers: Record<string, string> = {}): Promise<LightMyRequestResponse> {
    return this.send({ method, url, headers: { ...headers, ...(body !== undefined ? { 'content-type': 'application/json' } : {}) }, ...(body !== undefined ? { payload: JSON.stringify(body) } : {}) });
  }

  /** Registers `username` through the form (and so signs in). */
  async register(username: string): Promise<void> {
    await this.get('/account/register');
    const registered = await this.post('/account/register', { username, email: `${username}@example.test`, password: PASSWORD });
    expect(registered.statusCode).toBe(303);
  }
}

describe('every answer is a status its route documents in the OpenAPI document', () => {
  /** Every HTML answer of the sweeps, with its content security policy. */
  const pages: { url: string; status: number; policy: string }[] = [];
  let t: TestApp;
  let doc: OpenApiDocument & { paths: Record<string, Record<string, DocOperation>> };
  const answers: Answer[] = [];

  /**
   * A signed-in browser: its cookies and CSRF token. It signs in (registering the first time, or
   * again after the sweep deleted the account), as each request may have signed it out.
   */
  const signIn = async (): Promise<{ cookie: string; csrf: string }> => {
    const form = await t.app.inject('/account/signin');
    const csrf = cookiesOf(form).pg_csrf!;
    const post = (path: string, fields: Record<string, string>) => t.app.inject({
      method: 'POST',
      url: path,
      headers: { cookie: `pg_csrf=${csrf}`, 'content-type': 'application/x-www-form-urlencoded' },
      payload: new URLSearchParams({ _csrf: csrf, ...fields }).toString(),
    });
    let signedIn = await post('/account/signin', { login: USERNAME, password: PASSWORD });
    if (signedIn.statusCode !== 303) signedIn = await post('/account/register', { username: USERNAME, email: 'sweeper@example.test', password: PASSWORD });
    expect(signedIn.statusCode).toBe(303);
    return { cookie: `pg_csrf=${csrf}; pg_session=${cookiesOf(signedIn).pg_session}`, csrf };
  };

  beforeAll(async () => {
    t = await createTestApp({
      PAIRGATE_RATE_LIMIT_MAX: '1000000',
      PAIRGATE_CODE_LOOKUPS_PER_MINUTE: '1000000',
      PAIRGATE_SIGNIN_ATTEMPTS_PER_MINUTE: '1000000',
      PAIRGATE_CODE_MISSES_PER_HOUR: '1000000',
      PAIRGATE_BRUTE_FORCE_BUDGET: '1',
      PAIRGATE_SCRYPT_COST: '10',
      PAIRGATE_DEVICE_CLIENTS: JSON.stringify({ 'tv-app': 'Living-room TV' }),
      PAIRGATE_DEVICE_ADMIN_TOKEN: ADMIN_TOKEN,
      PAIRGATE_DEVICE_INTROSPECTION_SECRET: ADMIN_TOKEN,
      PLEXUS_AUTH_USER: PLEXUS.user,
      PLEXUS_AUTH_PASS: PLEXUS.pass,
    });
    // A hook on the root reaches every route, the doors' included; a callback hook, so it has run
    // when `inject` hands the answer back.
    t.app.addHook('onResponse', (request, reply, done) => {
      answers.push({ method: request.method, route: request.routeOptions.url, url: request.url, status: reply.statusCode, contentType: mediaTypeOf(reply.getHeader('content-type')) });
      if (/^text\/html/.test(String(reply.getHeader('content-type') ?? ''))) {
        pages.push({ url: request.url, status: reply.statusCode, policy: String(reply.getHeader('content-security-policy') ?? '') });
      }
      done();
    });
    doc = (await t.app.inject('/docs/json')).json();
    // Registered before the sweeps spend the registration form's hourly limit.
    await signIn();
  });
  afterAll(() => t.close());

  it('documents every status of schema-valid requests, anonymous, signed in, from another site and from a browser', async () => {
    answers.length = 0;
    const callers: Caller[] = [{}, { credentials: true }, { credentials: true, crossSite: true }, { browser: true }];
    for (const caller of callers) {
      for (const [path, methods] of Object.entries(doc.paths)) {
        for (const [method, operation] of Object.entries(methods)) {
          if (!['get', 'post', 'put', 'patch', 'delete'].includes(method)) continue;
          const browser = caller.credentials ? await signIn() : {};
          await t.app.inject(validRequest(method, path, operation, { ...caller, ...browser }));
        }
      }
    }
    expect(undocumented(answers, doc)).toEqual([]);
  }, 120_000);

  it('documents every status of the happy paths: grants, accounts, app accesses, devices, organizations, support', async () => {
    answers.length = 0;
    const app = t.app;
    const json = (method: InjectOptions['method'], url: string, body?: unknown, headers: Record<string, string> = {}) =>
      app.inject({ method, url, headers: { ...headers, ...(body !== undefined ? { 'content-type': 'application/json' } : {}) }, ...(body !== undefined ? { payload: JSON.stringify(body) } : {}) });
    const form = (url: string, fields: Record<string, string>, headers: Record<string, string> = {}) =>
      app.inject({ method: 'POST', url, headers: { ...headers, 'content-type': 'application/x-www-form-urlencoded' }, payload: new URLSearchParams(fields).toString() });

    // Health.
    await app.inject('/healthz');
    await app.inject('/readyz');

    // Generic grants: create, read, look up, approve, redeem (twice), refuse; a finished grant's events.
    const grant = (await json('POST', '/api/v1/grants', { label: 'conformance' })).json();
    await app.inject(`/api/v1/grants/${grant.id}`);
    await app.inject(`/api/v1/codes/${grant.code}`);
    await json('POST', `/api/v1/codes/${grant.code}/approve`, { note: 'ok' });
    await app.inject(`/api/v1/grants/${grant.id}?wait=0`);
    await json('POST', `/api/v1/grants/${grant.id}/redeem`, { secret: grant.secret });
    await json('POST', `/api/v1/grants/${grant.id}/redeem`, { secret: grant.secret });
    const refused = (await json('POST', '/api/v1/grants', { label: 'refused' })).json();
    await json('POST', `/api/v1/codes/${refused.code}/refuse`, {});
    await json('POST', `/api/v1/codes/${refused.code}/refuse`, {});
    const events = await app.inject(`/api/v1/grants/${refused.id}/events`);
    expect(events.headers['content-type']).toMatch(/^text\/event-stream/);

    // Accounts: the signed-in pages, a wrong and a right password, a reset, signing out.
    const person = new Browser(app);
    await person.register('conformance-person');
    for (const page of ['/account', '/account/signin', '/account/register', '/account/password', '/account/delete', '/account/reset', '/account/accesses', '/account/devices', '/integrations', '/device']) await person.get(page);
    await person.post('/account/password', { current: 'not the password at all', password: PASSWORD });
    await person.post('/account/password', { current: PASSWORD, password: PASSWORD });
    await person.post('/account/delete', { password: 'not the password at all' });
    await person.post('/account/reset', { login: 'conformance-person' });
    await person.get('/account/reset/confirm?token=abcdefghijklmnopqrstuvwxyz');
    await person.post('/account/reset/confirm', { token: 'abcdefghijklmnopqrstuvwxyz', password: PASSWORD });
    await person.post('/account/signin', { login: 'conformance-person', password: 'not the password at all' });
    await person.post('/account/signout');
    await person.post('/account/signin', { login: 'conformance-person', password: PASSWORD });

    // App accesses: a request, its auth page, accepting it, polling it, its token at work, revoking it.
    const access = (await json('POST', '/access', { requestingAppId: 'conformance-app', requestedPermissions: [{ streamId: 'diary', level: 'read', defaultName: 'Diary' }], languageCode: 'en' })).json();
    await app.inject(`/access/${access.key}`);
    await person.get(`/access/auth?key=${access.key}`);
    await person.post('/access/auth/decide', { key: access.key, decision: 'accept' });
    await person.post('/access/auth/decide', { key: access.key, decision: 'accept' });
    const accepted = (await app.inject(`/access/${access.key}`)).json();
    expect(accepted.status).toBe('ACCEPTED');
    expect((await app.inject(`/access/${access.key}/events`)).headers['content-type']).toMatch(/^text\/event-stream/);
    await app.inject({ url: '/conformance-person/access-info', headers: { authorization: String(accepted.token) } });
    await app.inject({ url: '/conformance-person/access-info', headers: { authorization: 'not-a-token' } });
    await app.inject('/service/info');
    await app.inject('/conformance-person/service/info');
    await person.json('GET', '/api/v1/accesses');
    const accessId = (await person.json('GET', '/api/v1/accesses')).json().accesses[0].id;
    await person.post(`/account/accesses/${accessId}/revoke`);
    await person.json('DELETE', `/api/v1/accesses/${accessId}`);
    const other = (await json('POST', '/access', { requestingAppId: 'conformance-app', requestedPermissions: [{ streamId: 'diary', level: 'read' }], languageCode: 'en' })).json();
    const anonymous = new Browser(app);
    await anonymous.get(`/access/auth?key=${other.key}`);
    await anonymous.post('/access/auth/signin', { key: other.key, login: 'conformance-person', password: 'not the password at all' });
    await anonymous.post('/access/auth/signin', { key: other.key, login: 'conformance-person', password: PASSWORD });
    await anonymous.post('/access/auth/decide', { key: other.key, decision: 'refuse' });
    await app.inject(`/access/${other.key}`);

    // Devices: an authorization, the code typed and approved in the browser, the token, its
    // introspection and revocation, the devices page and its revoke form.
    await app.inject('/.well-known/oauth-authorization-server');
    const started = (await form('/oauth/device_authorization', { client_id: 'tv-app' })).json();
    const tokenRequest = { grant_type: 'urn:ietf:params:oauth:grant-type:device_code', device_code: started.device_code, client_id: 'tv-app' };
    await form('/oauth/token', tokenRequest);
    await person.get(`/device?user_code=${started.user_code}`);
    const typed = await person.post('/device', { user_code: started.user_code });
    const consent = await person.get(typed.headers.location as string);
    await person.post('/device/decide', { key: String(/name="key" value="([^"]+)"/.exec(consent.body)?.[1]), decision: 'approve' });
    const tokens = (await form('/oauth/token', tokenRequest)).json();
    expect(tokens.access_token).toBeDefined();
    await form('/oauth/token', { grant_type: 'refresh_token', refresh_token: tokens.refresh_token, client_id: 'tv-app' });
    await form('/oauth/introspect', { token: tokens.access_token }, { authorization: `Bearer ${ADMIN_TOKEN}` });
    const revoked = await form('/oauth/revoke', { token: tokens.access_token, client_id: 'tv-app' });
    const devices = (await person.json('GET', '/api/v1/device/tokens')).json().devices;
    await person.get('/account/devices');
    if (devices[0]) await person.post(`/account/devices/${devices[0].id}/revoke`);
    await person.json('DELETE', `/api/v1/device/tokens/${devices[0]?.id ?? 'abcdefghijklmnopqrstuv'}`);
    await json('GET', '/api/v1/device/clients', undefined, { authorization: `Bearer ${ADMIN_TOKEN}` });
    await json('PUT', '/api/v1/device/clients/conformance-client', { name: 'Conformance' }, { authorization: `Bearer ${ADMIN_TOKEN}` });
    await json('PUT', '/api/v1/device/clients/conformance-client', { name: 'Conformance again' }, { authorization: `Bearer ${ADMIN_TOKEN}` });
    await json('GET', '/api/v1/device/clients/conformance-client', undefined, { authorization: `Bearer ${ADMIN_TOKEN}` });
    await json('DELETE', '/api/v1/device/clients/conformance-client', undefined, { authorization: `Bearer ${ADMIN_TOKEN}` });

    // Organizations and chat installations: the API, then the page forms.
    const org = (await person.json('POST', '/api/v1/organizations', { name: 'Conformance' })).json();
    expect(org.id).toBeDefined();
    await person.json('GET', '/api/v1/organizations');
    await person.json('GET', `/api/v1/organizations/${org.id}/members`);
    await person.json('POST', `/api/v1/organizations/${org.id}/members`, { username: USERNAME });
    await person.json('POST', `/api/v1/organizations/${org.id}/members`, { username: USERNAME });
    await person.json('DELETE', `/api/v1/organizations/${org.id}/members/${USERNAME}`);
    await person.json('DELETE', `/api/v1/organizations/${org.id}/members/conformance-person`);
    for (const connector of ['mattermost', 'webhook']) {
      await person.json('POST', `/api/v1/integrations/${connector}/setup`, { org_id: org.id });
      await person.json('POST', `/api/v1/integrations/${connector}/link-tokens`, { org_id: org.id });
    }
    const setup = (await person.json('POST', '/api/v1/integrations/mattermost/setup', { org_id: org.id })).json();
    const installation = String(setup.manifest_link).split('/').at(-2);
    expect(installation).toMatch(/^[\w-]{22}$/);
    await app.inject(`/mattermost/${installation}/manifest.json`);
    await json('POST', `/mattermost/${installation}/ping`, { path: '/ping', context: {} });
    await json('POST', '/ping', {});
    await person.post('/integrations/orgs', { name: 'Conformance pages' });
    await person.get('/integrations');
    const pageOrg = (await person.json('GET', '/api/v1/organizations')).json().organizations.find((o: { name: string }) => o.name === 'Conformance pages').id;
    await person.post(`/integrations/orgs/${pageOrg}/members`, { username: USERNAME });
    await person.post(`/integrations/orgs/${pageOrg}/members`, { username: USERNAME });
    await person.post(`/integrations/orgs/${pageOrg}/webhook/setup`);
    await person.post(`/integrations/orgs/${pageOrg}/webhook/link-token`);
    await person.get(`/integrations/orgs/${pageOrg}/delete`);
    await person.post(`/integrations/orgs/${pageOrg}/delete`, { name: 'not its name' });
    await person.post(`/integrations/orgs/${pageOrg}/delete`, { name: 'Conformance pages' });
    await person.json('DELETE', `/api/v1/organizations/${org.id}`);

    // Support: a session, read, a new code, listed, ended.
    const basic = { authorization: `Basic ${Buffer.from(`${PLEXUS.user}:${PLEXUS.pass}`).toString('base64')}` };
    await json('POST', '/session', { id: 'conformance-session', supporter_name: 'Ada' }, basic);
    await json('GET', '/session', undefined, basic);
    await json('GET', '/session/conformance-session', undefined, basic);
    await json('POST', '/session/conformance-session/code', {}, basic);
    await json('DELETE', '/session/conformance-session', undefined, basic);
    await json('GET', '/session/conformance-session', undefined, basic);

    // Registry: the boxes of this network.
    await app.inject('/ping');
    await app.inject('/boxes');

    // The paths went where they were meant to: the answers the known defects were about among them.
    const seen = new Set(answers.map((answer) => `${answer.method} ${answer.route} ${answer.status}`));
    for (const expected of [
      'POST /account/register 303', 'POST /account/signout 303', 'POST /account/signin 303', 'POST /account/password 401',
      'POST /account/accesses/:id/revoke 303', 'POST /access/auth/decide 200', 'POST /access/auth/decide 409',
      'POST /device 303', 'POST /device/decide 200', 'POST /oauth/revoke 200', 'POST /account/devices/:id/revoke 303',
      'POST /integrations/orgs 303', 'POST /integrations/orgs/:org/delete 400', 'POST /integrations/orgs/:org/delete 303',
      'GET /api/v1/grants/:id/events 200', 'GET /access/:key/events 200', 'POST /session 201', 'DELETE /session/:id 204',
    ]) expect(seen, expected).toContain(expected);
    expect(undocumented(answers, doc)).toEqual([]);
    // RFC 7009 §2.2: 200 and a body the client ignores, which stays JSON for clients that parse it.
    expect({ status: revoked.statusCode, body: revoked.json() }).toEqual({ status: 200, body: {} });
  }, 120_000);

  it('documents every status the bad-input sweep gets, on every route', async () => {
    answers.length = 0;
    for (const op of sweptOperations(doc)) {
      for (const request of hostileRequests(op, { bodyLimit: t.config.PAIRGATE_BODY_LIMIT })) {
        await t.app.inject(request);
        // The same from a browser: a page refused before its handler answers with the error page.
        await t.app.inject({ ...request, headers: { ...request.headers, accept: BROWSER_ACCEPT } });
      }
    }
    expect(answers.length).toBeGreaterThan(1000);
    expect(undocumented(answers, doc)).toEqual([]);
  }, 120_000);

  // A route is given the page or the API security headers by what its schema documents
  // (answersMachineData): one that serves a page but documents only JSON would send its page
  // under default-src 'none', unstyled and without its script.
  it('sends every HTML answer of the sweeps with the page policy, never the API one', () => {
    expect(pages.length).toBeGreaterThan(20);
    expect(pages.filter((page) => !page.policy.includes("default-src 'self'"))).toEqual([]);
  });
});

describe('every route documents its answer past the rate limit', () => {
  let t: TestApp;
  const answers: Answer[] = [];
  beforeAll(async () => {
    t = await createTestApp({ PAIRGATE_RATE_LIMIT_MAX: '1', PAIRGATE_BRUTE_FORCE_BUDGET: '1' });
    t.app.addHook('onResponse', (request, reply, done) => {
      answers.push({ method: request.method, route: request.routeOptions.url, url: request.url, status: reply.statusCode, contentType: mediaTypeOf(reply.getHeader('content-type')) });
      done();
    });
  });
  afterAll(() => t.close());

  it('answers 429 where the document says it may', async () => {
    const doc: OpenApiDocument = (await t.app.inject('/docs/json')).json();
    // One request per network per window: every route under the global limit refuses the next.
    for (const op of sweptOperations(doc)) {
      const request = { method: op.method as InjectOptions['method'], url: fillPath(op.path, 'abcdefghijklmnopqrstuv') };
      await t.app.inject(request);
      await t.app.inject({ ...request, headers: { accept: BROWSER_ACCEPT } });
    }
    expect(answers.filter((answer) => answer.status === 429).length).toBeGreaterThan(50);
    // Pages refused by the rate limit answered browsers with the error page, documented as HTML.
    expect(answers.filter((answer) => answer.status === 429 && answer.contentType === 'text/html').length).toBeGreaterThan(5);
    expect(undocumented(answers, doc)).toEqual([]);
  });
});
