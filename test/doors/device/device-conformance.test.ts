import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEVICE_GRANT_TYPE } from '../../../src/doors/device/device-grant.js';
import { createTestApp, type TestApp } from '../../helpers/app.js';
import { authorize, DEVICE_ENV, INTROSPECTION_AUTH, postForm } from './device-helpers.js';

/** POSTs a raw body with `contentType` to `url` from `remoteAddress`, by inject. */
async function postRaw(t: TestApp, url: string, payload: string, contentType = 'application/x-www-form-urlencoded', headers: Record<string, string> = {}, remoteAddress?: string) {
  const response = await t.app.inject({ method: 'POST', url, headers: { 'content-type': contentType, ...headers }, payload, ...(remoteAddress ? { remoteAddress } : {}) });
  return { status: response.statusCode, body: response.json() as Record<string, unknown>, headers: response.headers };
}

describe('device door: RFC 6749 conformance details', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await createTestApp({ ...DEVICE_ENV, PAIRGATE_DEVICE_AUTHORIZATIONS_PER_MINUTE: '100000', PAIRGATE_RATE_LIMIT_MAX: '100000' });
  });
  afterAll(() => t.close());

  it('every answer of the token endpoint carries Cache-Control: no-store and Pragma: no-cache, errors raised before the handler included', async () => {
    const answers = [
      await postRaw(t, '/oauth/token', 'grant_type=x', 'text/plain'), // 415
      await postRaw(t, '/oauth/token', 'client_id=tv-app'), // grant_type missing
      await postRaw(t, '/oauth/token', `grant_type=${encodeURIComponent(DEVICE_GRANT_TYPE)}&client_id=tv-app&device_code=${'x'.repeat(600)}`), // too long
      await postForm(t.app, '/oauth/token', { grant_type: 'password', client_id: 'tv-app' }),
      await postForm(t.app, '/oauth/device_authorization', { client_id: 'cli', scope: 'admin' }),
      await postRaw(t, '/oauth/device_authorization', 'client_id=cli', 'text/plain'),
      await postRaw(t, '/oauth/revoke', 'token=x', 'text/plain'),
      await postRaw(t, '/oauth/revoke', 'client_id=tv-app'), // token missing
      await postRaw(t, '/oauth/introspect', '{}', 'application/json', INTROSPECTION_AUTH), // token missing
    ];
    for (const answer of answers) {
      expect(answer.status).toBeGreaterThanOrEqual(400);
      expect(answer.body.error).toEqual(expect.any(String));
      expect(answer.headers['cache-control']).toBe('no-store');
      expect(answer.headers.pragma).toBe('no-cache');
    }
  });

  it('a parameter sent twice is invalid_request naming it (RFC 6749 §3.1), also one the route does not read', async () => {
    const repeatedClient = await postRaw(t, '/oauth/device_authorization', 'client_id=tv-app&client_id=cli');
    expect(repeatedClient.status).toBe(400);
    expect(repeatedClient.body).toMatchObject({ error: 'invalid_request', error_description: expect.stringContaining('client_id is sent more than once') });

    const same = await postRaw(t, '/oauth/token', `grant_type=${encodeURIComponent(DEVICE_GRANT_TYPE)}&grant_type=${encodeURIComponent(DEVICE_GRANT_TYPE)}&client_id=tv-app&device_code=x`);
    expect(same.body).toMatchObject({ error: 'invalid_request', error_description: expect.stringContaining('grant_type is sent more than once') });

    // A field the endpoint ignores, sent twice, was let through.
    const unread = await postRaw(t, '/oauth/device_authorization', 'client_id=tv-app&client_secret=a&client_secret=b');
    expect(unread.status).toBe(400);
    expect(unread.body).toMatchObject({ error: 'invalid_request', error_description: expect.stringContaining('client_secret is sent more than once') });

    // JSON: a list is no OAuth parameter either (a one-element list was taken for its element).
    const list = await postRaw(t, '/oauth/device_authorization', JSON.stringify({ client_id: ['cli'], scope: 'read' }), 'application/json');
    expect(list.status).toBe(400);
    expect(list.body).toMatchObject({ error: 'invalid_request' });

    // A parameter with no name, repeated, is said to be one (the message read "The parameter  is sent...").
    const nameless = await postRaw(t, '/oauth/revoke', 'client_id=tv-app&token=a&=x&=y');
    expect(nameless).toMatchObject({ status: 400, body: { error: 'invalid_request', error_description: expect.stringMatching(/^A parameter with no name .* is sent more than once/) } });

    const revoke = await postRaw(t, '/oauth/revoke', 'client_id=tv-app&token=a&token=b');
    expect(revoke.body).toMatchObject({ error: 'invalid_request', error_description: expect.stringContaining('token is sent more than once') });
    const introspect = await postRaw(t, '/oauth/introspect', 'token=a&token=b', undefined, INTROSPECTION_AUTH);
    expect(introspect.body).toMatchObject({ error: 'invalid_request', error_description: expect.stringContaining('token is sent more than once') });
    // Introspection checks its secret before it looks at the body at all.
    const noSecret = await postRaw(t, '/oauth/introspect', 'token=a&token=b');
    expect(noSecret.status).toBe(401);

    // Each parameter once still works.
    expect((await authorize(t.app, 'cli', 'read')).status).toBe(200);
  });

  it('introspection refuses a caller without its secret before reading the body: no 415 or 400 tells it what the endpoint reads', async () => {
    for (const [payload, type] of [['token=a', 'text/plain'], ['{not json', 'application/json'], ['', 'application/x-www-form-urlencoded']] as const) {
      const answer = await postRaw(t, '/oauth/introspect', payload, type);
      expect(answer.status).toBe(401);
      expect(answer.body).toMatchObject({ error: 'invalid_client', pairgate_error: 'introspection_unauthorized' });
      expect(answer.headers['www-authenticate']).toBe('Bearer realm="pairgate-introspection"');
      expect(answer.headers.pragma).toBe('no-cache');
    }
    // With the secret, the body's faults are told as before.
    expect((await postRaw(t, '/oauth/introspect', 'token=a', 'text/plain', INTROSPECTION_AUTH)).status).toBe(415);
  });

  it('a Basic header that is not well-formed is 401 invalid_client with a Basic challenge, not passed over for the body', async () => {
    for (const url of ['/oauth/device_authorization', '/oauth/token', '/oauth/revoke']) {
      // Not base64, or base64 of a user id without the colon RFC 7617 puts before the password.
      for (const authorization of ['Basic not*base64!', `Basic ${Buffer.from('tv-app').toString('base64')}`]) {
        const answer = await postForm(t.app, url, { client_id: 'tv-app', grant_type: DEVICE_GRANT_TYPE, device_code: 'x', token: 'x' }, { authorization });
        expect(answer.status).toBe(401);
        expect(answer.body).toMatchObject({ error: 'invalid_client' });
        expect(answer.headers['www-authenticate']).toBe('Basic realm="pairgate", charset="UTF-8"');
      }
    }
    // Well-formed, URL-encoded as RFC 6749 §2.3.1 asks: the client is named.
    const ok = await postForm(t.app, '/oauth/device_authorization', {}, { authorization: `Basic ${Buffer.from('tv%2Dapp:').toString('base64')}` });
    expect(ok.status).toBe(200);
  });
});

