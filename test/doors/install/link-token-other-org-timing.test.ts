import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { systemClock } from '../../../src/core/clock.js';
import { createTestApp, type TestApp } from '../../helpers/app.js';
import { INSTALL_ENV, installConnector, Member, webhookCall } from './install-helpers.js';

/** How long the test's ephemeral store takes to read a spent-token note: a slow Redis, made obvious. */
const SLOW_READ_MS = 400;

/**
 * A token guessed through one's own installation that is another organization's live token is
 * told exactly as a token that does not exist (404 `link_token_unknown`, left unspent), and also
 * in the same time: it used to skip the read of the spent-token note a token found nowhere makes
 * (one round trip to Redis), so the time of the answer said "this is someone's live token". With
 * organizations free to make, an attacker's own installations (each with its own wrong-token
 * budget) could then search for live tokens beyond the per-installation budget the brute-force
 * figure is computed with, and spend one found so in the chat it was made for.
 */
describe('install link tokens: another organization\'s token takes as long as no token (real sockets)', () => {
  let t: TestApp;
  let base: string;

  beforeAll(async () => {
    t = await createTestApp(INSTALL_ENV);
    base = await t.listen();
  });
  afterAll(() => t.close());

  it('a guess that is another organization\'s live token reads the spent-token note like any unknown one', async () => {
    const victim = await Member.create(base, 'timing-victim');
    const victimOrg = await victim.createOrg('Victim');
    const victimChat = await installConnector(base, victim, victimOrg, 'webhook');
    const token = (await victim.linkToken(victimOrg, 'webhook')).body.token as string;

    const attacker = await Member.create(base, 'timing-attacker');
    const attackerOrg = await attacker.createOrg('Attacker');
    const own = await installConnector(base, attacker, attackerOrg, 'webhook');
    const commandUrl = `${base}/webhook/${own.id}/command`;

    const ephemeral = t.app.pairgate.stores.ephemeral;
    const get = ephemeral.get.bind(ephemeral);
    const spentReads: string[] = [];
    ephemeral.get = async (key, now) => {
      if (key.startsWith('install|link-spent|')) {
        spentReads.push(key);
        await new Promise((resolve) => setTimeout(resolve, SLOW_READ_MS));
      }
      return get(key, now);
    };
    try {
      const timed = async (text: string) => {
        const started = performance.now();
        const answer = await webhookCall(base, commandUrl, own.secret, { user_id: 'guesser', text }, systemClock);
        return { answer, ms: performance.now() - started };
      };
      const hit = await timed(`link ${token}`);
      expect(hit.answer.status).toBe(404);
      expect(hit.answer.body.error).toBe('link_token_unknown');
      // The same work as for a token found nowhere: the note read, the time taken.
      expect(spentReads).toHaveLength(1);
      expect(hit.ms).toBeGreaterThanOrEqual(SLOW_READ_MS - 20);
    } finally {
      ephemeral.get = get;
    }
    // Left unspent: its maker's chat still links with it.
    const linked = await webhookCall(base, `${base}/webhook/${victimChat.id}/command`, victimChat.secret, { user_id: 'victim', text: `link ${token}` }, systemClock);
    expect(linked.status).toBe(200);
    expect(linked.body.data).toEqual({ linked: true, username: 'timing-victim' });
  });
});
