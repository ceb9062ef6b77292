import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, type TestApp } from '../helpers/app.js';
import { ADMIN_AUTH, startOrigin } from '../doors/support/helpers.js';

/**
 * JSON bodies are checked without type conversion on every door (request-validation.ts): a value
 * of the wrong type is a 400 with the route's machine code, in its error shape. Text keeps its
 * conversion: query strings, and form fields (urlencoded and multipart) declared as numbers.
 */

const AVATAR = 'https://avatars.example/ada.png';

describe('JSON bodies are not converted to the schema\'s types', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await createTestApp({ PAIRGATE_GRANTS_CREATE_PER_MINUTE: '1000', PAIRGATE_ACCESS_CREATE_PER_MINUTE: '1000', PAIRGATE_SCRYPT_COST: '10' });
  });
  afterAll(() => t.close());

  const createGrant = (body: unknown) => t.app.inject({ method: 'POST', url: '/api/v1/grants', payload: JSON.stringify(body), headers: { 'content-type': 'application/json' } });

  it('grants: a label that is not a string, a ttl that is not an integer are refused (400 validation_failed)', async () => {
    const cases: [unknown, RegExp][] = [
      [{ label: 5 }, /label must be string/],
      [{ label: true }, /label must be string/],
      [{ label: ['Printer'] }, /label must be string/],
      [{ label: null }, /label must be string/],
      [{ label: 'Printer', ttl: '60' }, /ttl must be integer/],
      [{ label: 'Printer', ttl: true }, /ttl must be integer/],
      [{ label: 'Printer', ttl: [60] }, /ttl must be integer/],
      [{ label: 'Printer', data: { room: 12 } }, /room must be string/],
    ];
    for (const [body, message] of cases) {
      const answer = await createGrant(body);
      expect({ body, status: answer.statusCode }).toEqual({ body, status: 400 });
      expect(answer.json(), JSON.stringify(body)).toEqual({ error: 'validation_failed', message: expect.stringMatching(message) });
    }
    // The message says what the JSON had instead, since conversion is what a client may have relied on.
    expect((await createGrant({ label: 'Printer', ttl: '60' })).json().message).toBe('body.ttl must be integer; this JSON body has a string there (a JSON body\'s values are taken as sent, never converted).');
    expect((await createGrant({ label: ['Printer'] })).json().message).toBe('body.label must be string; this JSON body has a list there (a JSON body\'s values are taken as sent, never converted).');
    // The same values of the right types are taken as sent.
    const created = await createGrant({ label: 'Printer', ttl: 60, data: { room: '12' } });
    expect(created.statusCode).toBe(201);
    expect(created.json()).toMatchObject({ label: 'Printer', data: { room: '12' } });
  });

  it('grants: a blank label (empty, spaces, other white space) is refused in words', async () => {
    for (const label of ['', ' ', '   ', '\t\n', '\u00a0\u3000']) {
      const answer = await createGrant({ label });
      expect({ label, status: answer.statusCode }).toEqual({ label, status: 400 });
      expect(answer.json()).toEqual({ error: 'validation_failed', message: 'The label is blank: give it a few words that tell the approver what they are approving (1 to 200 characters, not only spaces).' });
    }
    // A label with words around spaces is a label.
    expect((await createGrant({ label: '  Printer in room 12 ' })).statusCode).toBe(201);
    // So is a form's: blank refused, words taken.
    const blank = await t.app.inject({ method: 'POST', url: '/api/v1/grants', payload: 'label=++', headers: { 'content-type': 'application/x-www-form-urlencoded' } });
    expect(blank.statusCode).toBe(400);
    expect(blank.json().message).toMatch(/^The label is blank/);
  });

  it('grants: a fact\'s name longer than 64 characters is refused, said to be the name (TypeBox 1 had dropped the limit)', async () => {
    const long = 'k'.repeat(65);
    const answer = await createGrant({ label: 'Printer', data: { [long]: 'v' } });
    expect(answer.statusCode).toBe(400);
    expect(answer.json()).toEqual({ error: 'validation_failed', message: 'body.data: the field name "kkkkkkkkkkkkkkkkkkkk…" must NOT have more than 64 characters.' });
    expect((await createGrant({ label: 'Printer', data: { ['k'.repeat(64)]: 'v' } })).statusCode).toBe(201);
  });

  it('access: a clientData name longer than 100 characters is refused', async () => {
    const base = { requestingAppId: 'test-app-id', requestedPermissions: [{ streamId: 'diary', level: 'read', defaultName: 'Diary' }], languageCode: 'en' };
    const refused = await t.app.inject({ method: 'POST', url: '/access', payload: { ...base, clientData: { ['n'.repeat(101)]: 1 } } });
    expect(refused.statusCode).toBe(400);
    expect(refused.json()).toMatchObject({ id: 'validation_failed', message: expect.stringContaining('the field name "nnnnnnnnnnnnnnnnnnnn…"') });
    expect((await t.app.inject({ method: 'POST', url: '/access', payload: { ...base, clientData: { ['n'.repeat(100)]: 1 } } })).statusCode).toBe(201);
  });

  it('grants: a form still sends its integer ttl as text, and the query string its numbers', async () => {
    const form = await t.app.inject({ method: 'POST', url: '/api/v1/grants', payload: 'label=Printer&ttl=60', headers: { 'content-type': 'application/x-www-form-urlencoded' } });
    expect(form.statusCode).toBe(201);
    const created = form.json();
    const ttlMs = Date.parse(created.expiresAt) - Date.parse(created.createdAt);
    expect(ttlMs).toBeGreaterThan(59_000);
    expect(ttlMs).toBeLessThanOrEqual(60_000);
    // A wrong form value is still refused, by the converted schema.
    const wrong = await t.app.inject({ method: 'POST', url: '/api/v1/grants', payload: 'label=Printer&ttl=soon', headers: { 'content-type': 'application/x-www-form-urlencoded' } });
    expect(wrong.statusCode).toBe(400);
    expect(wrong.json()).toMatchObject({ error: 'validation_failed', message: 'body.ttl must be integer.' });
    // ?wait= and ?since= are numbers on the wire as text: a version already passed answers at once.
    const read = await t.app.inject({ method: 'GET', url: `/api/v1/grants/${created.id}?wait=5&since=0` });
    expect(read.statusCode).toBe(200);
    expect(read.headers['preference-applied']).toBeUndefined();
    expect(read.json()).toMatchObject({ id: created.id, state: 'pending' });
    const badWait = await t.app.inject({ method: 'GET', url: `/api/v1/grants/${created.id}?wait=soon` });
    expect(badWait.statusCode).toBe(400);
    expect(badWait.json()).toMatchObject({ error: 'invalid_wait' });
  });

  it('grants: a decision\'s note and a redemption\'s secret must be strings', async () => {
    const created = (await createGrant({ label: 'Printer' })).json();
    const code = String(created.code).replace(/[^0-9A-Za-z]/g, '');
    const note = await t.app.inject({ method: 'POST', url: `/api/v1/codes/${code}/approve`, payload: { note: 42 } });
    expect(note.statusCode).toBe(400);
    expect(note.json()).toMatchObject({ error: 'validation_failed', message: expect.stringMatching(/note must be string/) });
    const redeem = await t.app.inject({ method: 'POST', url: `/api/v1/grants/${created.id}/redeem`, payload: { secret: 1234567890123 } });
    expect(redeem.statusCode).toBe(400);
    expect(redeem.json()).toMatchObject({ error: 'validation_failed', message: expect.stringMatching(/secret must be string/) });
  });

  it('access: POST /access refuses an expireAfter in a string, a returnURL of another type, in its own shape', async () => {
    const base = { requestingAppId: 'test-app-id', requestedPermissions: [{ streamId: 'diary', level: 'read', defaultName: 'Diary' }], languageCode: 'en' };
    for (const extra of [{ expireAfter: '3600' }, { expireAfter: 0 }, { returnURL: 0 }, { deviceName: 7 }, { clientData: 'text' }]) {
      const answer = await t.app.inject({ method: 'POST', url: '/access', payload: { ...base, ...extra } });
      expect({ extra, status: answer.statusCode }).toEqual({ extra, status: 400 });
      expect(answer.json()).toMatchObject({ id: 'validation_failed', error: { id: 'validation_failed' }, message: expect.any(String) });
    }
    const accepted = await t.app.inject({ method: 'POST', url: '/access', payload: { ...base, expireAfter: 3600, returnURL: false } });
    expect(accepted.statusCode).toBe(201);
    expect(accepted.json()).toMatchObject({ status: 'NEED_SIGNIN', expireAfter: 3600, returnURL: null });
  });

  it('device: the OAuth endpoints refuse a JSON parameter of the wrong type in the OAuth shape; forms still work', async () => {
    const json = await t.app.inject({ method: 'POST', url: '/oauth/device_authorization', payload: { client_id: 12345 } });
    expect(json.statusCode).toBe(400);
    expect(json.json()).toMatchObject({ error: 'invalid_request', error_description: expect.stringMatching(/client_id/) });
    // The same as a form reaches the client check (the id is unknown here), past the schema.
    const form = await t.app.inject({ method: 'POST', url: '/oauth/device_authorization', payload: 'client_id=12345', headers: { 'content-type': 'application/x-www-form-urlencoded' } });
    expect(form.json().error).not.toBe('invalid_request');
  });
});

