import { describe, expect, it } from 'vitest';
import { ADMIN_AUTH, json, postJson, startOrigin, startRelay } from './helpers.js';

const ORIGIN = 'http://127.0.0.1:9/pairing';
/** One code per address a minute, as a strict relay would allow anonymous publishers. */
const ONE_A_MINUTE = { PAIRGATE_RELAY_CREATE_MAX: '1', PAIRGATE_RELAY_CREATE_WINDOW_SECONDS: '60' };

describe('the relay\'s creation rate per address', () => {
  it('does not hold a publisher with an API key (only the live codes cap it); without one, or with a wrong one, it does', async () => {
    const relay = await startRelay({ ...ONE_A_MINUTE, PAIRGATE_RELAY_API_KEYS: 'k-origin' });
    try {
      // One origin publishes every supporter's session from its one address: three at once.
      for (let i = 0; i < 3; i++) {
        const published = await postJson(`${relay.url}/pairing/`, { url: ORIGIN }, { authorization: 'Bearer k-origin' });
        expect(published.status, `keyed publication ${i + 1}`).toBe(200);
      }
      // A wrong key is no key: counted per address (so keys cannot be guessed faster than codes made).
      expect((await postJson(`${relay.url}/pairing/`, { url: ORIGIN }, { 'x-api-key': 'nope' })).status).toBe(401);
      const limited = await postJson(`${relay.url}/pairing/`, { url: ORIGIN }, { 'x-api-key': 'nope' });
      expect(limited.status).toBe(429);
      expect(await limited.json()).toMatchObject({ success: false, code: 'rate_limited' });
    } finally {
      await relay.close();
    }
  });

  it('the origin\'s 502 relay_refused for a relay\'s 429 carries the Retry-After the relay gave', async () => {
    const relay = await startRelay(ONE_A_MINUTE);
    const origin = await startOrigin(relay.url);
    try {
      const body = { supporter_name: 'T', supporter_avatar: 'https://img.example/a.png' };
      expect((await postJson(`${origin.url}/session`, body, { authorization: ADMIN_AUTH })).status).toBe(201);
      const refused = await postJson(`${origin.url}/session`, body, { authorization: ADMIN_AUTH });
      expect(refused.status).toBe(502);
      const retryAfter = Number(refused.headers.get('retry-after'));
      expect(retryAfter).toBeGreaterThanOrEqual(1);
      expect(retryAfter).toBeLessThanOrEqual(60);
      expect(await json(refused)).toMatchObject({ Error: 'Bad Gateway', Code: 'relay_refused', Description: expect.stringMatching(/HTTP 429/) });
    } finally {
      await origin.close();
      await relay.close();
    }
  });
});
