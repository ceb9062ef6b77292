import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PairgateApiError } from '../../src/sdk/errors.js';
import { confirmPairing, connectAgent, SupportOriginClient } from '../../src/sdk/support.js';
import type { TestApp } from '../helpers/app.js';
import { ADMIN, freePort, startOrigin, startRelay } from '../doors/support/helpers.js';

const AVATAR = 'https://avatars.example/thorsten.png';

/** What a promise rejected with (it must reject). */
async function failureOf(promise: Promise<unknown>): Promise<PairgateApiError> {
  const error = await promise.then(() => undefined, (failure: unknown) => failure);
  expect(error).toBeInstanceOf(PairgateApiError);
  return error as PairgateApiError;
}

describe('SDK session channel: a refused upgrade reaches the caller with the server\'s status, code and message', () => {
  let relay: TestApp;
  let origin: TestApp;
  let sdk: SupportOriginClient;
  beforeAll(async () => {
    relay = await startRelay();
    // Its own origin: every test here comes from 127.0.0.1, whose budget the 429 test spends.
    origin = await startOrigin(relay.url, { PAIRGATE_SUPPORT_AUTH_FAILURES_PER_IP: '3' });
    sdk = new SupportOriginClient({ baseUrl: origin.url, ...ADMIN });
  });
  afterAll(async () => {
    await origin?.close();
    await relay?.close();
  });

  it('404: no such session (supporter) or agent link (agent), with the server\'s code and message', async () => {
    const missing = await failureOf(sdk.attach('nobody-has-it'));
    expect(missing).toMatchObject({ status: 404, code: 'session_not_found', message: 'No live session has the id nobody-has-it.' });
    const created = await sdk.createSession({ id: 'agent-link', supporterName: 'T', supporterAvatar: AVATAR });
    const confirmation = await confirmPairing(`${origin.url}/pairing/${created.PairingCode}`);
    const wrongLink = await failureOf(connectAgent(confirmation.MeshServer.replace(/:[A-Za-z]+$/, ':AAAAAAAAAAAAAAAAAAAA'), confirmation.AgentCredential));
    expect(wrongLink).toMatchObject({ status: 404, code: 'session_not_found', message: 'No live session has this agent link.' });
  });

  it('a path no door serves (a relay asked as an origin): the server\'s own code route_not_found, not http_404', async () => {
    const notAnOrigin = new SupportOriginClient({ baseUrl: `${relay.url}/nothing-here`, ...ADMIN });
    const error = await failureOf(notAnOrigin.listSessions());
    expect(error).toMatchObject({ status: 404, code: 'route_not_found' });
    expect(error.message).not.toBe('route_not_found');
  });

  it('nothing listening: network_error, status 0', async () => {
    const port = await freePort();
    const nowhere = new SupportOriginClient({ baseUrl: `http://127.0.0.1:${port}`, ...ADMIN });
    const error = await failureOf(nowhere.attach('any'));
    expect(error).toMatchObject({ status: 0, code: 'network_error' });
    expect(error.message).toMatch(/Cannot open the session channel at ws:\/\/127\.0\.0\.1:\d+ \(.*ECONNREFUSED/);
  });

  // Last: it spends this address's budget of wrong credentials.
  it('wrong credentials: 401 unauthorized each time, then 429 auth_failures_exceeded with Retry-After once the budget is spent', async () => {
    await sdk.createSession({ id: 'guarded-channel', supporterName: 'T', supporterAvatar: AVATAR });
    const stranger = new SupportOriginClient({ baseUrl: origin.url, user: ADMIN.user, password: 'wrong' });
    for (let i = 0; i < 3; i++) {
      const refused = await failureOf(stranger.attach('guarded-channel'));
      expect(refused).toMatchObject({ status: 401, code: 'unauthorized', message: expect.stringContaining('supporter credentials') });
      expect(refused.body).toMatchObject({ Code: 'unauthorized' });
    }
    const spent = await failureOf(stranger.attach('guarded-channel'));
    // Before, this was status 429 with code network_error: the caller could not tell it from a wrong password.
    expect(spent).toMatchObject({ status: 429, code: 'auth_failures_exceeded', message: expect.stringMatching(/Too many wrong .*Try again in \d+ s\./) });
    expect(spent.retryAfterSeconds).toBeGreaterThan(60);
    expect(spent.body).toMatchObject({ Error: 'Too Many Requests', Code: 'auth_failures_exceeded' });
    // The admin from the same address is refused the same way (the address's budget is spent).
    expect(await failureOf(sdk.attach('guarded-channel'))).toMatchObject({ status: 429, code: 'auth_failures_exceeded' });
    // Plain requests say the same, Retry-After included.
    expect(await failureOf(sdk.getSession('guarded-channel'))).toMatchObject({ status: 429, code: 'auth_failures_exceeded', retryAfterSeconds: expect.any(Number) });
  });
});
