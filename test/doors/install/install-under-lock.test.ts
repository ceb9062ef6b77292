import type pg from 'pg';
import { describe, expect, it } from 'vitest';
import { systemClock } from '../../../src/core/clock.js';
import { holdRows, untilWaiting } from '../../helpers/lock-races.js';
import { postgresMissing } from '../../helpers/services.js';
import { installConnector, webhookCall, type Answer } from './install-helpers.js';
import { useInstallStoreApp } from './install-store-app.js';

const SITE = 'https://bot.example.test';

/**
 * Installing a setup locks its organization first, as a link, an uninstall and a setup do. It did
 * not: a link that had checked its (just replaced) installation under the organization's lock
 * could commit after the install took the links over and deleted that installation, leaving a link
 * that names nothing until the sweep; and an install and an uninstall of the same installation
 * took their locks in opposite orders (a deadlock PostgreSQL ends with a 500). Here another client
 * holds the organization's lock, as such a link or uninstall would, and the install waits for it.
 * Declared only where PostgreSQL answers (CI always has it: postgresMissing throws there without
 * it); on SQLite a transaction runs alone.
 */
if (!(await postgresMissing())) {
  describe('install door: an install takes the organization\'s lock first (PostgreSQL)', () => {
    const server = useInstallStoreApp('PostgreSQL', undefined);
    const db = () => server.app.app.pairgate.stores.db;

    /**
     * Holds `orgId`'s lock in a transaction of its own, runs `hold` in it (what a link does under
     * the lock), then starts `going` one after the other, each left to wait for the lock (or to
     * be answered without it), and commits; the answers, and whether each waited for the lock.
     */
    const underLock = async (orgId: string, hold: (client: pg.Client) => Promise<void>, going: Array<() => Promise<Answer>>): Promise<{ answers: Answer[]; waited: boolean[] }> => {
      const holder = await holdRows(server.databaseUrl, 'update organizations set name = name where id = $1', [orgId]);
      const answers: Array<Promise<Answer>> = [];
      const waited: boolean[] = [];
      try {
        await hold(holder.client);
        for (const go of going) {
          let settled = false;
          answers.push(go().finally(() => {
            settled = true;
          }));
          // Answered while the lock is held: it never asked for it.
          waited.push(await untilWaiting(db(), { already: waited.filter(Boolean).length, answered: () => settled }));
        }
        await holder.release();
        return { answers: await Promise.all(answers), waited };
      } finally {
        await holder.release();
        await Promise.allSettled(answers);
      }
    };

    it('a link committed under the lock while a new setup\'s install waits for it is taken over, not left naming the deleted installation', async () => {
      const admin = await server.person('lock-install-a');
      const orgId = await admin.createOrg('Lock Install');
      const first = await installConnector(server.base, admin, orgId, 'webhook');
      const adminId = (await db().selectFrom('users').select('id').where('username', '=', admin.username).executeTakeFirstOrThrow()).id;
      // A new setup: the first installation is rotated, and deleted when this one is installed.
      const setup = await admin.setup(orgId, 'webhook');
      expect(setup.status).toBe(201);
      const secondId = /\/webhook\/([^/]+)\/install$/.exec(setup.body.install_url as string)![1]!;
      const { answers: [installed] } = await underLock(orgId,
        // What a link through the first installation does once it found it under the lock (`ChatLinks.link`).
        (client) => client.query('insert into chat_links (org_id, connector, external_user_id, user_id, installation_id, external_username, linked_at) values ($1, $2, $3, $4, $5, $6, $7)', [orgId, 'webhook', 'U-late', adminId, first.id, null, Date.now()]).then(() => {}),
        [() => webhookCall(server.base, setup.body.install_url as string, setup.body.signing_secret as string, { site_url: SITE }, systemClock)]);
      expect(installed!.status).toBe(200);
      expect(await db().selectFrom('chat_installations').select('id').where('org_id', '=', orgId).execute()).toEqual([{ id: secondId }]);
      // The late link holds through the new installation (same chat), as every earlier one does.
      expect(await db().selectFrom('chat_links').select(['external_user_id', 'installation_id']).where('org_id', '=', orgId).execute()).toEqual([{ external_user_id: 'U-late', installation_id: secondId }]);
    });

    it('an install and an uninstall of the same setup at once wait for the lock in the same order: both answered, nothing left', async () => {
      const admin = await server.person('lock-both-a');
      const orgId = await admin.createOrg('Lock Both');
      const setup = await admin.setup(orgId, 'webhook');
      expect(setup.status).toBe(201);
      const { install_url: installUrl, uninstall_url: uninstallUrl, signing_secret: secret } = setup.body as Record<string, string>;
      const { answers: [installed, uninstalled], waited } = await underLock(orgId, async () => {}, [
        () => webhookCall(server.base, installUrl!, secret!, { site_url: SITE }, systemClock),
        () => webhookCall(server.base, uninstallUrl!, secret!, {}, systemClock),
      ]);
      // Both waited for the lock. The install asked first and usually goes first, then the
      // uninstall removes what it installed; but PostgreSQL does not always hand a row lock on in
      // the order it was asked for (both waiters follow the row's new version once the holder
      // commits, and either may lock it first), so the uninstall may go first, and the install then
      // finds no installation (404). Either way both are answered, neither a 500, and nothing is
      // left. (Without the lock, the install held the installation's row while an uninstall
      // holding the organization's lock and the links waited for it: a deadlock when the install
      // then reached the links, which PostgreSQL broke with a 500.)
      expect(waited).toEqual([true, true]);
      expect(uninstalled).toMatchObject({ status: 200, body: { ok: true } });
      expect((uninstalled!.body as { text: string }).text).toMatch(/^Uninstalled: pairgate no longer answers here for organization Lock Both\./);
      if (installed!.status === 404) expect(installed).toMatchObject({ body: { ok: false, text: 'No installation has this id.' } });
      else expect(installed).toMatchObject({ status: 200, body: { ok: true, text: 'Installed and linked with organization Lock Both' } });
      expect(await db().selectFrom('chat_installations').select('id').where('org_id', '=', orgId).execute()).toEqual([]);
    });
  });
}
