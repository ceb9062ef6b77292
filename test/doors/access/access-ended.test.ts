import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ManualClock } from '../../../src/core/clock.js';
import { AppAccesses } from '../../../src/doors/access/app-accesses.js';
import { createTestApp, type TestApp } from '../../helpers/app.js';
import { authRequest, FormClient, getJson, postJson } from './form-client.js';

/**
 * An access asked for with `expireAfter` ends. An ended access is no access: it opens nothing, so
 * the app asking again for the same permissions must get the whole consent screen (not "asks again
 * for the access it already has") and, on Accept, an access that works. It was matched as it was:
 * the app got a token refused at once, for ever, since the one row the unique index allows per
 * app and device stayed ended, and it still counted toward PAIRGATE_ACCESS_MAX_PER_USER.
 */
describe('an app whose access has ended', () => {
  const clock = new ManualClock(Date.now());
  let t: TestApp;
  let base: string;
  beforeAll(async () => {
    t = await createTestApp({ PAIRGATE_SCRYPT_COST: '10', PAIRGATE_ACCESS_MAX_PER_USER: '1' }, { clock });
    base = await t.listen();
  });
  afterAll(() => t.close());

  const ask = { requestingAppId: 'expiring-app', requestedPermissions: [{ streamId: 'diary', level: 'read' }], clientData: { 'app-web-auth:description': { content: 'Keeps your diary.' } } };
  const tokenRows = async (accessId: string) => (await t.app.pairgate.stores.db.selectFrom('app_access_tokens').select('token_hash').where('access_id', '=', accessId).execute()).length;
  const accessesOf = async (user: FormClient) => JSON.parse((await user.get('/api/v1/accesses')).text).accesses as { id: string; appId: string; expiresAt: string | null }[];

  it('asking again shows the whole consent screen, and Accept grants it afresh: a token that works, the old ones still dead', async () => {
    const user = new FormClient(base);
    await user.register('ended-user');
    const first = await postJson(`${base}/access`, authRequest({ ...ask, expireAfter: 1 }));
    await user.decide(String(first.body.key), 'accept');
    const oldToken = String((await getJson(String(first.body.poll))).body.token);
    const [granted] = await accessesOf(user);
    expect((await getJson(`${base}/ended-user/access-info`, { authorization: oldToken })).status).toBe(200);

    clock.advance(1500);
    expect((await getJson(`${base}/ended-user/access-info`, { authorization: oldToken })).status).toBe(401);
    // Ended, it is not among the apps that have access.
    expect(await accessesOf(user)).toEqual([]);

    const again = await postJson(`${base}/access`, authRequest(ask));
    const page = await user.get(`/access/auth?key=${String(again.body.key)}`);
    expect(page.text).not.toContain('asks again for the access it already has');
    expect(page.text).not.toContain('already has access with other permissions');
    expect(page.text).toContain('Allow access?');
    expect(page.text).toContain('Keeps your diary.');
    await user.post('/access/auth/decide', { key: String(again.body.key), decision: 'accept' });
    const answer = (await getJson(String(again.body.poll))).body;
    expect(answer.status).toBe('ACCEPTED');
    const info = await getJson(`${base}/ended-user/access-info`, { authorization: String(answer.token) });
    expect(info.status).toBe(200);
    // The request named no end, so the access granted afresh has none.
    expect(info.body.expires).toBeNull();
    // The same row, granted afresh: its old token did not come back to life, and is gone.
    expect((await getJson(`${base}/ended-user/access-info`, { authorization: oldToken })).status).toBe(401);
    expect(await accessesOf(user)).toEqual([expect.objectContaining({ id: granted!.id, appId: 'expiring-app', expiresAt: null })]);
    expect(await tokenRows(granted!.id)).toBe(1);
  });

  it('counts toward no limit: another app gets the one access allowed, and the ended one then stays ended', async () => {
    const user = new FormClient(base);
    await user.register('ended-limit-user');
    const first = await postJson(`${base}/access`, authRequest({ ...ask, expireAfter: 1 }));
    await user.decide(String(first.body.key), 'accept');
    clock.advance(1500);

    // PAIRGATE_ACCESS_MAX_PER_USER is 1, and the ended access is not one.
    const other = await postJson(`${base}/access`, authRequest({ requestingAppId: 'another-app' }));
    await user.decide(String(other.body.key), 'accept');
    expect((await getJson(String(other.body.poll))).body.status).toBe('ACCEPTED');

    // Granting the ended one afresh would make two.
    const again = await postJson(`${base}/access`, authRequest(ask));
    await user.decide(String(again.body.key), 'accept');
    expect((await getJson(String(again.body.poll))).body).toMatchObject({ status: 'ERROR', id: 'too_many_accesses' });
    expect((await accessesOf(user)).map((access) => access.appId)).toEqual(['another-app']);
  });

  it('the sweep deletes ended accesses and their tokens, and nothing live', async () => {
    const user = new FormClient(base);
    await user.register('swept-user');
    const ending = await postJson(`${base}/access`, authRequest({ ...ask, requestingAppId: 'swept-app', expireAfter: 60 }));
    await user.decide(String(ending.body.key), 'accept');
    const [ended] = await accessesOf(user);
    const accesses = new AppAccesses(t.app.pairgate.stores.db);
    clock.advance(30_000);
    await accesses.sweep(clock.now());
    expect(await tokenRows(ended!.id)).toBe(1);
    clock.advance(31_000);
    await accesses.sweep(clock.now());
    expect(await t.app.pairgate.stores.db.selectFrom('app_accesses').select('id').where('id', '=', ended!.id).execute()).toEqual([]);
    expect(await tokenRows(ended!.id)).toBe(0);
    // The live ones of the other tests stay.
    expect((await t.app.pairgate.stores.db.selectFrom('app_accesses').select('app_id').execute()).map((row) => row.app_id).sort()).toEqual(['another-app', 'expiring-app']);
  });
});
