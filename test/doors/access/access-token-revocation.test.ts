import { describe, expect, it } from 'vitest';
import { useListeningApp } from '../../helpers/app.js';
import { authRequest, FormClient, getJson, postJson } from './form-client.js';

/**
 * An app revokes its access-door token at `POST /oauth/revoke` (RFC 7009), naming its app id as
 * the client_id. Revoking it again (a retried logout), or after it ended, was answered 401
 * `invalid_client`, as an app id is no registered device client: the app was told its client_id
 * was wrong. RFC 7009 §2.2 answers an invalid token 200.
 */
describe('access door: an app revokes its token at /oauth/revoke', () => {
  const server = useListeningApp({ PAIRGATE_SCRYPT_COST: '10' });

  const revoke = async (fields: Record<string, string>): Promise<{ status: number; body: unknown }> => {
    const answer = await fetch(`${server.base}/oauth/revoke`, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: new URLSearchParams(fields).toString() });
    return { status: answer.status, body: await answer.json() };
  };

  async function appToken(user: FormClient, appId: string): Promise<string> {
    const asked = await postJson(`${server.base}/access`, authRequest({ requestingAppId: appId, requestedPermissions: [{ streamId: 'diary', level: 'read' }] }));
    await user.decide(String(asked.body.key), 'accept');
    return String((await getJson(String(asked.body.poll))).body.token);
  }

  it('revokes it once (200), and again (200, not invalid_client); another app id may not revoke it', async () => {
    const user = new FormClient(server.base);
    await user.register('revoking-user');
    const token = await appToken(user, 'logout-app');
    const info = (): Promise<{ status: number }> => getJson(`${server.base}/revoking-user/access-info`, { authorization: token });
    expect((await info()).status).toBe(200);

    // Named by another app: refused, and the token still works.
    expect(await revoke({ token, client_id: 'another-app' })).toMatchObject({ status: 400, body: { error: 'unauthorized_client' } });
    expect((await info()).status).toBe(200);

    expect(await revoke({ token, client_id: 'logout-app' })).toEqual({ status: 200, body: {} });
    expect((await info()).status).toBe(401);
    // The logout retried: still 200, the token still dead.
    expect(await revoke({ token, client_id: 'logout-app' })).toEqual({ status: 200, body: {} });
    expect(await revoke({ token, client_id: 'logout-app', token_type_hint: 'access_token' })).toEqual({ status: 200, body: {} });
    expect((await info()).status).toBe(401);
  });
});
