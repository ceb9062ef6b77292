import { createRequire } from 'node:module';
import { describe, expect, it } from 'vitest';
import { useRegisteredUser } from './form-client.js';

// The real `pryv` library, unchanged, as a third-party app would use it.
const require = createRequire(import.meta.url);
const pryv = require('pryv') as {
  Service: new (url: string) => {
    info(): Promise<Record<string, string>>;
    startAccessRequest(request: Record<string, unknown>): Promise<{ key: string; authUrl: string; poll: string; pollRateMs: number }>;
    pollAccessRequest(keyOrUrl: string): Promise<Record<string, unknown>>;
  };
  Connection: new (apiEndpoint: string) => { accessInfo(): Promise<Record<string, unknown>>; username(): Promise<string> };
  Auth: { AuthController: new (settings: Record<string, unknown>, service: unknown) => { init(): Promise<unknown>; startAuthRequest(): Promise<void>; state: Record<string, unknown> } };
};

describe('the pryv npm library against pairgate', () => {
  const served = useRegisteredUser('pryv-user', { PAIRGATE_SCRYPT_COST: '10' });

  const permissions = [{ streamId: 'diary', level: 'read', defaultName: 'Diary' }];

  it('Service: info, startAccessRequest, pollAccessRequest until ACCEPTED, then Connection.accessInfo', async () => {
    const service = new pryv.Service(`${served.base}/service/info`);
    const info = await service.info();
    expect(info.name).toBe('pairgate');
    expect(info.access).toBe(`${served.base}/access/`);
    const started = await service.startAccessRequest({ requestingAppId: 'pryv-lib-test', requestedPermissions: permissions, languageCode: 'en' });
    expect(started.poll).toBe(`${served.base}/access/${started.key}`);
    expect(started.pollRateMs).toBe(1000);
    expect(started.authUrl).toContain('/access/auth');
    expect((await service.pollAccessRequest(started.key)).status).toBe('NEED_SIGNIN');

    await served.user.decide(started.key, 'accept');
    const accepted = await service.pollAccessRequest(started.poll);
    expect(accepted).toMatchObject({ status: 'ACCEPTED', username: 'pryv-user' });

    const connection = new pryv.Connection(String(accepted.apiEndpoint));
    const accessInfo = await connection.accessInfo();
    expect(accessInfo).toMatchObject({ type: 'app', name: 'pryv-lib-test', user: { username: 'pryv-user' } });
    expect(accessInfo.permissions).toEqual([{ streamId: 'diary', level: 'read', defaultName: 'Diary', name: 'Diary' }]);
    expect(await connection.username()).toBe('pryv-user');
  });

  it('pollAccessRequest returns the REFUSED state when the user refuses', async () => {
    const service = new pryv.Service(`${served.base}/service/info`);
    const started = await service.startAccessRequest({ requestingAppId: 'pryv-lib-refused', requestedPermissions: permissions });
    await served.user.decide(started.key, 'refuse');
    expect(await service.pollAccessRequest(started.key)).toMatchObject({ status: 'REFUSED', reasonID: 'REFUSED_BY_USER' });
  });

  it('Auth.AuthController polls until ACCEPTED after the user accepts', async () => {
    const service = new pryv.Service(`${served.base}/service/info`);
    await service.info();
    const states: Record<string, unknown>[] = [];
    const controller = new pryv.Auth.AuthController({
      authRequest: { requestingAppId: 'pryv-controller-app', requestedPermissions: permissions, languageCode: 'fr' },
      onStateChange: (state: Record<string, unknown>) => states.push({ ...state }),
    }, service);
    await controller.init();
    await controller.startAuthRequest();
    const needSignin = states.find((state) => state.status === 'NEED_SIGNIN');
    expect(needSignin).toBeDefined();
    const key = String(needSignin!.key);
    await served.user.decide(key, 'accept');
    const deadline = Date.now() + 8_000;
    while (!states.some((state) => state.status === 'ACCEPTED') && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 100));
    const accepted = states.find((state) => state.status === 'ACCEPTED');
    expect(accepted).toMatchObject({ status: 'ACCEPTED', username: 'pryv-user' });
    expect((await new pryv.Connection(String(accepted!.apiEndpoint)).accessInfo()).name).toBe('pryv-controller-app');
  });

  it('Connection.accessInfo of a revoked token fails with invalid-access-token', async () => {
    const service = new pryv.Service(`${served.base}/service/info`);
    const started = await service.startAccessRequest({ requestingAppId: 'pryv-lib-revoked', requestedPermissions: permissions });
    await served.user.decide(started.key, 'accept');
    const accepted = await service.pollAccessRequest(started.key);
    const list = JSON.parse((await served.user.get('/api/v1/accesses')).text) as { accesses: { id: string; appId: string }[] };
    const access = list.accesses.find((entry) => entry.appId === 'pryv-lib-revoked')!;
    await served.user.get('/account/accesses');
    expect((await served.user.post(`/account/accesses/${access.id}/revoke`, {})).status).toBe(303);
    const answer = await new pryv.Connection(String(accepted.apiEndpoint)).accessInfo();
    expect(answer).toMatchObject({ error: { id: 'invalid-access-token' } });
  });
});
