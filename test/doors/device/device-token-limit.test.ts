import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEVICE_GRANT_TYPE } from '../../../src/doors/device/device-grant.js';
import { createTestApp, type TestApp } from '../../helpers/app.js';
import { requestFrom, type RawAnswer } from '../support/helpers.js';
import { DEVICE_ENV } from './device-helpers.js';

const LIMIT = 10;

describe('device door: /oauth/token has a rate limit of its own, per client network', () => {
  let t: TestApp;
  let deviceCode: string;
  beforeAll(async () => {
    // The global limit is far away, so a 429 here is the route's own.
    t = await createTestApp({ ...DEVICE_ENV, PAIRGATE_DEVICE_TOKEN_REQUESTS_PER_MINUTE: String(LIMIT), PAIRGATE_RATE_LIMIT_MAX: '100000' });
    await t.listen();
    const started = await requestFrom('127.0.0.1', `${t.url}/oauth/device_authorization`, form({ client_id: 'tv-app' }));
    deviceCode = (JSON.parse(started.body) as { device_code: string }).device_code;
  });
  afterAll(() => t.close());

  function form(fields: Record<string, string>): { method: string; headers: Record<string, string>; body: string } {
    return { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: new URLSearchParams(fields).toString() };
  }
  const poll = (from: string, code: string): Promise<RawAnswer> =>
    requestFrom(from, `${t.url}/oauth/token`, form({ grant_type: DEVICE_GRANT_TYPE, client_id: 'tv-app', device_code: code }));

  it('a flood from one address: the first LIMIT are answered, the rest get 429 rate_limited in the OAuth shape; never 5xx', async () => {
    // Garbage codes (what slow_down, which paces a known device code, never sees) and a real one.
    const answers = await Promise.all(Array.from({ length: 40 }, (_, i) => poll('127.0.0.2', i % 4 === 0 ? deviceCode : `x${i}.nonsense`)));
    expect(answers.every((answer) => answer.status < 500)).toBe(true);
    const limited = answers.filter((answer) => answer.status === 429);
    expect(limited).toHaveLength(40 - LIMIT);
    for (const answer of limited) {
      expect(JSON.parse(answer.body)).toEqual({ error: 'rate_limited', error_description: expect.stringMatching(/Too many requests/) });
      expect(Number(answer.headers['retry-after'])).toBeGreaterThan(0);
      expect(answer.headers['content-type']).toMatch(/application\/json/);
    }
    // The answered ones are the door's own: pending, slow_down for the real code, invalid_grant for garbage.
    for (const answer of answers.filter((one) => one.status !== 429)) {
      expect(answer.status).toBe(400);
      expect(['authorization_pending', 'slow_down', 'invalid_grant']).toContain((JSON.parse(answer.body) as { error: string }).error);
    }
  });

  it('another network still polls; other routes of the flooded address are not held back by this limit', async () => {
    const other = await poll('127.0.0.3', deviceCode);
    expect(other.status).toBe(400);
    expect(['authorization_pending', 'slow_down']).toContain((JSON.parse(other.body) as { error: string }).error);
    const metadata = await requestFrom('127.0.0.2', `${t.url}/.well-known/oauth-authorization-server`);
    expect(metadata.status).toBe(200);
  });
});