describe('device door: waiting authorizations per network', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await createTestApp({ ...DEVICE_ENV, PAIRGATE_DEVICE_AUTHORIZATIONS_PER_MINUTE: '100000', PAIRGATE_RATE_LIMIT_MAX: '100000', PAIRGATE_DEVICE_MAX_PENDING: '10', PAIRGATE_DEVICE_MAX_PENDING_PER_IP: '3', PAIRGATE_DEVICE_TOKEN_REQUESTS_PER_MINUTE: '2' });
  });
  afterAll(() => t.close());

  const ask = (remoteAddress: string) => postRaw(t, '/oauth/device_authorization', 'client_id=tv-app', undefined, {}, remoteAddress);

  it('one network cannot hold every waiting authorization: beyond its share, 429 rate_limited with Retry-After, and others still pair', async () => {
    for (let i = 0; i < 3; i++) expect((await ask('203.0.113.7')).status).toBe(200);
    const refused = await ask('203.0.113.7');
    expect(refused.status).toBe(429);
    expect(refused.body).toMatchObject({ error: 'rate_limited', pairgate_error: 'too_many_pending', error_description: expect.stringContaining('PAIRGATE_DEVICE_MAX_PENDING_PER_IP') });
    expect(Number(refused.headers['retry-after'])).toBeGreaterThan(0);
    // Another IPv6 address of the same /64 is the same network.
    for (let i = 0; i < 3; i++) expect((await ask('2001:db8:1:2::1')).status).toBe(200);
    expect((await ask('2001:db8:1:2::ffff')).status).toBe(429);
    // Another network still gets codes (10 server-wide, 6 held).
    expect((await ask('198.51.100.9')).status).toBe(200);
  });

  it('under pressure a crowded network takes half the places at most: 20 networks at their share no longer block every device', async () => {
    // 20 places in all, 10 per network: two networks at their share held every one before.
    const crowd = await createTestApp({ ...DEVICE_ENV, PAIRGATE_DEVICE_AUTHORIZATIONS_PER_MINUTE: '100000', PAIRGATE_RATE_LIMIT_MAX: '100000', PAIRGATE_DEVICE_MAX_PENDING: '20', PAIRGATE_DEVICE_MAX_PENDING_PER_IP: '10' });
    try {
      const askFrom = (remoteAddress: string) => postRaw(crowd, '/oauth/device_authorization', 'client_id=tv-app', undefined, {}, remoteAddress);
      // The first network fills its share while the server is under half full.
      for (let i = 0; i < 10; i++) expect((await askFrom('203.0.113.20')).status).toBe(200);
      // The second: its first five (QUIET_SHARE) pass, the sixth is refused, half the places being taken.
      for (let i = 0; i < 5; i++) expect((await askFrom('203.0.113.21')).status).toBe(200);
      const refused = await askFrom('203.0.113.21');
      expect(refused.status).toBe(429);
      expect(refused.body).toMatchObject({ error: 'rate_limited', pairgate_error: 'too_many_pending', error_description: expect.stringContaining('your network already has 5 of them') });
      expect(Number(refused.headers['retry-after'])).toBeGreaterThan(500);
      // Networks holding a few still pair, up to the server-wide cap.
      for (const network of ['198.51.100.1', '198.51.100.2', '198.51.100.3', '198.51.100.4', '198.51.100.5']) expect((await askFrom(network)).status).toBe(200);
      expect((await askFrom('198.51.100.6')).body).toMatchObject({ error: 'rate_limited', error_description: 'Too many device authorizations are waiting. Try again shortly.' });
    } finally {
      await crowd.close();
    }
  });

  it('the token endpoint\'s rate limit (raised before the route\'s code) answers no-store with Pragma too', async () => {
    const poll = () => postRaw(t, '/oauth/token', 'grant_type=password&client_id=tv-app', undefined, {}, '192.0.2.44');
    await poll();
    await poll();
    const limited = await poll();
    expect(limited.status).toBe(429);
    expect(limited.body).toMatchObject({ error: 'rate_limited' });
    expect(limited.headers['cache-control']).toBe('no-store');
    expect(limited.headers.pragma).toBe('no-cache');
  });
});
