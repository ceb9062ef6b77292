import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEVICE_GRANT_TYPE } from '../../../src/doors/device/device-grant.js';
import { createTestApp, type TestApp } from '../../helpers/app.js';
import { DEVICE_ENV } from './device-helpers.js';

/**
 * Clients are public: a client that sends a secret believes it authenticates with it, and is told
 * (401 invalid_client) wherever it sends it, in HTTP Basic or in the form (RFC 6749 §2.3.1).
 */
describe('device door: client credentials in the form are refused like those in Basic', () => {
  let t: TestApp;
  let base: string;
  beforeAll(async () => {
    t = await createTestApp({ ...DEVICE_ENV, PAIRGATE_DEVICE_AUTHORIZATIONS_PER_MINUTE: '1000', PAIRGATE_DEVICE_TOKEN_REQUESTS_PER_MINUTE: '1000' });
    base = await t.listen();
  });
  afterAll(() => t.close());

  const post = async (path: string, fields: Record<string, string>, headers: Record<string, string> = {}) => {
    const response = await fetch(`${base}${path}`, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded', ...headers }, body: new URLSearchParams(fields) });
    return { status: response.status, body: (await response.json()) as Record<string, unknown>, headers: response.headers };
  };
  const basic = (user: string, password: string) => ({ authorization: `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}` });
  const deviceCode = async () => String((await post('/oauth/device_authorization', { client_id: 'tv-app' })).body.device_code);

  it('a client configured with a secret, as Go\'s oauth2 sends it (Basic first, then the form after any error), is told invalid_client both times', async () => {
    const device = await deviceCode();
    const inBasic = await post('/oauth/token', { grant_type: DEVICE_GRANT_TYPE, device_code: device }, basic('tv-app', 's3cret'));
    expect(inBasic).toMatchObject({ status: 401, body: { error: 'invalid_client' } });
    // The retry with the secret in the form was answered authorization_pending: the client ran on
    // its id alone, and its developer never learnt the secret meant nothing.
    const inForm = await post('/oauth/token', { grant_type: DEVICE_GRANT_TYPE, device_code: device, client_id: 'tv-app', client_secret: 's3cret' });
    expect(inForm.status).toBe(401);
    expect(inForm.body).toEqual({ error: 'invalid_client', error_description: 'This server\'s clients are public and have no secret (token_endpoint_auth_method none): send the client_id alone, without client_secret.' });
    expect(inForm.headers.get('cache-control')).toBe('no-store');
    // Named in the form alone, the client used no HTTP scheme, so it gets no challenge (RFC 6749 §5.2).
    expect(inForm.headers.get('www-authenticate')).toBeNull();
    // The device code is untouched: the same request without the secret is the usual answer.
    expect((await post('/oauth/token', { grant_type: DEVICE_GRANT_TYPE, device_code: device, client_id: 'tv-app' })).body.error).toBe('authorization_pending');
  });

  it('at every endpoint that names a client, and for assertions (RFC 7523) as for secrets; an empty one is none', async () => {
    const device = await deviceCode();
    const refused = [
      await post('/oauth/device_authorization', { client_id: 'tv-app', client_secret: 'x' }),
      await post('/oauth/token', { grant_type: 'refresh_token', refresh_token: 'a'.repeat(43), client_id: 'tv-app', client_secret: 'x' }),
      await post('/oauth/revoke', { token: 'a'.repeat(43), client_id: 'tv-app', client_secret: 'x' }),
      await post('/oauth/token', { grant_type: DEVICE_GRANT_TYPE, device_code: device, client_id: 'tv-app', client_assertion_type: 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer', client_assertion: 'eyJ.eyJ.sig' }),
      // With Basic naming the client and the secret in the form: the challenge goes with it.
      await post('/oauth/token', { grant_type: DEVICE_GRANT_TYPE, device_code: device, client_secret: 'x' }, basic('tv-app', '')),
    ];
    for (const answer of refused) expect(answer, JSON.stringify(answer.body)).toMatchObject({ status: 401, body: { error: 'invalid_client' } });
    expect(refused[3]!.body.error_description).toContain('without client_assertion');
    expect(refused[4]!.headers.get('www-authenticate')).toBe('Basic realm="pairgate", charset="UTF-8"');
    // client_secret= (sent empty, as some libraries always do) is taken as omitted (RFC 6749 §3.2).
    expect((await post('/oauth/device_authorization', { client_id: 'tv-app', client_secret: '' })).status).toBe(200);
    expect((await post('/oauth/token', { grant_type: DEVICE_GRANT_TYPE, device_code: device, client_id: 'tv-app', client_secret: '' })).body.error).toBe('authorization_pending');
  });

  it('an Authorization header of another scheme (Bearer) is refused with the client_id in the form, at every endpoint that names a client, with the Basic challenge', async () => {
    const device = await deviceCode();
    const calls: [string, Record<string, string>][] = [
      ['/oauth/device_authorization', { client_id: 'tv-app' }],
      ['/oauth/token', { grant_type: DEVICE_GRANT_TYPE, device_code: device, client_id: 'tv-app' }],
      ['/oauth/token', { grant_type: 'refresh_token', refresh_token: 'a'.repeat(43), client_id: 'tv-app' }],
      ['/oauth/revoke', { token: 'a'.repeat(43), client_id: 'tv-app' }],
    ];
    for (const [path, fields] of calls) {
      // Each was answered as if the header were not there (200, authorization_pending...): the
      // client believed its token authenticated it.
      for (const authorization of ['Bearer some-access-token', 'Digest username="tv-app"', 'tv-app']) {
        const answer = await post(path, fields, { authorization });
        expect(answer.status, `${path} ${authorization}`).toBe(401);
        expect(answer.body.error, `${path} ${authorization}`).toBe('invalid_client');
        expect(answer.body.error_description, path).toMatch(/send the client_id alone, in the form or as HTTP Basic with an empty password, and no other Authorization header/);
        expect(answer.headers.get('www-authenticate'), path).toBe('Basic realm="pairgate", charset="UTF-8"');
        expect(answer.headers.get('cache-control'), path).toBe('no-store');
      }
    }
    expect((await post('/oauth/revoke', { token: 'x', client_id: 'tv-app' }, { authorization: 'Bearer x' })).body.error_description).toContain('uses the Bearer scheme');
    // Without the header, the same requests are answered as usual; the device code is untouched
    // (its first poll: the refused ones were not counted as polls).
    expect((await post('/oauth/device_authorization', { client_id: 'tv-app' })).status).toBe(200);
    expect((await post('/oauth/token', { grant_type: DEVICE_GRANT_TYPE, device_code: device, client_id: 'tv-app' })).body.error).toBe('authorization_pending');
    expect((await post('/oauth/revoke', { token: 'a'.repeat(43), client_id: 'tv-app' })).status).toBe(200);
  });
});
