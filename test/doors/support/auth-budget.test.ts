import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SupportOriginClient } from '../../../src/sdk/support.js';
import type { TestApp } from '../../helpers/app.js';
import { ADMIN, ADMIN_AUTH, basicAuth, requestFrom, startOrigin, startRelay, upgrade } from './helpers.js';

const AVATAR = 'https://avatars.example/thorsten.png';
const OWN = { user: 'joe-helper', password: 'right-pass' };

// Each client IP is another loopback address: the server sees real peers, no forwarded header.
describe('support origin: attempt budget on the supporter credentials', () => {
  let relay: TestApp;
  let origin: TestApp;
  beforeAll(async () => {
    relay = await startRelay();
    origin = await startOrigin(relay.url, { PAIRGATE_SUPPORT_AUTH_FAILURES_PER_IP: '3', PAIRGATE_SUPPORT_AUTH_FAILURES_PER_SESSION: '5' });
    const sdk = new SupportOriginClient({ baseUrl: origin.url, ...ADMIN });
    for (const id of ['guarded', 'ws-guarded']) {
      await sdk.createSession({ id, ttl: 600, supporterName: 'Thorsten', supporterAvatar: AVATAR, username: OWN.user, password: OWN.password });
    }
  });
  afterAll(async () => {
    await origin?.close();
    await relay?.close();
  });

  const getSession = (from: string, id: string, authorization?: string) =>
    requestFrom(from, `${origin.url}/session/${id}`, { headers: { accept: 'application/json', ...(authorization ? { authorization } : {}) } });

  it('GET /session/:id: wrong session passwords spend the address\'s budget (429, Retry-After, stable code); another address still gets in', async () => {
    for (let i = 0; i < 3; i++) expect((await getSession('127.0.0.2', 'guarded', basicAuth(OWN.user, 'wrong'))).status).toBe(401);
    const refused = await getSession('127.0.0.2', 'guarded', basicAuth(OWN.user, OWN.password));
    expect(refused.status).toBe(429);
    expect(Number(refused.headers['retry-after'])).toBeGreaterThan(800);
    expect(JSON.parse(refused.body)).toEqual({ Error: 'Too Many Requests', Description: expect.stringContaining('Too many wrong supporter credentials'), Code: 'auth_failures_exceeded' });
    // The address is refused whatever it sends, the admin's credentials too.
    expect((await getSession('127.0.0.2', 'guarded', ADMIN_AUTH)).status).toBe(429);
    // The right password from another address still works.
    const own = await getSession('127.0.0.3', 'guarded', basicAuth(OWN.user, OWN.password));
    expect(own.status).toBe(200);
    expect(JSON.parse(own.body)).toMatchObject({ ID: 'guarded', State: 'waiting' });
  });

  it('wrong passwords from many addresses spend the session\'s budget; the admin still gets in', async () => {
    // 3 failures counted above; 2 more from another address reach the session's 5.
    for (let i = 0; i < 2; i++) expect((await getSession('127.0.0.4', 'guarded', basicAuth(OWN.user, 'wrong'))).status).toBe(401);
    const refused = await getSession('127.0.0.5', 'guarded', basicAuth(OWN.user, OWN.password));
    expect(refused.status).toBe(429);
    expect(JSON.parse(refused.body)).toMatchObject({ Code: 'auth_failures_exceeded', Description: expect.stringContaining('this session') });
    expect((await getSession('127.0.0.5', 'guarded', ADMIN_AUTH)).status).toBe(200);
    // An id nobody holds is counted the same way, so a refusal tells nothing about what exists.
    for (let i = 0; i < 2; i++) expect((await getSession('127.0.0.6', 'nobody-has-it', basicAuth('x', 'y'))).status).toBe(401);
    for (let i = 0; i < 2; i++) expect((await getSession('127.0.0.7', 'nobody-has-it', basicAuth('x', 'y'))).status).toBe(401);
    expect((await getSession('127.0.0.8', 'nobody-has-it', basicAuth('x', 'y'))).status).toBe(401);
    expect((await getSession('127.0.0.8', 'nobody-has-it', basicAuth('x', 'y'))).status).toBe(429);
  });

  it('the session channel (WebSocket upgrade) counts and refuses the same way', async () => {
    const channel = `${origin.url.replace('http', 'ws')}/session/ws-guarded/channel`;
    for (let i = 0; i < 3; i++) {
      expect((await upgrade(channel, { localAddress: '127.0.0.9', headers: { authorization: basicAuth(ADMIN.user, 'wrong') } })).status).toBe(401);
    }
    const refused = await upgrade(channel, { localAddress: '127.0.0.9', headers: { authorization: ADMIN_AUTH } });
    expect(refused.status).toBe(429);
    expect(JSON.parse(refused.body)).toMatchObject({ Code: 'auth_failures_exceeded' });
    // The right password of the session's own login, from another address: the channel opens.
    const accepted = await upgrade(channel, { localAddress: '127.0.0.10', headers: { authorization: basicAuth(OWN.user, OWN.password) } });
    expect(accepted.status).toBe(101);
    accepted.socket!.close();
  });

  it('admin routes count wrong admin credentials; requests without credentials are not counted', async () => {
    const create = (authorization: string) => requestFrom('127.0.0.11', `${origin.url}/session`, {
      method: 'POST',
      headers: { authorization, 'content-type': 'application/json' },
      body: JSON.stringify({ id: 'never', supporter_name: 'T', supporter_avatar: AVATAR }),
    });
    for (let i = 0; i < 3; i++) expect((await create(basicAuth(ADMIN.user, 'wrong'))).status).toBe(401);
    expect((await requestFrom('127.0.0.11', `${origin.url}/session`, { headers: { authorization: ADMIN_AUTH } })).status).toBe(429);
    // A browser's first request carries no credentials: it is told to send some, never locked out.
    for (let i = 0; i < 5; i++) expect((await requestFrom('127.0.0.12', `${origin.url}/session`)).status).toBe(401);
    expect((await requestFrom('127.0.0.12', `${origin.url}/session`, { headers: { authorization: ADMIN_AUTH } })).status).toBe(200);
  });

  it('wrong passwords sent all at once cannot overshoot the budget: 3 are checked, the rest refused unchecked', async () => {
    const sdk = new SupportOriginClient({ baseUrl: origin.url, ...ADMIN });
    await sdk.createSession({ id: 'burst-guarded', ttl: 600, supporterName: 'Thorsten', supporterAvatar: AVATAR, username: OWN.user, password: OWN.password });
    const statuses = await Promise.all(Array.from({ length: 30 }, () => getSession('127.0.0.13', 'burst-guarded', basicAuth(OWN.user, 'wrong')).then((r) => r.status)));
    expect(statuses.filter((status) => status === 401)).toHaveLength(3);
    expect(statuses.filter((status) => status === 429)).toHaveLength(27);
  });
});
