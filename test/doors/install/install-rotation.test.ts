import BetterSqlite3 from 'better-sqlite3';
import { Kysely, SqliteDialect } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ManualClock } from '../../../src/core/clock.js';
import { Installations } from '../../../src/doors/install/installations.js';
import { allDoors } from '../../../src/doors/index.js';
import { loadSecretKey, SecretBox } from '../../../src/server/secret-box.js';
import { allMigrations } from '../../../src/server/open-stores.js';
import type { Database } from '../../../src/store/durable-schema.js';
import { migrateToLatest } from '../../../src/store/migrate.js';
import { createTestApp, type TestApp } from '../../helpers/app.js';
import { FakeMattermost, INSTALL_ENV, installationIdOf, Member, mattermostId, type MattermostUser } from './install-helpers.js';

const SETUP_TTL_MS = 24 * 3600 * 1000;

/**
 * A setup rotates the organization's earlier installation of the connector; rotated installations
 * used to be kept forever, sealed secret and bot token included. Now: the bot token goes at the
 * rotation, the row goes once the replacement is installed, or a setup TTL after the rotation.
 */
describe('install door: rotated installations are deleted (real sockets, manual clock)', () => {
  let t: TestApp;
  let base: string;
  let clock: ManualClock;
  let admin: Member;
  let mm: FakeMattermost;
  let installations: Installations;
  const mmAdmin: MattermostUser = { id: mattermostId('rotationadmin'), username: 'sysadmin' };

  beforeAll(async () => {
    clock = new ManualClock(Date.now());
    t = await createTestApp({ ...INSTALL_ENV, PAIRGATE_SESSION_TTL_SECONDS: String(30 * 86400) }, { clock });
    base = await t.listen();
    mm = new FakeMattermost(base, clock);
    admin = await Member.create(base, 'rotation-admin');
    // The door's own sweep runs every minute of real time; the tests call the same method on the clock.
    installations = new Installations(t.app.pairgate.stores.db, new SecretBox(loadSecretKey('', t.config.PAIRGATE_DATA_DIR, 'PAIRGATE_INSTALL_SECRET_KEY')));
  });
  afterAll(() => t.close());

  const db = () => t.app.pairgate.stores.db;
  const rowsOf = (orgId: string, connector = 'mattermost') =>
    db().selectFrom('chat_installations').selectAll().where('org_id', '=', orgId).where('connector', '=', connector).orderBy('created_at').execute();
  const setup = async (orgId: string, connector = 'mattermost') => {
    clock.advance(1000);
    const answer = await admin.setup(orgId, connector);
    expect(answer.status).toBe(201);
    return connector === 'mattermost'
      ? { id: installationIdOf(answer.body.manifest_link), secret: answer.body.jwt_secret as string }
      : { id: /\/webhook\/([^/]+)\/command$/.exec(answer.body.command_url)![1]!, secret: answer.body.signing_secret as string };
  };
  const expectGone = async (inst: { id: string; secret: string }) => {
    const call = await mm.call(inst.id, 'bindings', inst.secret, mmAdmin);
    expect(call.status).toBe(404);
    expect(call.body).toMatchObject({ type: 'error', data: { error: 'installation_not_found' } });
    expect((await fetch(`${base}/mattermost/${inst.id}/manifest.json`)).status).toBe(404);
  };

  it('a rotation drops the bot token at once; installing the replacement deletes every installation it superseded, and only those', async () => {
    const orgId = await admin.createOrg('Rotators');
    const otherOrgId = await admin.createOrg('Bystanders');
    const first = await setup(orgId);
    expect((await mm.install(first.id, first.secret, mmAdmin, 'bot-token-first-0123456789')).status).toBe(200);
    // Rotated installations of another connector and of another organization must stay.
    await setup(orgId, 'webhook');
    await setup(orgId, 'webhook');
    await setup(otherOrgId);
    await setup(otherOrgId);

    const second = await setup(orgId);
    const rotatedAt = clock.now();
    const [rotated] = await rowsOf(orgId);
    expect(rotated).toMatchObject({ id: first.id, state: 'rotated', bot_token_sealed: null, site_url: 'https://chat.example.test' });
    expect(Number(rotated!.rotated_at)).toBe(rotatedAt);
    // Its calls still say why they fail.
    expect((await mm.call(first.id, 'bindings', first.secret, mmAdmin)).body.data.error).toBe('installation_rotated');

    const third = await setup(orgId);
    expect((await rowsOf(orgId)).map((row) => [row.id, row.state])).toEqual([[first.id, 'rotated'], [second.id, 'rotated'], [third.id, 'pending']]);
    expect((await mm.install(third.id, third.secret, mmAdmin)).status).toBe(200);
    expect((await rowsOf(orgId)).map((row) => [row.id, row.state])).toEqual([[third.id, 'installed']]);
    await expectGone(first);
    await expectGone(second);
    expect((await mm.call(third.id, 'bindings', third.secret, mmAdmin)).status).toBe(200);

    expect((await rowsOf(orgId, 'webhook')).map((row) => row.state)).toEqual(['rotated', 'pending']);
    expect((await rowsOf(otherOrgId)).map((row) => row.state)).toEqual(['rotated', 'pending']);
  });

  it('installations whose replacement is never installed are swept a setup TTL after their rotation', async () => {
    const orgId = await admin.createOrg('Forgetful');
    const first = await setup(orgId);
    expect((await mm.install(first.id, first.secret, mmAdmin)).status).toBe(200);
    const second = await setup(orgId);
    const rotatedAt = clock.now();

    clock.advance(SETUP_TTL_MS - 1);
    await installations.sweep(clock.now(), SETUP_TTL_MS);
    expect((await rowsOf(orgId)).map((row) => row.state)).toEqual(['rotated', 'pending']);
    expect((await mm.call(first.id, 'bindings', first.secret, mmAdmin)).body.data.error).toBe('installation_rotated');

    clock.advance(rotatedAt + SETUP_TTL_MS - clock.now());
    await installations.sweep(clock.now(), SETUP_TTL_MS);
    // The replacement expired at that instant too: nothing is left.
    expect(await rowsOf(orgId)).toEqual([]);
    await expectGone(first);
    const late = await mm.install(second.id, second.secret, mmAdmin);
    expect(late.status).toBe(404);
    expect(late.body.data.error).toBe('installation_not_found');
  });

  it('the links made through a rotated installation go with it when the sweep deletes it, in its organization only; the sweep also drops links naming no installation', async () => {
    const linksOf = (orgId: string) => db().selectFrom('chat_links').select(['external_user_id', 'installation_id']).where('org_id', '=', orgId).orderBy('external_user_id').execute();
    const linkThrough = async (orgId: string, inst: { id: string; secret: string }, user: MattermostUser) => {
      const made = await admin.linkToken(orgId);
      expect(made.status).toBe(201);
      const linked = await mm.call(inst.id, 'link', inst.secret, user, { values: { token: made.body.token } });
      expect(linked.status).toBe(200);
    };
    const ada: MattermostUser = { id: mattermostId('sweptada'), username: 'ada' };
    const bob: MattermostUser = { id: mattermostId('sweptbob'), username: 'bob' };
    const orgId = await admin.createOrg('Swept links');
    const otherOrgId = await admin.createOrg('Kept links');
    const first = await setup(orgId);
    expect((await mm.install(first.id, first.secret, mmAdmin)).status).toBe(200);
    await linkThrough(orgId, first, ada);
    const kept = await setup(otherOrgId);
    expect((await mm.install(kept.id, kept.secret, mmAdmin)).status).toBe(200);
    await linkThrough(otherOrgId, kept, bob);
    // A new setup, never installed: the rotated installation keeps its links while its replacement may still be installed.
    await setup(orgId);
    const rotatedAt = clock.now();
    clock.advance(SETUP_TTL_MS - 1);
    await installations.sweep(clock.now(), SETUP_TTL_MS);
    expect(await linksOf(orgId)).toEqual([{ external_user_id: ada.id, installation_id: first.id }]);

    clock.advance(rotatedAt + SETUP_TTL_MS - clock.now());
    const swept = await installations.sweep(clock.now(), SETUP_TTL_MS);
    expect(await rowsOf(orgId)).toEqual([]);
    expect(await linksOf(orgId)).toEqual([]);
    expect(swept).toEqual({ installations: 2, links: 1 });
    // The next install in the organization starts with no links: none lingered for it to take over.
    const next = await setup(orgId);
    expect((await mm.install(next.id, next.secret, mmAdmin)).status).toBe(200);
    expect((await mm.call(next.id, 'status', next.secret, ada)).body.data.linked).toBe(false);
    expect(await linksOf(otherOrgId)).toEqual([{ external_user_id: bob.id, installation_id: kept.id }]);

    // A link an earlier sweep left behind, naming an installation that no longer exists.
    const { id: adminId } = await db().selectFrom('users').select('id').where('username', '=', 'rotation-admin').executeTakeFirstOrThrow();
    const lingering = { org_id: otherOrgId, connector: 'webhook', external_user_id: 'lingering', user_id: adminId, installation_id: 'g'.repeat(22), external_username: null, linked_at: clock.now() };
    await db().insertInto('chat_links').values(lingering).execute();
    const again = await installations.sweep(clock.now(), SETUP_TTL_MS);
    expect(await linksOf(otherOrgId)).toEqual([{ external_user_id: bob.id, installation_id: kept.id }]);
    expect(again).toEqual({ installations: 0, links: 1 });
  });

  it('the migration dates the installations rotated before it (they are swept a setup TTL later) and drops their bot tokens', async () => {
    const raw = new Kysely<unknown>({ dialect: new SqliteDialect({ database: new BetterSqlite3(':memory:') }) });
    const typed = raw as unknown as Kysely<Database>;
    try {
      const migration = '2026120200_install_rotated_at';
      const all = allMigrations(allDoors);
      expect(all[migration]).toBeDefined();
      // The migrations named before it (a later one may build on its column, as the sweep's index does).
      const before = Object.fromEntries(Object.entries(all).filter(([name]) => name < migration));
      await migrateToLatest(raw, before);
      await typed.insertInto('organizations').values({ id: 'o'.repeat(22), name: 'Old', created_at: 1 }).execute();
      const row = { org_id: 'o'.repeat(22), connector: 'mattermost', secret_sealed: 'v1.x', created_at: 1, expires_at: null, installed_at: 2, site_url: 'https://chat.example.test', bot_user_id: 'b', bot_token_sealed: 'v1.bot' };
      // Written as the previous schema had it: no rotated_at column yet.
      await (raw as Kysely<any>).insertInto('chat_installations').values([{ ...row, id: 'r'.repeat(22), state: 'rotated' }, { ...row, id: 'i'.repeat(22), state: 'installed' }]).execute();

      const startedAt = Date.now();
      await migrateToLatest(raw, allMigrations(allDoors));
      const rows = await typed.selectFrom('chat_installations').select(['id', 'state', 'rotated_at', 'bot_token_sealed']).orderBy('id').execute();
      expect(rows).toEqual([
        { id: 'i'.repeat(22), state: 'installed', rotated_at: null, bot_token_sealed: 'v1.bot' },
        { id: 'r'.repeat(22), state: 'rotated', rotated_at: expect.any(Number), bot_token_sealed: null },
      ]);
      expect(Number(rows[1]!.rotated_at)).toBeGreaterThanOrEqual(startedAt);
    } finally {
      await raw.destroy();
    }
  });
});