describe('support: the session API (Plexus shape)', () => {
  let origin: TestApp;
  beforeAll(async () => {
    origin = await startOrigin('');
  });
  afterAll(() => origin.close());

  const post = (body: string, type: string) => fetch(`${origin.url}/session`, { method: 'POST', headers: { authorization: ADMIN_AUTH, 'content-type': type, accept: 'application/json' }, body });

  it('a JSON ttl in a string is refused; the same ttl in a form or multipart fields is taken', async () => {
    const refused = await post(JSON.stringify({ id: 'ttl-string', ttl: '600', supporter_name: 'Ada', supporter_avatar: AVATAR }), 'application/json');
    expect(refused.status).toBe(400);
    expect(await refused.json()).toEqual({ Error: 'Bad Request', Description: expect.stringMatching(/ttl must be integer/), Code: 'validation_failed' });
    const json = await post(JSON.stringify({ id: 'ttl-json', ttl: 600, supporter_name: 'Ada', supporter_avatar: AVATAR }), 'application/json');
    expect(json.status).toBe(201);
    const form = await post(new URLSearchParams({ id: 'ttl-form', ttl: '600', supporter_name: 'Ada', supporter_avatar: AVATAR }).toString(), 'application/x-www-form-urlencoded');
    expect(form.status).toBe(201);
    const fields = new FormData();
    for (const [name, value] of Object.entries({ id: 'ttl-multipart', ttl: '600', supporter_name: 'Ada', supporter_avatar: AVATAR })) fields.append(name, value);
    const multipart = await fetch(`${origin.url}/session`, { method: 'POST', headers: { authorization: ADMIN_AUTH, accept: 'application/json' }, body: fields });
    expect(multipart.status).toBe(201);
    // Each lives as long as asked.
    for (const id of ['ttl-json', 'ttl-form', 'ttl-multipart']) {
      const session = (await (await fetch(`${origin.url}/session/${id}`, { headers: { authorization: ADMIN_AUTH, accept: 'application/json' } })).json()) as { ExpiresAt: string };
      const left = Date.parse(session.ExpiresAt) - Date.now();
      expect(left, id).toBeGreaterThan(590_000);
      expect(left, id).toBeLessThanOrEqual(600_000);
    }
  });
});
