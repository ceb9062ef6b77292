import { describe, expect, it } from 'vitest';
import { useListeningApp } from '../../helpers/app.js';
import { authRequest, FormClient, getJson, postJson } from './form-client.js';

/**
 * An auth request accepted by an account that is deleted before the app has read it (or while it
 * may still read it again) hands out nothing of that account: no username, no token. It answered
 * `ACCEPTED` with the deleted account's username until the request expired.
 */
describe('an accepted auth request whose account is deleted', () => {
  const server = useListeningApp({ PAIRGATE_SCRYPT_COST: '10' });

  /** A new account, signed in, and an auth request it accepted: the request's key and poll URL. */
  const accepted = async (username: string, appId: string): Promise<{ user: FormClient; key: string; poll: string }> => {
    const user = new FormClient(server.base);
    await user.register(username);
    const created = await postJson(`${server.base}/access`, authRequest({ requestingAppId: appId }));
    expect(created.status).toBe(201);
    const key = String(created.body.key);
    expect((await user.decide(key, 'accept')).status).toBe(200);
    return { user, key, poll: String(created.body.poll) };
  };

  const deleteAccount = async (user: FormClient) => {
    await user.get('/account/delete');
    expect((await user.post('/account/delete', { password: 'correct horse battery' })).status).toBe(200);
  };

  it('answers a poll as an unknown request (404 unknown_key), with no username nor token, read before or not', async () => {
    const readBefore = await accepted('deleted-after-read', 'app-read-before');
    const first = await getJson(readBefore.poll);
    expect(first.status).toBe(200);
    expect(first.body).toMatchObject({ status: 'ACCEPTED', username: 'deleted-after-read' });
    const notRead = await accepted('deleted-before-read', 'app-never-read');

    await deleteAccount(readBefore.user);
    await deleteAccount(notRead.user);

    for (const { poll } of [readBefore, notRead]) {
      for (const url of [poll, `${poll}?wait=1`]) {
        const answer = await fetch(url);
        const text = await answer.text();
        expect(answer.status, url).toBe(404);
        expect(JSON.parse(text), url).toMatchObject({ id: 'unknown_key', error: { id: 'unknown_key' } });
        expect(text).not.toContain('deleted-');
        expect(text).not.toContain('token');
      }
    }
    // The event stream alike: no event carrying the account.
    const events = await fetch(`${notRead.poll}/events`);
    const text = await events.text();
    expect(events.status).toBe(404);
    expect(text).not.toContain('deleted-before-read');
  });

  it('still answers an accepted request whose account lives, again and again', async () => {
    const living = await accepted('still-here', 'app-of-the-living');
    for (let i = 0; i < 2; i++) {
      const answer = await getJson(living.poll);
      expect(answer.status).toBe(200);
      expect(answer.body).toMatchObject({ status: 'ACCEPTED', username: 'still-here', token: expect.any(String) });
    }
  });
});
