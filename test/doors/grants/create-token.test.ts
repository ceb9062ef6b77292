import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { grantsDoor } from '../../../src/doors/grants/grants-door.js';
import { loadConfig } from '../../../src/server/config.js';
import { checkConfig } from '../../../src/server/start.js';
import { PairgateClient } from '../../../src/sdk/client.js';
import { PairgateApiError } from '../../../src/sdk/errors.js';
import { createTestApp, type TestApp } from '../../helpers/app.js';

const TOKEN = 'create-token-0123456789abcdefghijklm';

/**
 * PAIRGATE_GRANTS_CREATE_TOKEN: with it set, creating a grant takes that secret as a Bearer token,
 * so a public server's live codes cannot be taken by whoever reaches it; looking a code up and
 * deciding stay open to the approver, whose credential is the code.
 */
describe('the generic API with a creation token', () => {
  let t: TestApp;
  let base: string;
  beforeAll(async () => {
    t = await createTestApp({ PAIRGATE_GRANTS_CREATE_TOKEN: TOKEN });
    base = await t.listen();
  });
  afterAll(() => t.close());

  const create = (authorization?: string, body = '{"label":"with token"}') =>
    fetch(`${base}/api/v1/grants`, { method: 'POST', headers: { 'content-type': 'application/json', ...(authorization === undefined ? {} : { authorization }) }, body });

  it('refuses creation without the token, or with another, 401 grants_token_required with a Bearer challenge; nothing is created', async () => {
    const before = await t.app.pairgate.stores.grants.countLive('pair', Date.now());
    for (const authorization of [undefined, 'Bearer wrong-token-0123456789abcdefghijklm', `Basic ${TOKEN}`, `Bearer ${TOKEN}x`, `Bearer ${TOKEN.slice(0, -1)}`, 'Bearer']) {
      const answer = await create(authorization);
      expect(answer.status, String(authorization)).toBe(401);
      expect(answer.headers.get('www-authenticate')).toMatch(/^Bearer realm="pairgate-grants"/);
      const body = (await answer.json()) as { error: string; message: string };
      expect(body.error).toBe('grants_token_required');
      expect(body.message).toMatch(/PAIRGATE_GRANTS_CREATE_TOKEN/);
    }
    // Refused before the body is read: a malformed one is still a 401, not a 400.
    expect((await create(undefined, '{not json')).status).toBe(401);
    expect(await t.app.pairgate.stores.grants.countLive('pair', Date.now())).toBe(before);
  });

  it('creates with the token (the scheme in any case); the code is looked up and approved without it', async () => {
    for (const scheme of ['Bearer', 'bearer']) {
      const answer = await create(`${scheme} ${TOKEN}`);
      expect(answer.status).toBe(201);
      const { code } = (await answer.json()) as { code: string };
      expect((await fetch(`${base}/api/v1/codes/${code}`)).status).toBe(200);
      expect((await fetch(`${base}/api/v1/codes/${code}/approve`, { method: 'POST' })).status).toBe(200);
    }
  });

  it('the SDK sends it with createGrant when given, and says what is missing when not', async () => {
    const created = await new PairgateClient({ baseUrl: base, createToken: TOKEN }).createGrant({ label: 'sdk' });
    expect(created.code).toBeTruthy();
    const refused = await new PairgateClient({ baseUrl: base }).createGrant({ label: 'sdk' }).catch((error: unknown) => error);
    expect(refused).toBeInstanceOf(PairgateApiError);
    expect(refused).toMatchObject({ status: 401, code: 'grants_token_required' });
  });

  it('the OpenAPI document says the creation takes a Bearer secret', async () => {
    const doc = (await (await fetch(`${base}/docs/json`)).json()) as { paths: Record<string, { post?: { security?: unknown; responses: Record<string, unknown> } }> };
    const post = doc.paths['/api/v1/grants']!.post!;
    expect(post.security).toEqual([{ bearerSecret: [] }]);
    expect(Object.keys(post.responses)).toContain('401');
  });

  it('a token too short to be safe, or with a space, stops the server at start-up, naming the key', () => {
    const config = (env: Record<string, string>) => loadConfig([grantsDoor.configSchema!], { env });
    for (const token of ['short', `${TOKEN} x`]) {
      expect(() => checkConfig(config({ PAIRGATE_GRANTS_CREATE_TOKEN: token }), [grantsDoor])).toThrow(/PAIRGATE_GRANTS_CREATE_TOKEN: expected a secret of at least 32 characters/);
    }
    expect(() => checkConfig(config({ PAIRGATE_GRANTS_CREATE_TOKEN: TOKEN }), [grantsDoor])).not.toThrow();
  });
});

describe('the generic API without a creation token', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await createTestApp();
  });
  afterAll(() => t.close());

  it('creates for anyone, and its OpenAPI document asks for no credential', async () => {
    expect((await t.app.inject({ method: 'POST', url: '/api/v1/grants', payload: { label: 'open' } })).statusCode).toBe(201);
    const doc = (await t.app.inject({ method: 'GET', url: '/docs/json' })).json() as { paths: Record<string, { post?: { security?: unknown } }> };
    expect(doc.paths['/api/v1/grants']!.post!.security).toBeUndefined();
  });
});
