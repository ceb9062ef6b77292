import { createServer, type AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PairgateApiError, PairgateClient } from '../../src/sdk/index.js';
import { createTestApp, type TestApp } from '../helpers/app.js';

describe('SDK consumer: a wait that meets the rate limit (429 with Retry-After) goes on', () => {
  let t: TestApp;
  beforeAll(async () => {
    // Two requests per address every 3 s, and long-polls of at most 1 s: a wait of a few seconds
    // is refused on the way, as many waits from one service's address are on a busy server.
    t = await createTestApp({ PAIRGATE_RATE_LIMIT_MAX: '2', PAIRGATE_RATE_LIMIT_WINDOW_SECONDS: '3', PAIRGATE_WAIT_MAX_SECONDS: '1' });
    await t.listen();
  });
  afterAll(async () => {
    await t?.close();
  });

  /** Sends `call` until the rate limit lets it through. */
  async function throughLimit<T>(call: () => Promise<T>): Promise<T> {
    for (;;) {
      try {
        return await call();
      } catch (error) {
        if (!(error instanceof PairgateApiError) || error.status !== 429) throw error;
        await new Promise((resolve) => setTimeout(resolve, (error.retryAfterSeconds ?? 1) * 1000));
      }
    }
  }

  it('the 429 is recognisable as retryable, with its Retry-After, and the wait pauses for it instead of throwing', async () => {
    const sdk = new PairgateClient({ baseUrl: t.url });
    const created = await throughLimit(() => sdk.createGrant({ label: 'busy server' }));
    const retried: PairgateApiError[] = [];
    const waiting = sdk.waitForDecision(created.id, { maxSeconds: 20, onRetry: (error) => retried.push(error) });
    await expect.poll(() => retried.length, { timeout: 8_000 }).toBeGreaterThan(0);
    expect(retried[0]).toMatchObject({ status: 429, retryable: true });
    expect(retried[0]!.retryAfterSeconds).toBeGreaterThan(0);
    await throughLimit(() => sdk.approveCode(created.code));
    expect(await waiting).toMatchObject({ state: 'approved' });
  }, 30_000);

  it('a refusal about the request is not retryable; a network failure is', async () => {
    const sdk = new PairgateClient({ baseUrl: t.url });
    const refusal = await throughLimit(() => sdk.lookupCode('zzzz-zzzz-z').then(() => undefined, (error: unknown) => error));
    expect(refusal).toMatchObject({ status: 400, retryable: false });
    // A port nothing listens on: one taken and freed at once.
    const server = createServer();
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const port = (server.address() as AddressInfo).port;
    await new Promise((resolve) => server.close(resolve));
    const away = await new PairgateClient({ baseUrl: `http://127.0.0.1:${port}` }).health().catch((error: unknown) => error);
    expect(away).toMatchObject({ status: 0, code: 'network_error', retryable: true });
  });
});
