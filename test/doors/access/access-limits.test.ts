import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ManualClock } from '../../../src/core/clock.js';
import { createTestApp, type TestApp } from '../../helpers/app.js';
import { authRequest } from './form-client.js';

const FAST = { PAIRGATE_SCRYPT_COST: '10' };

/** POST /access as the client `address` (the test server trusts the loopback proxy). */
async function createFrom(base: string, address: string, body: unknown = authRequest()): Promise<{ status: number; body: Record<string, unknown>; retryAfter: string | null }> {
  const response = await fetch(`${base}/access`, { method: 'POST', headers: { 'content-type': 'application/json', 'x-forwarded-for': address }, body: JSON.stringify(body) });
  return { status: response.status, body: (await response.json()) as Record<string, unknown>, retryAfter: response.headers.get('retry-after') };
}

describe('auth requests waiting per client address', () => {
  const clock = new ManualClock(Date.now());
  let t: TestApp;
  let base: string;
  beforeAll(async () => {
    t = await createTestApp({ ...FAST, PAIRGATE_TRUST_PROXY: '127.0.0.1', PAIRGATE_ACCESS_MAX_PENDING_PER_IP: '3', PAIRGATE_ACCESS_TTL_SECONDS: '600' }, { clock });
    base = await t.listen();
  });
  afterAll(() => t.close());

  it('one address gets 429 too_many_pending beyond its cap; other addresses are not affected; room comes back as requests expire', async () => {
    for (let i = 0; i < 3; i++) expect((await createFrom(base, '203.0.113.7')).status).toBe(201);
    const refused = await createFrom(base, '203.0.113.7');
    expect(refused.status).toBe(429);
    expect(refused.body).toMatchObject({ id: 'too_many_pending', error: { id: 'too_many_pending' } });
    expect(String(refused.body.message)).toContain('3 auth requests waiting');
    expect(Number(refused.retryAfter)).toBeGreaterThan(0);
    expect(Number(refused.retryAfter)).toBeLessThanOrEqual(600 + 100);
    // A malformed request is still told what is wrong.
    expect((await createFrom(base, '203.0.113.7', authRequest({ requestingAppId: 'abc' }))).body).toMatchObject({ id: 'invalid_app_id' });
    // Neither another address, nor one whose text starts with the first, shares its count.
    expect((await createFrom(base, '203.0.113.70')).status).toBe(201);
    expect((await createFrom(base, '2001:db8::1')).status).toBe(201);

    // Still refused while the requests could be alive, whatever their state...
    clock.advance(500_000);
    expect((await createFrom(base, '203.0.113.7')).status).toBe(429);
    // ...and welcome once they (and the refused attempts) have expired.
    clock.advance(600_000 + 100_000 + 1_000);
    expect((await createFrom(base, '203.0.113.7')).status).toBe(201);
  });
});

describe('auth requests waiting in all', () => {
  const clock = new ManualClock(Date.now());
  let t: TestApp;
  let base: string;
  beforeAll(async () => {
    t = await createTestApp({ ...FAST, PAIRGATE_TRUST_PROXY: '127.0.0.1', PAIRGATE_ACCESS_MAX_PENDING: '3', PAIRGATE_ACCESS_TTL_SECONDS: '600' }, { clock });
    base = await t.listen();
  });
  afterAll(() => t.close());

  it('beyond PAIRGATE_ACCESS_MAX_PENDING every address gets 429 rate_limited until requests expire', async () => {
    for (let i = 0; i < 3; i++) {
      expect((await createFrom(base, `198.51.100.${i + 1}`)).status).toBe(201);
      clock.advance(1_100); // the live count is reused for a second
    }
    const refused = await createFrom(base, '198.51.100.99');
    expect(refused.status).toBe(429);
    expect(refused.body).toMatchObject({ id: 'rate_limited', error: { id: 'rate_limited' } });
    expect(refused.retryAfter).toBe('30');
    clock.advance(600_000);
    expect((await createFrom(base, '198.51.100.99')).status).toBe(201);
  });
});

describe('auth requests waiting in all, under pressure', () => {
  const clock = new ManualClock(Date.now());
  let t: TestApp;
  let base: string;
  beforeAll(async () => {
    // 20 places, 10 per address: two addresses at their share held every one before.
    t = await createTestApp({ ...FAST, PAIRGATE_TRUST_PROXY: '127.0.0.1', PAIRGATE_ACCESS_MAX_PENDING: '20', PAIRGATE_ACCESS_MAX_PENDING_PER_IP: '10', PAIRGATE_ACCESS_TTL_SECONDS: '600', PAIRGATE_ACCESS_CREATE_PER_MINUTE: '1000' }, { clock });
    base = await t.listen();
  });
  afterAll(() => t.close());

  it('once half the places are taken, an address holding more than 5 is refused too_many_pending; addresses holding a few still get places', async () => {
    const create = async (address: string) => {
      clock.advance(1_100); // the live count is reused for a second
      return createFrom(base, address);
    };
    for (let i = 0; i < 10; i++) expect((await create('203.0.113.30')).status).toBe(201);
    for (let i = 0; i < 5; i++) expect((await create('203.0.113.31')).status).toBe(201);
    const refused = await create('203.0.113.31');
    expect(refused.status).toBe(429);
    expect(refused.body).toMatchObject({ id: 'too_many_pending', message: expect.stringContaining('your address already has 5 of them') });
    expect(Number(refused.retryAfter)).toBeGreaterThan(30);
    for (let i = 0; i < 5; i++) expect((await create(`198.51.100.${40 + i}`)).status).toBe(201);
    expect((await create('198.51.100.50')).body).toMatchObject({ id: 'rate_limited' });
  });
});
