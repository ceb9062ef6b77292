import { describe, expect, it } from 'vitest';
import { useListeningApp } from '../../helpers/app.js';
import { authRequest, FormClient, getJson, postJson } from './form-client.js';

/**
 * A pinned app's request (PAIRGATE_ACCESS_RETURN_ORIGINS) polled with its key alone answers the
 * decision, not the token: `{status: "ACCEPTED", code: 200, message}`. That answer too holds only
 * while the access granted stands. It used to stay 200 ACCEPTED after the access was revoked or
 * the account deleted, since only an answer carrying a token was checked, while the address with
 * the delivery code, and every other request's poll, answered 404 `unknown_key`.
 */
describe('a pinned app\'s accepted request whose access has ended', () => {
  const server = useListeningApp({ PAIRGATE_SCRYPT_COST: '10', PAIRGATE_ACCESS_RETURN_ORIGINS: '{"bank-app":["https://bank.example"]}' });

  /** A pinned request the signed-in `user` accepted: its poll URL, and the poll address with the delivery code the redirect named. */
  const accepted = async (user: FormClient, deviceName: string): Promise<{ poll: string; withCode: string }> => {
    const started = await postJson(`${server.base}/access`, authRequest({ requestingAppId: 'bank-app', returnURL: 'https://bank.example/cb?', deviceName }));
    expect(started.status).toBe(201);
    const done = await user.decide(String(started.body.key), 'accept');
    expect(done.status).toBe(303);
    const withCode = new URL(done.location!).searchParams.get('prYvpoll')!;
    expect(withCode).toContain('?code=');
    return { poll: String(started.body.poll), withCode };
  };

  /** Every way the key's holder reads the request answers as an unknown one, and names no account. */
  const expectGone = async (poll: string, withCode: string, username: string) => {
    for (const url of [poll, `${poll}?wait=1`, withCode, `${withCode}&wait=1`]) {
      const answer = await fetch(url);
      const text = await answer.text();
      expect(answer.status, url).toBe(404);
      expect(JSON.parse(text), url).toMatchObject({ id: 'unknown_key' });
      expect(text, url).not.toContain(username);
    }
    const events = await fetch(`${poll}/events`);
    expect(events.status).toBe(404);
    expect(await events.text()).not.toContain('ACCEPTED');
  };

  it('revoked: the poll with the key alone answers 404 unknown_key, not ACCEPTED', async () => {
    const user = new FormClient(server.base);
    await user.register('pinned-revoker');
    const { poll, withCode } = await accepted(user, 'Phone');
    // Standing, the key alone reads the decision, and the code the token.
    expect(await getJson(poll)).toMatchObject({ status: 200, body: { status: 'ACCEPTED', code: 200 } });
    expect((await getJson(poll)).body).not.toHaveProperty('token');
    expect((await getJson(withCode)).body).toMatchObject({ status: 'ACCEPTED', token: expect.any(String) });

    const [access] = JSON.parse((await user.get('/api/v1/accesses')).text).accesses as { id: string }[];
    await user.get('/account/accesses');
    expect((await user.post(`/account/accesses/${access!.id}/revoke`, {})).status).toBe(303);
    await expectGone(poll, withCode, 'pinned-revoker');
  });

  it('the account deleted: the poll with the key alone answers 404 unknown_key, read before or not', async () => {
    const user = new FormClient(server.base);
    await user.register('pinned-deleted');
    const readBefore = await accepted(user, 'Tablet');
    expect((await getJson(readBefore.poll)).body).toMatchObject({ status: 'ACCEPTED' });
    const notRead = await accepted(user, 'Laptop');

    await user.get('/account/delete');
    expect((await user.post('/account/delete', { password: 'correct horse battery' })).status).toBe(200);
    await expectGone(readBefore.poll, readBefore.withCode, 'pinned-deleted');
    await expectGone(notRead.poll, notRead.withCode, 'pinned-deleted');
  });

  it('an access that stands answers the decision again and again', async () => {
    const user = new FormClient(server.base);
    await user.register('pinned-keeper');
    const { poll } = await accepted(user, 'Watch');
    for (let i = 0; i < 2; i++) expect(await getJson(poll)).toMatchObject({ status: 200, body: { status: 'ACCEPTED', code: 200 } });
  });
});
