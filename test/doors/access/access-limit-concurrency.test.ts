import { describe, expect, it } from 'vitest';
import { ManualClock } from '../../../src/core/clock.js';
import { storeSetups } from '../../helpers/services.js';
import { listeningNodes } from '../../helpers/setup-nodes.js';
import { authRequest, FormClient, getJson, postJson, signedInUser } from './form-client.js';

const MAX = 3;
const BURST = 8;

const ENV = {
  PAIRGATE_SCRYPT_COST: '10',
  PAIRGATE_ACCESS_MAX_PER_USER: String(MAX),
  PAIRGATE_ACCESS_CREATE_PER_MINUTE: '1000',
  PAIRGATE_RATE_LIMIT_MAX: '100000',
};

const setups = await storeSetups();

/**
 * PAIRGATE_ACCESS_MAX_PER_USER under a burst: one user accepts auth requests of BURST apps at once,
 * spread over the nodes, and ends with exactly MAX live accesses; every other request ends in ERROR
 * too_many_accesses. Counted and then written apart, every accept found room (on PostgreSQL, each
 * on a connection of its own) and the user ended with more accesses than the limit.
 */
for (const setup of setups) describe.skipIf(Boolean(setup.skip))(`the per-user limit of app accesses under concurrency, ${setup.name}${setup.skip ? ` (skipped: ${setup.skip})` : ''}`, () => {
  const clock = new ManualClock(Date.now());
  const { nodes, bases, baseFor } = listeningNodes(setup, ENV, { clock });

  /**
   * Makes one auth request per app (through the nodes in turn), opens each consent screen, then
   * accepts them all at once, each through its own node; returns each request's answer to its poll.
   */
  async function acceptAtOnce(clients: FormClient[], apps: string[], request: Record<string, unknown> = {}): Promise<Record<string, unknown>[]> {
    const created = await Promise.all(apps.map((app, i) => postJson(`${baseFor(i)}/access`, authRequest({ ...request, requestingAppId: app }))));
    const keys = created.map((answer) => {
      expect(answer.status).toBe(201);
      return String(answer.body.key);
    });
    for (const [i, key] of keys.entries()) {
      const page = await clients[i % clients.length]!.get(`/access/auth?key=${key}`);
      expect(page.text).toContain('/access/auth/decide');
    }
    const decided = await Promise.all(keys.map((key, i) => clients[i % clients.length]!.post('/access/auth/decide', { key, decision: 'accept' })));
    for (const answer of decided) expect(answer.status, answer.text.slice(0, 300)).toBeLessThan(400);
    return Promise.all(created.map(async (answer) => (await getJson(String(answer.body.poll))).body));
  }

  /** The user's live accesses as their accesses page lists them, and the rows that hold them. */
  async function liveAccesses(client: FormClient, username: string): Promise<{ listed: string[]; rows: number }> {
    const listed = (JSON.parse((await client.get('/api/v1/accesses')).text).accesses as { appId: string }[]).map((access) => access.appId);
    const db = nodes[0]!.app.pairgate.stores.db;
    const user = await db.selectFrom('users').select('id').where('username', '=', username).executeTakeFirstOrThrow();
    const rows = await db.selectFrom('app_accesses').select('id').where('user_id', '=', user.id)
      .where((eb) => eb.or([eb('expires_at', 'is', null), eb('expires_at', '>', clock.now())])).execute();
    return { listed, rows: rows.length };
  }

  function expectExactlyMax(answers: Record<string, unknown>[], apps: string[], live: { listed: string[]; rows: number }): void {
    const accepted = apps.filter((_, i) => answers[i]!.status === 'ACCEPTED');
    expect(accepted).toHaveLength(MAX);
    for (const answer of answers.filter((a) => a.status !== 'ACCEPTED')) {
      expect(answer).toMatchObject({ status: 'ERROR', id: 'too_many_accesses', code: 403, message: 'This account has reached its number of app accesses.' });
    }
    expect(live.listed.sort()).toEqual(accepted.sort());
    expect(live.rows).toBe(MAX);
  }

  it(`of ${BURST} new apps accepted at once, exactly ${MAX} get an access; the others end in ERROR too_many_accesses`, async () => {
    const clients = await signedInUser(bases, 'burst-user');
    const apps = Array.from({ length: BURST }, (_, i) => `burst-app-${i}`);
    const answers = await acceptAtOnce(clients, apps);
    expectExactlyMax(answers, apps, await liveAccesses(clients[0]!, 'burst-user'));
    // Each token given works.
    for (const answer of answers.filter((a) => a.status === 'ACCEPTED')) {
      expect((await getJson(`${baseFor(1)}/burst-user/access-info`, { authorization: String(answer.token) })).status).toBe(200);
    }
  });

  it(`of ${BURST} ended accesses granted afresh at once, exactly ${MAX} come back; the others end in ERROR too_many_accesses`, async () => {
    const clients = await signedInUser(bases, 'renew-burst-user');
    const apps = Array.from({ length: BURST }, (_, i) => `renewed-app-${i}`);
    // The limit counts live accesses only: MAX at a time, each ended before the next ones.
    for (let from = 0; from < BURST; from += MAX) {
      const answers = await acceptAtOnce(clients, apps.slice(from, from + MAX), { expireAfter: 1 });
      expect(answers.map((answer) => answer.status)).toEqual(Array(Math.min(MAX, BURST - from)).fill('ACCEPTED'));
      clock.advance(1_500);
    }
    expect(await liveAccesses(clients[0]!, 'renew-burst-user')).toEqual({ listed: [], rows: 0 });
    const answers = await acceptAtOnce(clients, apps);
    expectExactlyMax(answers, apps, await liveAccesses(clients[0]!, 'renew-burst-user'));
  });
});
