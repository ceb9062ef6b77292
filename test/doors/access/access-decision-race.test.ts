import { sql } from 'kysely';
import { describe, expect, it } from 'vitest';
import { useListeningApp } from '../../helpers/app.js';
import { aroundApprove } from '../../helpers/engine-hooks.js';
import { acceptTwiceAtOnce, authRequest, FormClient, getJson, postJson } from './form-client.js';

/**
 * Accept and refuse of one auth request racing (two tabs, two people holding the link): the
 * engine lets one decision win. An accept that loses must leave the user's accesses as they were:
 * when the request differs from an access the app already has, accepting updates that access in
 * place, and a lost accept must not leave it widened to what was asked.
 */
describe('an accept that loses the race to a refusal', () => {
  const server = useListeningApp({ PAIRGATE_SCRYPT_COST: '10' });

  it('leaves the existing access of the app unchanged; the app learns REFUSED', async () => {
    const { t, base } = server;
    const user = new FormClient(base);
    await user.register('racing-user');
    const narrow = [{ streamId: 'diary', level: 'read' }];
    const first = await postJson(`${base}/access`, authRequest({ requestingAppId: 'racing-app', requestedPermissions: narrow }));
    await user.decide(String(first.body.key), 'accept');
    const before = JSON.parse((await user.get('/api/v1/accesses')).text).accesses as { permissions: unknown[]; expiresAt: string | null }[];

    const wide = await postJson(`${base}/access`, authRequest({ requestingAppId: 'racing-app', requestedPermissions: [{ streamId: '*', level: 'manage' }], expireAfter: 60 }));
    const key = String(wide.body.key);
    expect((await user.get(`/access/auth?key=${key}`)).text).toContain('already has access with other permissions');
    // The refusal (another tab) lands while this accept is under way, just before it is recorded.
    const engine = t.app.pairgate.engine;
    const done = await aroundApprove(engine, async (approve, id, result) => {
      await engine.refuse(id, { status: 'REFUSED', reasonID: 'REFUSED_BY_USER', message: 'The user refused to give access.' });
      return approve(id, result);
    }, () => user.post('/access/auth/decide', { key, decision: 'accept' }));
    expect(done.status).toBe(409);
    expect((await getJson(String(wide.body.poll))).body.status).toBe('REFUSED');
    const after = JSON.parse((await user.get('/api/v1/accesses')).text).accesses as { permissions: unknown[]; expiresAt: string | null }[];
    expect(after).toHaveLength(1);
    expect(after[0]!.permissions).toEqual(before[0]!.permissions);
    expect(after[0]!.expiresAt).toEqual(before[0]!.expiresAt);
  });
});

/**
 * Two accepts of one auth request racing (a double press without script, two tabs): one wins and
 * the app gets its token. Here the loser updated the app's access in place and the winner, finding
 * it updated, only added its token: undoing the loser's update would narrow the access the app now
 * holds a token for, to permissions the person never chose for it.
 */
describe('an accept that loses the race to another accept', () => {
  const server = useListeningApp({ PAIRGATE_SCRYPT_COST: '10' });

  it('leaves the access with the permissions accepted; the app learns ACCEPTED', async () => {
    const { t, base } = server;
    const user = new FormClient(base);
    await user.register('double-accept-user');
    const first = await postJson(`${base}/access`, authRequest({ requestingAppId: 'double-app', requestedPermissions: [{ streamId: 'diary', level: 'read' }] }));
    await user.decide(String(first.body.key), 'accept');

    const wide = await postJson(`${base}/access`, authRequest({ requestingAppId: 'double-app', requestedPermissions: [{ streamId: '*', level: 'manage' }] }));
    const key = String(wide.body.key);
    await user.get(`/access/auth?key=${key}`);
    // The first accept has updated the access when the second is recorded first: the first loses.
    const { lost, won, approvals } = await acceptTwiceAtOnce(t.app.pairgate.engine, user, key);
    expect(approvals).toBe(2);
    expect(won.status).toBeLessThan(400);
    expect(lost.status).toBe(409);
    const answer = (await getJson(String(wide.body.poll))).body;
    expect(answer.status).toBe('ACCEPTED');
    const after = JSON.parse((await user.get('/api/v1/accesses')).text).accesses as { permissions: { streamId: string; level: string }[] }[];
    expect(after).toHaveLength(1);
    expect(after[0]!.permissions).toEqual([expect.objectContaining({ streamId: '*', level: 'manage' })]);
  });
});

