import { describe, expect, it } from 'vitest';
import { useListeningApp } from '../../helpers/app.js';
import { authRequest, FormClient, getJson, postJson } from './form-client.js';

describe('an app asking again, for an access that ends', () => {
  const server = useListeningApp({ PAIRGATE_SCRYPT_COST: '10' });

  it('the compact screen says the access ends expireAfter after accepting, and after the click it does', async () => {
    const { base } = server;
    const user = new FormClient(base);
    await user.register('lifetimes');
    const ask = { requestingAppId: 'lifetime-app', deviceName: 'Tablet', requestedPermissions: [{ streamId: 'diary', level: 'read' }] };
    const first = await postJson(`${base}/access`, authRequest(ask));
    await user.decide(String(first.body.key), 'accept');
    const firstToken = String((await getJson(String(first.body.poll))).body.token);
    expect((await getJson(`${base}/lifetimes/access-info`, { authorization: firstToken })).body.expires).toBeNull();

    // The same app, device and permissions, for two hours now.
    const again = await postJson(`${base}/access`, authRequest({ ...ask, expireAfter: 7200 }));
    const page = await user.get(`/access/auth?key=${String(again.body.key)}`);
    expect(page.text).toContain('asks again for the access it already has');
    expect(page.text).toContain('This access ends 2 hours after you accept');
    const before = Date.now() / 1000;
    await user.decide(String(again.body.key), 'accept');
    const token = String((await getJson(String(again.body.poll))).body.token);
    const info = await getJson(`${base}/lifetimes/access-info`, { authorization: token });
    expect(info.status).toBe(200);
    // What the screen said: it ends two hours after the click, for every token of the access.
    expect(Number(info.body.expires)).toBeGreaterThanOrEqual(Math.floor(before) + 7200 - 5);
    expect(Number(info.body.expires)).toBeLessThanOrEqual(Date.now() / 1000 + 7200 + 5);
    expect((await getJson(`${base}/lifetimes/access-info`, { authorization: firstToken })).body.expires).toBe(info.body.expires);
    expect(JSON.parse((await user.get('/api/v1/accesses')).text).accesses).toHaveLength(1);

    // Asked again with no end: the compact screen promises none, and the access is left as it is.
    const plain = await postJson(`${base}/access`, authRequest(ask));
    const plainPage = await user.get(`/access/auth?key=${String(plain.body.key)}`);
    expect(plainPage.text).not.toContain('This access ends');
    await user.decide(String(plain.body.key), 'accept');
    const plainToken = String((await getJson(String(plain.body.poll))).body.token);
    expect((await getJson(`${base}/lifetimes/access-info`, { authorization: plainToken })).body.expires).toBe(info.body.expires);
  });
});
