import { describe, expect, it } from 'vitest';
import { ManualClock } from '../../../src/core/clock.js';
import { authRequest, getJson, postJson, useRegisteredUser } from './form-client.js';

/**
 * A decision stays readable PAIRGATE_ACCESS_DECIDED_TTL_SECONDS after it is first delivered, by
 * whichever way: the poll, its long-poll, the event stream, the redirect that carries it (Pryv
 * mode). Delivered by the stream, it used to stay readable, the token in clear, for the rest of
 * the request's hour.
 */
describe('the short life of a delivered decision', () => {
  const clock = new ManualClock(Date.now());
  const served = useRegisteredUser('lifetime-reader', { PAIRGATE_SCRYPT_COST: '10', PAIRGATE_ACCESS_TTL_SECONDS: '3600', PAIRGATE_ACCESS_DECIDED_TTL_SECONDS: '120' }, { clock });

  /** Whether the poll URL still answers after `seconds` more (a poll is itself a first read, so it is asked once). */
  const readableAfter = async (poll: string, seconds: number): Promise<boolean> => {
    clock.advance(seconds * 1000);
    return (await getJson(poll)).status !== 404;
  };

  it('delivered by the event stream, it is gone 120 s later', async () => {
    const created = (await postJson(`${served.base}/access`, authRequest({ requestingAppId: 'streaming-app' }))).body;
    const response = await fetch(`${served.base}/access/${String(created.key)}/events`);
    const reader = response.body!.getReader();
    let text = new TextDecoder().decode((await reader.read()).value);
    expect(text).toContain('"status":"NEED_SIGNIN"');
    await served.user.decide(String(created.key), 'accept');
    for (let chunk = await reader.read(); !chunk.done; chunk = await reader.read()) text += new TextDecoder().decode(chunk.value);
    expect(text).toContain('"status":"ACCEPTED"');
    expect(text).toContain('"token":');
    expect(await readableAfter(String(created.poll), 121)).toBe(false);
  });

  it('a stream opened on a decision already made starts it too', async () => {
    const created = (await postJson(`${served.base}/access`, authRequest({ requestingAppId: 'late-streaming-app' }))).body;
    await served.user.decide(String(created.key), 'refuse');
    clock.advance(600_000); // not delivered yet: it waits for its reader
    expect(await (await fetch(`${served.base}/access/${String(created.key)}/events`)).text()).toContain('"status":"REFUSED"');
    expect(await readableAfter(String(created.poll), 121)).toBe(false);
  });

  it('delivered by a long poll, it is gone 120 s later', async () => {
    const created = (await postJson(`${served.base}/access`, authRequest({ requestingAppId: 'long-polling-app' }))).body;
    const waiting = getJson(`${String(created.poll)}?wait=10`);
    await new Promise((resolve) => setTimeout(resolve, 100));
    await served.user.decide(String(created.key), 'accept');
    expect((await waiting).body.status).toBe('ACCEPTED');
    expect(await readableAfter(String(created.poll), 121)).toBe(false);
  });

  it('delivered by the redirect to the app in Pryv mode (the token in it), it is gone 120 s later', async () => {
    const created = (await postJson(`${served.base}/access`, authRequest({ requestingAppId: 'redirected-app', returnURL: 'https://app.example/back?' }))).body;
    await served.user.get(`/access/auth?key=${String(created.key)}`);
    const decided = await served.user.post('/access/auth/decide', { key: String(created.key), decision: 'accept' });
    expect(decided.status).toBe(303);
    expect(new URL(decided.location!).searchParams.get('prYvtoken')).toBeTruthy();
    expect(await readableAfter(String(created.poll), 121)).toBe(false);
  });

  it('a HEAD delivers no body, so it starts nothing: the app\'s first GET does', async () => {
    const created = (await postJson(`${served.base}/access`, authRequest({ requestingAppId: 'head-probing-app' }))).body;
    await served.user.decide(String(created.key), 'accept');
    for (const url of [String(created.poll), `${String(created.poll)}?wait=5`, `${String(created.poll)}/events`]) {
      const head = await fetch(url, { method: 'HEAD' });
      expect(head.status, url).not.toBe(404);
      expect(await head.text(), url).toBe('');
    }
    expect(await readableAfter(String(created.poll), 300)).toBe(true);
    expect(await readableAfter(String(created.poll), 121)).toBe(false);
  });

  it('in OAuth mode the redirect carries only the key as code: the app\'s first poll for the token starts it', async () => {
    const created = (await postJson(`${served.base}/access`, authRequest({ requestingAppId: 'oauth-mode-app', returnURL: 'https://app.example/back?', oauthState: 'xyz' }))).body;
    await served.user.get(`/access/auth?key=${String(created.key)}`);
    const decided = await served.user.post('/access/auth/decide', { key: String(created.key), decision: 'accept' });
    expect(new URL(decided.location!).searchParams.get('code')).toBe(String(created.key));
    expect(await readableAfter(String(created.poll), 300)).toBe(true);
    expect(await readableAfter(String(created.poll), 121)).toBe(false);
  });
});
