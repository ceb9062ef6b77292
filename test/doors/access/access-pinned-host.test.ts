import { describe, expect, it } from 'vitest';
import { useListeningApp } from '../../helpers/app.js';
import { authRequest, FormClient, getJson, postJson } from './form-client.js';

/** The query parameters of a redirect target. */
const paramsOf = (location: string | null): Record<string, string> => Object.fromEntries(new URL(location!).searchParams);

/**
 * The consent screen names the host an answer goes back to ("you go back to bank.example"), not
 * its scheme or a trailing dot. A request of a look-alike app id (`bamk-app`, an m for the n)
 * sending its answer to a pinned
 * app's host by another scheme (http://), with the root's trailing dot (bank.example.) or on another
 * port showed the screen the pinned app's own request shows, while its token went to whoever polled.
 */
describe('access door: a return address at a pinned app\'s host, by another origin', () => {
  const server = useListeningApp({ PAIRGATE_SCRYPT_COST: '10', PAIRGATE_ACCESS_RETURN_ORIGINS: '{"bank-app":["https://bank.example"]}' });

  it('is delivered as the pinned app\'s: whoever started it polls the decision, not the token', async () => {
    const user = new FormClient(server.base);
    await user.register('pinned-host-victim');
    for (const [round, returnURL] of ['http://bank.example/cb?', 'https://bank.example./cb?', 'https://BANK.example.:8443/cb?', 'http://bank.example:443/cb?'].entries()) {
      // A device of its own each round, so that each is a first accept with the whole screen.
      const started = await postJson(`${server.base}/access`, authRequest({ requestingAppId: 'bamk-app', returnURL, deviceName: `Phone ${round}` }));
      expect(started.status, returnURL).toBe(201);
      expect((await user.get(`/access/auth?key=${String(started.body.key)}`)).text, returnURL).toContain('you go back to bank.example');
      const done = await user.decide(String(started.body.key), 'accept');
      expect(done.status, returnURL).toBe(303);
      const params = paramsOf(done.location);
      expect(params.prYvtoken, returnURL).toMatch(/.{20,}/);
      const polled = (await getJson(String(started.body.poll))).body;
      expect(polled, returnURL).toMatchObject({ status: 'ACCEPTED' });
      expect(polled, returnURL).not.toHaveProperty('token');
      expect(polled, returnURL).not.toHaveProperty('username');
      // The redirect's own poll address still hands the app its token.
      expect((await getJson(params.prYvpoll!)).body, returnURL).toMatchObject({ token: params.prYvtoken });
    }
  });

  it('an app id mixing Latin with Cyrillic or Greek letters is refused, so it cannot show as a Latin one; one script alone passes', async () => {
    for (const mixed of ['bank-\u0430pp', 'b\u03bfnk-app', 'BANK-\u0410PP']) {
      const refused = await postJson(`${server.base}/access`, authRequest({ requestingAppId: mixed, returnURL: null }));
      expect(refused.status, mixed).toBe(400);
      expect(refused.body, mixed).toMatchObject({ id: 'invalid_app_id', error: { id: 'invalid_app_id' } });
      expect(String(refused.body.message), mixed).toContain('must not mix Latin letters');
    }
    for (const single of ['\u043f\u0440\u0438\u043b\u043e\u0436\u0435\u043d\u0438\u0435', 'bank-app-2', '\u03b5\u03c6\u03b1\u03c1\u03bc\u03bf\u03b3\u03ae']) {
      expect((await postJson(`${server.base}/access`, authRequest({ requestingAppId: single, returnURL: null }))).status, single).toBe(201);
    }
  });
});