/**
 * The app's first access, made by an accept that then loses to a refusal (Accept and Refuse in two
 * tabs): the access the accept created must go with its token, or the app stays listed among the
 * apps that have access, with no token, and the unique index keeps it in the way of the next one.
 */
describe('an accept that creates the app\'s first access and loses the race to a refusal', () => {
  const server = useListeningApp({ PAIRGATE_SCRYPT_COST: '10' });

  it('leaves no access behind; the app learns REFUSED, and its next request is granted as a first one', async () => {
    const { t, base } = server;
    const user = new FormClient(base);
    await user.register('first-race-user');
    const asked = await postJson(`${base}/access`, authRequest({ requestingAppId: 'first-race-app' }));
    const key = String(asked.body.key);
    await user.get(`/access/auth?key=${key}`);
    const engine = t.app.pairgate.engine;
    const done = await aroundApprove(engine, async (approve, id, result) => {
      await engine.refuse(id, { status: 'REFUSED', reasonID: 'REFUSED_BY_USER', message: 'The user refused to give access.' });
      return approve(id, result);
    }, () => user.post('/access/auth/decide', { key, decision: 'accept' }));
    expect(done.status).toBe(409);
    expect((await getJson(String(asked.body.poll))).body.status).toBe('REFUSED');
    expect(JSON.parse((await user.get('/api/v1/accesses')).text).accesses).toEqual([]);
    const db = t.app.pairgate.stores.db;
    expect(await db.selectFrom('app_accesses').select('id').where('app_id', '=', 'first-race-app').execute()).toEqual([]);

    const again = await postJson(`${base}/access`, authRequest({ requestingAppId: 'first-race-app' }));
    expect((await user.get(`/access/auth?key=${String(again.body.key)}`)).text).not.toContain('asks again');
    await user.post('/access/auth/decide', { key: String(again.body.key), decision: 'accept' });
    const token = String((await getJson(String(again.body.poll))).body.token);
    expect((await getJson(`${base}/first-race-user/access-info`, { authorization: token })).status).toBe(200);
  });
});

/**
 * Two auth requests of one app, accepted in two tabs before the app has any access: both find none
 * and both make one. The unique index lets one in; the other must use it, and its request end
 * ACCEPTED with a token that works (it ended in ERROR internal_error). The other tab's access is
 * made by a trigger just before this accept's insert, exactly where the race puts it.
 */
describe('a first accept of an app whose access another accept made meanwhile', () => {
  const server = useListeningApp({ PAIRGATE_SCRYPT_COST: '10' });

  it('ends ACCEPTED with a working token, on the one access', async () => {
    const { t, base } = server;
    const db = t.app.pairgate.stores.db;
    const user = new FormClient(base);
    await user.register('twin-tabs-user');
    const request = await postJson(`${base}/access`, authRequest({ requestingAppId: 'twin-app', requestedPermissions: [{ streamId: 'diary', level: 'read' }] }));
    const key = String(request.body.key);
    await user.get(`/access/auth?key=${key}`);
    await sql`create trigger other_tab before insert on app_accesses when new.app_id = 'twin-app' and new.id not like 'other-tab-%'
      begin insert into app_accesses (id, user_id, app_id, device_name, permissions, created_at, updated_at, expires_at)
      values ('other-tab-' || new.id, new.user_id, new.app_id, new.device_name, new.permissions, new.created_at, new.updated_at, new.expires_at); end`.execute(db);
    try {
      const decided = await user.post('/access/auth/decide', { key, decision: 'accept' });
      expect(decided.status).toBeLessThan(400);
    } finally {
      await sql`drop trigger other_tab`.execute(db);
    }
    const answer = (await getJson(String(request.body.poll))).body;
    expect(answer.status, JSON.stringify(answer)).toBe('ACCEPTED');
    expect((await getJson(`${base}/twin-tabs-user/access-info`, { authorization: String(answer.token) })).status).toBe(200);
    const accesses = JSON.parse((await user.get('/api/v1/accesses')).text).accesses as { appId: string }[];
    expect(accesses.filter((access) => access.appId === 'twin-app')).toHaveLength(1);
  });
});
