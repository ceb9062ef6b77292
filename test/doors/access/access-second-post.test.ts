import { describe, expect, it } from 'vitest';
import { useListeningApp } from '../../helpers/app.js';
import { aroundApprove } from '../../helpers/engine-hooks.js';
import { authRequest, FormClient, getJson, postJson } from './form-client.js';

/** The alert of a page, its French spaces made plain. */
const alertOf = (html: string): string | undefined => /role="alert"[^>]*>([^<]+)</.exec(html)?.[1]?.replace(/&#39;/g, "'").replace(/\u00a0/g, ' ');

/**
 * The decision form sent twice (JavaScript off, or form-once.js not loaded yet): the first post
 * decides and spends the request, the second finds it answered. Its page must say the answer was
 * recorded and that the app has it, never to start again or to go forward to a page there is not.
 */
describe('the auth page\'s decision sent twice', () => {
  const server = useListeningApp({ PAIRGATE_SCRYPT_COST: '10' });

  /** A signed-in person and a fresh request of `app` asked in `lang`, its consent screen opened. */
  const opened = async (username: string, app: string, lang: string) => {
    const person = new FormClient(server.base);
    await person.register(username);
    const created = await postJson(`${server.base}/access`, authRequest({ requestingAppId: app, languageCode: lang }));
    const key = String(created.body.key);
    expect((await person.get(`/access/auth?key=${key}`)).text).toContain('/access/auth/decide');
    return { person, key, poll: String(created.body.poll) };
  };

  it('after the first answered: the second says access was granted and the app has it, in English and French', async () => {
    const english = await opened('twice-en', 'twice-app', 'en');
    expect((await english.person.post('/access/auth/decide', { key: english.key, decision: 'accept' })).status).toBe(200);
    const again = await english.person.post('/access/auth/decide', { key: english.key, decision: 'accept' });
    expect(again.status).toBe(409);
    expect(alertOf(again.text)).toBe('This request has already been answered: access was granted to twice-app, and twice-app has the answer. Go back to twice-app, or close this window.');
    const french = await opened('twice-fr', 'appli-double', 'fr');
    expect((await french.person.post('/access/auth/decide', { key: french.key, decision: 'refuse' })).status).toBe(200);
    const encore = await french.person.post('/access/auth/decide', { key: french.key, decision: 'refuse' });
    expect(encore.status).toBe(409);
    expect(alertOf(encore.text)).toBe("Cette demande a déjà reçu une réponse : l’accès a été refusé à appli-double, qui dispose de la réponse. Pour le lui accorder, recommencez depuis l’application.");
    expect((await getJson(french.poll)).body.status).toBe('REFUSED');
  });

  it('while the first is being recorded (the second loses the engine\'s compare-and-set): the same page, not "start again"', async () => {
    for (const [lang, expected] of [
      ['en', 'This request has already been answered: access was granted to racing-twice, and racing-twice has the answer. Go back to racing-twice, or close this window.'],
      ['fr', "Cette demande a déjà reçu une réponse : l’accès a été accordé à racing-twice, qui dispose de la réponse. Revenez à racing-twice, ou fermez cette fenêtre."],
    ] as const) {
      const { person, key, poll } = await opened(`racing-twice-${lang}`, 'racing-twice', lang);
      // The first post goes through whole while the second is under way, just before the second's
      // approval, which then loses. (Not the second's own result approved twice: the losing accept
      // withdraws its token, and the app would read an access that has ended.)
      let racing = false;
      const second = await aroundApprove(server.t.app.pairgate.engine, async (approve, id, result) => {
        if (!racing) {
          racing = true;
          expect((await person.post('/access/auth/decide', { key, decision: 'accept' })).status).toBe(200);
        }
        return approve(id, result);
      }, () => person.post('/access/auth/decide', { key, decision: 'accept' }));
      expect(second.status).toBe(409);
      expect(alertOf(second.text)).toBe(expected);
      expect((await getJson(poll)).body.status).toBe('ACCEPTED');
    }
  });
});

/** The query of a redirect's address, as an object. */
const paramsOf = (location: string | null): Record<string, string> => Object.fromEntries(new URL(location ?? 'about:blank').searchParams);

/**
 * A pinned app (PAIRGATE_ACCESS_RETURN_ORIGINS) gets its token only through the redirect, whose
 * poll address carries the delivery code. Sent twice, the Accept form's second answer is the one
 * the browser follows: "already answered" there left the app without its token for good.
 */
describe('a pinned app\'s Accept sent twice', () => {
  const server = useListeningApp({ PAIRGATE_SCRYPT_COST: '10', PAIRGATE_ACCESS_RETURN_ORIGINS: '{"pinned-twice":["https://pinned.example"]}' });

  const opened = async (person: FormClient, returnURL: string, extra: Record<string, unknown> = {}) => {
    const created = await postJson(`${server.base}/access`, authRequest({ requestingAppId: 'pinned-twice', returnURL, ...extra }));
    const key = String(created.body.key);
    expect((await person.get(`/access/auth?key=${key}`)).text).toContain('/access/auth/decide');
    return { key, poll: String(created.body.poll) };
  };

  it('the same browser is sent to the app again with the same delivery code; another session, or the key\'s holder, is not', async () => {
    const person = new FormClient(server.base);
    await person.register('pinned-twice-user');
    const { key, poll } = await opened(person, 'https://pinned.example/cb');
    const first = await person.post('/access/auth/decide', { key, decision: 'accept' });
    expect(first.status).toBe(303);
    const again = await person.post('/access/auth/decide', { key, decision: 'accept' });
    expect(again.status).toBe(303);
    expect(again.headers.get('cache-control')).toBe('no-store');
    expect(new URL(again.location!).origin).toBe('https://pinned.example');
    expect(paramsOf(again.location)).toEqual(paramsOf(first.location));
    const viaSecond = (await getJson(paramsOf(again.location).prYvpoll!)).body;
    expect(viaSecond).toMatchObject({ status: 'ACCEPTED', username: 'pinned-twice-user', token: paramsOf(first.location).prYvtoken });

    // The same account signed in elsewhere (another session), sending the form with the key: told it was answered.
    const elsewhere = new FormClient(server.base);
    expect((await elsewhere.signIn('pinned-twice-user', 'correct horse battery')).status).toBe(303);
    await elsewhere.get(`/access/auth?key=${key}`);
    const other = await elsewhere.post('/access/auth/decide', { key, decision: 'accept' });
    expect(other.status).toBe(409);
    expect(other.location).toBeNull();
    // Another person, with the key of a request they did not accept: the same.
    const stranger = new FormClient(server.base);
    await stranger.register('pinned-twice-stranger');
    await stranger.get(`/access/auth?key=${key}`);
    expect((await stranger.post('/access/auth/decide', { key, decision: 'accept' })).location).toBeNull();
    // The first browser's Refuse sent after its Accept changes nothing and sends nowhere.
    const refused = await person.post('/access/auth/decide', { key, decision: 'refuse' });
    expect(refused.status).toBe(409);
    expect(refused.location).toBeNull();
    // The key alone still answers the decision without the token.
    expect((await getJson(poll)).body).not.toHaveProperty('token');
  });

  it('revoked since: the form sent again is told it was answered, not sent to the app with a dead token', async () => {
    const person = new FormClient(server.base);
    await person.register('pinned-revoked-user');
    const { key } = await opened(person, 'https://pinned.example/cb');
    expect((await person.post('/access/auth/decide', { key, decision: 'accept' })).status).toBe(303);
    const list = JSON.parse((await person.get('/api/v1/accesses')).text) as { accesses: { id: string; appId: string }[] };
    const access = list.accesses.find((entry) => entry.appId === 'pinned-twice')!;
    await person.get('/account/accesses');
    expect((await person.post(`/account/accesses/${access.id}/revoke`, {})).status).toBe(303);
    await person.get(`/access/auth?key=${key}`);
    const again = await person.post('/access/auth/decide', { key, decision: 'accept' });
    expect(again.status).toBe(409);
    expect(again.location).toBeNull();
  });

  it('while the first is being recorded (the second loses the engine\'s compare-and-set): sent to the app too, OAuth mode', async () => {
    const person = new FormClient(server.base);
    await person.register('pinned-racing-user');
    const { key } = await opened(person, 'https://pinned.example/oauth', { oauthState: 'st-1' });
    let racing = false;
    // The second press's approval waits while the first press goes through whole, then loses.
    let first: Awaited<ReturnType<FormClient['post']>> | undefined;
    const second = await aroundApprove(server.t.app.pairgate.engine, async (approve, id, result) => {
      if (!racing) {
        racing = true;
        first = await person.post('/access/auth/decide', { key, decision: 'accept' });
      }
      return approve(id, result);
    }, () => person.post('/access/auth/decide', { key, decision: 'accept' }));
    expect(first?.status).toBe(303);
    expect(second.status).toBe(303);
    expect(second.location).toBe(first!.location);
    const { state, code, poll } = paramsOf(second.location);
    expect({ state, code }).toEqual({ state: 'st-1', code: key });
    expect((await getJson(poll!)).body).toMatchObject({ status: 'ACCEPTED', username: 'pinned-racing-user', token: expect.stringMatching(/.{20,}/) });
  });
});
