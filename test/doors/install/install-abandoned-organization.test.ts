import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { ManualClock } from '../../../src/core/clock.js';
import { sqlAppSetups } from '../../helpers/sql-app-setups.js';
import { FakeMattermost, INSTALL_ENV, installationIdOf, Member, mattermostId, type MattermostUser } from './install-helpers.js';

/**
 * Deleting an account takes its memberships and chat links with it (foreign keys), but not the
 * organizations it was the only member of: those were left for ever, nobody able to reach or
 * delete them, with their chat installations (sealed secret and bot token, the chat site's
 * address). The install door's sweep now deletes an organization that has no member left.
 * Only the interval timers are faked, to run the door's own sweep (once a minute) at once.
 */
describe.each(await sqlAppSetups())('install door: an organization whose last member deleted their account ($name)', ({ name: store, skip, useApp }) => {
  const clock = new ManualClock(Date.now());
  const mmAdmin: MattermostUser = { id: mattermostId('abandonadmin'), username: 'sysadmin' };
  // Faked before the server starts (its sweeps' timers), real again once it is closed (the hooks after run in reverse).
  beforeAll(() => {
    if (!skip) vi.useFakeTimers({ toFake: ['setInterval', 'clearInterval'] });
  });
  afterAll(() => {
    vi.useRealTimers();
  });
  const server = useApp(INSTALL_ENV, { clock });

  const db = () => server.t.app.pairgate.stores.db;
  const rowsOf = async (orgId: string) => ({
    organizations: (await db().selectFrom('organizations').select('id').where('id', '=', orgId).execute()).length,
    members: (await db().selectFrom('organization_members').select('user_id').where('org_id', '=', orgId).execute()).length,
    installations: (await db().selectFrom('chat_installations').select('id').where('org_id', '=', orgId).execute()).length,
  });

  it.skipIf(Boolean(skip))('is deleted by the sweep with its installations; one that still has a member is kept', async () => {
    const mm = new FakeMattermost(server.base, clock);
    const solo = await Member.create(server.base, `solo-${store.toLowerCase()}`);
    const abandoned = await solo.createOrg('Abandoned');
    const setup = await solo.setup(abandoned);
    const installation = { id: installationIdOf(setup.body.manifest_link), secret: setup.body.jwt_secret as string };
    expect((await mm.install(installation.id, installation.secret, mmAdmin, 'bot-token-abandoned-0123456789')).status).toBe(200);

    const admin = await Member.create(server.base, `leaver-${store.toLowerCase()}`);
    await Member.create(server.base, `stayer-${store.toLowerCase()}`);
    const shared = await admin.createOrg('Shared');
    // An admin too: the last admin of an organization with members left may not delete their account.
    expect((await admin.addMember(shared, `stayer-${store.toLowerCase()}`, 'admin')).status).toBe(201);

    for (const person of [solo, admin]) {
      const deleted = await person.post('/account/delete', { password: 'correct horse battery' });
      expect(deleted.status).toBe(200);
    }
    // The accounts went with their memberships; the organizations stayed.
    expect(await rowsOf(abandoned)).toEqual({ organizations: 1, members: 0, installations: 1 });
    expect(await rowsOf(shared)).toEqual({ organizations: 1, members: 1, installations: 0 });

    // The door's sweep, as it runs every minute.
    await vi.advanceTimersByTimeAsync(60_000);
    await vi.waitFor(async () => expect(await rowsOf(abandoned)).toEqual({ organizations: 0, members: 0, installations: 0 }), { timeout: 5_000 });
    expect(server.t.logs.some((line) => line.includes('organizations with no member left deleted') && line.includes('"organizations":1'))).toBe(true);
    expect(await rowsOf(shared)).toEqual({ organizations: 1, members: 1, installations: 0 });
    // Its installation's calls now find nothing.
    clock.advance(1000);
    expect((await mm.call(installation.id, 'bindings', installation.secret, mmAdmin)).body.data.error).toBe('installation_not_found');
    expect(server.t.logs.join('')).not.toContain('bot-token-abandoned-0123456789');
  });
});
