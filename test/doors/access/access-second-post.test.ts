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
      // The first post is recorded while the second is under way, just before the second's is.
      const second = await aroundApprove(server.t.app.pairgate.engine, async (approve, id, result) => {
        await approve(id, result);
        return approve(id, result);
      }, () => person.post('/access/auth/decide', { key, decision: 'accept' }));
      expect(second.status).toBe(409);
      expect(alertOf(second.text)).toBe(expected);
      expect((await getJson(poll)).body.status).toBe('ACCEPTED');
    }
  });
});
