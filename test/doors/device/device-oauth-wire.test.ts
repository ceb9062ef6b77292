import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEVICE_GRANT_TYPE } from '../../../src/doors/device/device-grant.js';
import { createTestApp, type TestApp } from '../../helpers/app.js';
import { DEVICE_ENV, INTROSPECTION_AUTH } from './device-helpers.js';

/** RFC 6749 §5.2: what an error_description may hold (%x20-21 / %x23-5B / %x5D-7E). */
const DESCRIPTION_CHARACTERS = /^[\x20-\x21\x23-\x5B\x5D-\x7E]*$/;

describe('device door: the OAuth wire format over a real socket', () => {
  let t: TestApp;
  let base: string;
  beforeAll(async () => {
    t = await createTestApp({ ...DEVICE_ENV, PAIRGATE_DEVICE_AUTHORIZATIONS_PER_MINUTE: '100000', PAIRGATE_RATE_LIMIT_MAX: '100000' });
    base = await t.listen();
  });
  afterAll(() => t.close());

  /** POSTs `body` as it is (a form unless `type` says otherwise) and reads the JSON answer. */
  const post = async (path: string, body: string, type = 'application/x-www-form-urlencoded', headers: Record<string, string> = {}) => {
    const response = await fetch(`${base}${path}`, { method: 'POST', headers: { 'content-type': type, ...headers }, body });
    return { status: response.status, body: (await response.json()) as Record<string, unknown> };
  };

  it('every error_description keeps to the characters RFC 6749 §5.2 allows: no "§", no double quote, no backslash, nothing outside ASCII', async () => {
    const grant = encodeURIComponent(DEVICE_GRANT_TYPE);
    const answers = [
      // The repeated-parameter refusal cited "RFC 6749 §3.1".
      await post('/oauth/device_authorization', 'client_id=tv-app&client_id=cli'),
      // ...and named the parameter as sent: quotes, a backslash, a line break, a letter beyond ASCII.
      await post('/oauth/token', `${encodeURIComponent('a"\\\n\u00e9\u2028\u{1F600}')}=1&${encodeURIComponent('a"\\\n\u00e9\u2028\u{1F600}')}=2&grant_type=${grant}`),
      // The scope refusal quoted the scope ("admin").
      await post('/oauth/device_authorization', 'client_id=cli&scope=admin'),
      // A charset the server does not read, which the shared body reader quotes.
      await post('/oauth/token', `grant_type=${grant}`, 'application/x-www-form-urlencoded; charset=ISO-8859-1'),
      await post('/oauth/introspect', 'token=a&token=b', undefined, INTROSPECTION_AUTH),
    ];
    for (const answer of answers) {
      expect(answer.status).toBeGreaterThanOrEqual(400);
      expect(answer.body.error_description, JSON.stringify(answer.body)).toMatch(DESCRIPTION_CHARACTERS);
    }
    // What the descriptions said is still said, in the allowed characters.
    expect(answers[0]!.body.error_description).toBe('The parameter client_id is sent more than once: send each parameter once (RFC 6749 section 3.1).');
    expect(answers[2]!.body.error_description).toContain('the scope \'admin\'');
  });

  it('a parameter sent without a value is one omitted (RFC 6749 §3.2): an empty grant_type is missing (invalid_request), not unsupported', async () => {
    const emptyGrant = await post('/oauth/token', 'grant_type=&client_id=tv-app&device_code=x');
    expect(emptyGrant.status).toBe(400);
    expect(emptyGrant.body).toMatchObject({ error: 'invalid_request', error_description: expect.stringContaining('grant_type') });
    // An unknown one is still unsupported_grant_type.
    expect((await post('/oauth/token', 'grant_type=password&client_id=tv-app')).body.error).toBe('unsupported_grant_type');
    // The token to revoke or to introspect, sent empty, is missing: not a 200 about an unknown token.
    const emptyRevoke = await post('/oauth/revoke', 'token=&client_id=tv-app');
    expect(emptyRevoke).toMatchObject({ status: 400, body: { error: 'invalid_request', error_description: expect.stringContaining('token') } });
    const emptyIntrospect = await post('/oauth/introspect', 'token=', undefined, INTROSPECTION_AUTH);
    expect(emptyIntrospect).toMatchObject({ status: 400, body: { error: 'invalid_request', error_description: expect.stringContaining('token') } });
    // An empty scope is no scope (every scope of the client); an empty client_id beside Basic is none.
    const emptyScope = await post('/oauth/device_authorization', 'client_id=cli&scope=');
    expect(emptyScope.status).toBe(200);
    const basic = await post('/oauth/device_authorization', 'client_id=', undefined, { authorization: `Basic ${Buffer.from('tv-app:').toString('base64')}` });
    expect(basic.status).toBe(200);
    // A parameter sent twice is refused even when one of the two is empty.
    expect((await post('/oauth/device_authorization', 'client_id=&client_id=tv-app')).body).toMatchObject({ error: 'invalid_request', error_description: expect.stringContaining('client_id is sent more than once') });
  });
});
