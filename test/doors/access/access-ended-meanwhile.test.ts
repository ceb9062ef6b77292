import { describe, expect, it } from 'vitest';
import { ManualClock } from '../../../src/core/clock.js';
import type { DoorContext } from '../../../src/doors/door.js';
import type { User } from '../../../src/doors/accounts/users.js';
import { findAccessRequest, parseAccessKey } from '../../../src/doors/access/access-key.js';
import { AppAccesses } from '../../../src/doors/access/app-accesses.js';
import { acceptAccess, checkAccess, type ConsentDeps } from '../../../src/doors/access/consent.js';
import { storeSetups } from '../../helpers/services.js';
import { listeningNodes } from '../../helpers/setup-nodes.js';
import { authRequest, FormClient, getJson, postJson } from './form-client.js';

const ENV = { PAIRGATE_SCRYPT_COST: '10', PAIRGATE_ACCESS_MAX_PER_USER: '1' };

// Accesses live in the durable store alone: SQLite, and PostgreSQL (Redis would add nothing here).
const setups = (await storeSetups()).filter((setup) => !setup.name.includes('Redis'));

/**
 * An accept looks at the app's access (`checkAccess`) and then writes. When that access ends in
 * between, the write must not change it in place as if it were live: that brought an ended access
 * back to life with its old tokens, uncounted toward PAIRGATE_ACCESS_MAX_PER_USER, and a further
 * token added to it opened nothing. The accept looks again and grants it afresh, counted, as any
 * ended access. The window is made here by advancing the clock between the check and the accept
 * (in a server it lasts from one read of the clock to the next, so no request can aim at it).
 */
for (const setup of setups) describe.skipIf(Boolean(setup.skip))(`an access that ends between an accept's check and its write, ${setup.name}${setup.skip ? ` (skipped: ${setup.skip})` : ''}`, () => {
  const clock = new ManualClock(Date.now());
  const { nodes, baseFor } = listeningNodes({ ...setup, nodes: 1 }, ENV, { clock });

  const ask = { requestingAppId: 'window-app', requestedPermissions: [{ streamId: 'diary', level: 'read' }] };

  /** The consent functions over the node's own engine, store and clock, as the door wires them. */
  function consentDeps(): ConsentDeps {
    const { engine, stores } = nodes[0]!.app.pairgate;
    return {
      ctx: { clock, engine } as unknown as DoorContext,
      accesses: new AppAccesses(stores.db),
      maxPerUser: 1,
      apiEndpoint: (username, token) => `${baseFor(0)}/${username}/?token=${token}`,
    };
  }

  async function userNamed(username: string): Promise<User> {
    const row = await nodes[0]!.app.pairgate.stores.db.selectFrom('users').select('id').where('username', '=', username).executeTakeFirstOrThrow();
    return { id: row.id, username, email: `${username}@example.test`, createdAt: 0 };
  }

  /** A user with an access of window-app that ends in 1 s; returns the user's client and the app's token. */
  async function userWithEndingAccess(username: string): Promise<{ client: FormClient; token: string }> {
    const client = new FormClient(baseFor(0));
    await client.register(username);
    const first = await postJson(`${baseFor(0)}/access`, authRequest({ ...ask, expireAfter: 1 }));
    await client.decide(String(first.body.key), 'accept');
    return { client, token: String((await getJson(String(first.body.poll))).body.token) };
  }

  /** The app's request `body`, checked now against the user's access as the accept route does. */
  async function checkedRequest(deps: ConsentDeps, user: User, body: Record<string, unknown>) {
    const created = await postJson(`${baseFor(0)}/access`, authRequest(body));
    const key = parseAccessKey(String(created.body.key))!;
    const grant = (await findAccessRequest(nodes[0]!.app.pairgate.engine, key))!;
    return { key, grant, check: await checkAccess(deps, user, grant.request) };
  }

  const opens = async (username: string, token: string) => (await getJson(`${baseFor(0)}/${username}/access-info`, { authorization: token })).status === 200;
  const listedApps = async (client: FormClient) => (JSON.parse((await client.get('/api/v1/accesses')).text).accesses as { appId: string }[]).map((access) => access.appId);

  it('other permissions: not changed in place; at the limit (another app took the place meanwhile) the accept ends in ERROR, and the old token stays dead', async () => {
    const deps = consentDeps();
    const { client, token: oldToken } = await userWithEndingAccess('window-limit');
    const user = await userNamed('window-limit');
    const { key, grant, check } = await checkedRequest(deps, user, { ...ask, requestedPermissions: [{ streamId: 'diary', level: 'contribute' }] });
    expect(check.mismatchingAccess).toBeDefined();

    clock.advance(1500);
    const other = await postJson(`${baseFor(0)}/access`, authRequest({ requestingAppId: 'other-app' }));
    await client.decide(String(other.body.key), 'accept');
    expect((await getJson(String(other.body.poll))).body.status).toBe('ACCEPTED');

    const decided = await acceptAccess(deps, grant, key, user, check, { stillSignedIn: async () => true });
    expect(decided.outcome).toMatchObject({ status: 'ERROR', id: 'too_many_accesses' });
    expect(await opens('window-limit', oldToken)).toBe(false);
    expect(await listedApps(client)).toEqual(['other-app']);
  });

  it('the same permissions: granted afresh with a token that works, not a token added to the ended access', async () => {
    const deps = consentDeps();
    const { client, token: oldToken } = await userWithEndingAccess('window-same');
    const user = await userNamed('window-same');
    const { key, grant, check } = await checkedRequest(deps, user, ask);
    expect(check.matchingAccess).toBeDefined();

    clock.advance(1500);
    const decided = await acceptAccess(deps, grant, key, user, check, { stillSignedIn: async () => true });
    expect(decided.outcome.status).toBe('ACCEPTED');
    const token = (decided.outcome as { token: string }).token;
    expect(await opens('window-same', token)).toBe(true);
    expect(await opens('window-same', oldToken)).toBe(false);
    expect(await listedApps(client)).toEqual(['window-app']);
  });

  it('a new end: the ended access is granted afresh with it, the old token dead', async () => {
    const deps = consentDeps();
    const { client, token: oldToken } = await userWithEndingAccess('window-end');
    const user = await userNamed('window-end');
    const { key, grant, check } = await checkedRequest(deps, user, { ...ask, expireAfter: 3600 });
    expect(check.matchingAccess).toBeDefined();

    clock.advance(1500);
    const decided = await acceptAccess(deps, grant, key, user, check, { stillSignedIn: async () => true });
    expect(decided.outcome.status).toBe('ACCEPTED');
    expect(await opens('window-end', (decided.outcome as { token: string }).token)).toBe(true);
    expect(await opens('window-end', oldToken)).toBe(false);
    const [access] = JSON.parse((await client.get('/api/v1/accesses')).text).accesses as { expiresAt: string }[];
    expect(Date.parse(access!.expiresAt)).toBe(clock.now() + 3600_000);
  });
});
