import { describe, expect, it } from 'vitest';
import { systemClock } from '../../../src/core/clock.js';
import { postgresMissing } from '../../helpers/services.js';
import { FakeMattermost, installationIdOf, installConnector, mattermostId, type MattermostUser } from './install-helpers.js';
import { useInstallStoreApp } from './install-store-app.js';

const REPEATS = 12;

/**
 * A setup may be repeated without limit, and each one rotated the previous installation and kept
 * it for a setup TTL (24 h): one more row, sealed secret and all, per request. A setup now deletes
 * the never-installed setups an earlier setup had already replaced, keeping the one it replaces
 * (still answering 410 `installation_rotated`), and never an installed one or one holding links.
 */
describe.each([
  ['SQLite', undefined],
  ['PostgreSQL', await postgresMissing()],
] as const)('install door: repeated setups leave a bounded number of rows (%s)', (store, skip) => {
  const server = useInstallStoreApp(store, skip);
  const db = () => server.app.app.pairgate.stores.db;
  const rowsOf = (orgId: string, connector = 'mattermost') =>
    db().selectFrom('chat_installations').select(['id', 'state']).where('org_id', '=', orgId).where('connector', '=', connector).execute();
  /** `rows` in id order: setups made within one millisecond share their `created_at`, so that order is not fixed. */
  const byId = <T extends { id: string }>(rows: T[]): T[] => [...rows].sort((a, b) => a.id.localeCompare(b.id));
  const linksOf = (orgId: string) =>
    db().selectFrom('chat_links').select(['external_user_id', 'installation_id']).where('org_id', '=', orgId).execute();

  it.skipIf(skip)('keeps the installed one and its links, the setup just replaced and the new one; deletes the rest; other organizations and connectors keep theirs', async () => {
    const admin = await server.person('repeat-admin');
    const orgId = await server.organization(admin, 'Repeaters', []);
    const otherOrg = await server.organization(admin, 'Bystanders', []);
    const mm = new FakeMattermost(server.base, systemClock);
    const ada: MattermostUser = { id: mattermostId(`repeatada${server.suffix}`), username: 'ada' };

    // Installed, with a link made through it.
    const installed = await installConnector(server.base, admin, orgId, 'mattermost');
    const token = await admin.linkToken(orgId);
    expect(token.status).toBe(201);
    expect((await mm.call(installed.id, 'link', installed.secret, ada, { values: { token: token.body.token } })).body).toMatchObject({ type: 'ok', data: { linked: true } });
    // Rotated, never installed, in another organization and another connector: not this organization's setups of Mattermost.
    expect((await admin.setup(otherOrg)).status).toBe(201);
    expect((await admin.setup(otherOrg)).status).toBe(201);
    expect((await admin.setup(orgId, 'webhook')).status).toBe(201);
    expect((await admin.setup(orgId, 'webhook')).status).toBe(201);

    const setups: Array<{ id: string; secret: string }> = [];
    for (let i = 0; i < REPEATS; i++) {
      const answer = await admin.setup(orgId);
      expect(answer.status).toBe(201);
      setups.push({ id: installationIdOf(answer.body.manifest_link), secret: answer.body.jwt_secret as string });
      // Never more than the installed one, the setup just replaced and the new one.
      expect((await rowsOf(orgId)).length).toBeLessThanOrEqual(3);
    }
    const [previous, newest] = setups.slice(-2) as [{ id: string; secret: string }, { id: string; secret: string }];
    expect(byId(await rowsOf(orgId))).toEqual(byId([{ id: installed.id, state: 'rotated' }, { id: previous.id, state: 'rotated' }, { id: newest.id, state: 'pending' }]));
    expect(await linksOf(orgId)).toEqual([{ external_user_id: ada.id, installation_id: installed.id }]);
    // The one just replaced still says why it fails; older ones are gone.
    expect((await mm.call(previous.id, 'bindings', previous.secret, ada)).body).toMatchObject({ type: 'error', data: { error: 'installation_rotated' } });
    expect((await mm.call(installed.id, 'bindings', installed.secret, ada)).body).toMatchObject({ type: 'error', data: { error: 'installation_rotated' } });
    expect((await mm.call(setups[0]!.id, 'bindings', setups[0]!.secret, ada)).body).toMatchObject({ type: 'error', data: { error: 'installation_not_found' } });
    expect((await rowsOf(otherOrg)).map((row) => row.state).sort()).toEqual(['pending', 'rotated']);
    expect((await rowsOf(orgId, 'webhook')).map((row) => row.state).sort()).toEqual(['pending', 'rotated']);

    // Installing the newest from the same chat takes ada's link over, as before.
    expect((await mm.install(newest.id, newest.secret, { id: mattermostId(`repeatmm${server.suffix}`), username: 'sysadmin' })).status).toBe(200);
    expect(await rowsOf(orgId)).toEqual([{ id: newest.id, state: 'installed' }]);
    expect(await linksOf(orgId)).toEqual([{ external_user_id: ada.id, installation_id: newest.id }]);
    expect((await mm.call(newest.id, 'status', newest.secret, ada)).body.data.linked).toBe(true);
  });
});
