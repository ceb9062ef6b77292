import { describe, expect, it } from 'vitest';
import { ManualClock } from '../../../src/core/clock.js';
import { MAX_TOKENS_PER_ACCESS } from '../../../src/doors/access/app-accesses.js';
import type { DurableDb } from '../../../src/store/durable-schema.js';
import { aroundApprove } from '../../helpers/engine-hooks.js';
import { storeSetups } from '../../helpers/services.js';
import { listeningNodes } from '../../helpers/setup-nodes.js';
import { acceptTwiceAtOnce, authRequest, FormClient, getJson, postJson } from './form-client.js';

const ENV = {
  PAIRGATE_SCRYPT_COST: '10',
  PAIRGATE_ACCESS_CREATE_PER_MINUTE: '1000',
  PAIRGATE_RATE_LIMIT_MAX: '100000',
};

const REFUSED = { status: 'REFUSED', reasonID: 'REFUSED_BY_USER', message: 'The user refused to give access.' };

// The durable stores: SQLite, and PostgreSQL (where the cap's trim runs under a per-access lock).
const setups = (await storeSetups()).slice(0, 2);

/**
 * The cap of an access's tokens (MAX_TOKENS_PER_ACCESS) trims only for an accept that wins. The
 * token of an accept is written before the engine records the decision, and the trim ran in that
 * same write: an accept that then lost (to a refusal in another tab, to a second press of Accept)
 * withdrew its own token but had revoked the access's oldest already, a working token of the app,
 * for nothing; and a winner that counted the token of an accept still under way revoked one more,
 * for a token withdrawn a moment later.
 */
for (const setup of setups) describe.skipIf(Boolean(setup.skip))(`the token cap and a lost accept, ${setup.name}${setup.skip ? ` (skipped: ${setup.skip})` : ''}`, () => {
  const clock = new ManualClock(Date.now());
  const { nodes, baseFor } = listeningNodes(setup, ENV, { clock });
  const db = (): DurableDb => nodes[0]!.app.pairgate.stores.db;

  /** A user signed in on the first node, with its app's access at its cap: the tokens, oldest first. */
  async function atCap(username: string, appId: string): Promise<{ user: FormClient; tokens: string[] }> {
    const user = new FormClient(baseFor(0));
    await user.register(username);
    const tokens: string[] = [];
    for (let i = 0; i < MAX_TOKENS_PER_ACCESS; i++) {
      const created = await postJson(`${user.base}/access`, authRequest({ requestingAppId: appId }));
      expect((await user.decide(String(created.body.key), 'accept')).status).toBeLessThan(400);
      tokens.push(String((await getJson(String(created.body.poll))).body.token));
      clock.advance(1_000);
    }
    return { user, tokens };
  }

  const works = async (username: string, token: string): Promise<boolean> => (await getJson(`${baseFor(1)}/${username}/access-info`, { authorization: token })).status === 200;
  const working = async (username: string, tokens: string[]): Promise<boolean[]> => Promise.all(tokens.map((token) => works(username, token)));

  async function tokenRows(user: FormClient): Promise<number> {
    const [access] = JSON.parse((await user.get('/api/v1/accesses')).text).accesses as { id: string }[];
    return (await db().selectFrom('app_access_tokens').select('token_hash').where('access_id', '=', access!.id).execute()).length;
  }

  it('an accept that loses to a refusal revokes none of the access\'s tokens', async () => {
    const { user, tokens } = await atCap('refused-at-cap', 'refused-at-cap-app');
    const asked = await postJson(`${user.base}/access`, authRequest({ requestingAppId: 'refused-at-cap-app' }));
    const key = String(asked.body.key);
    expect((await user.get(`/access/auth?key=${key}`)).text).toContain('/access/auth/decide');
    const engine = nodes[0]!.app.pairgate.engine;
    // The refusal (another tab) is recorded just before this accept's decision.
    const lost = await aroundApprove(engine, async (approve, id, result) => {
      await engine.refuse(id, REFUSED);
      return approve(id, result);
    }, () => user.post('/access/auth/decide', { key, decision: 'accept' }));
    expect(lost.status).toBe(409);
    expect((await getJson(String(asked.body.poll))).body.status).toBe('REFUSED');
    expect(await working('refused-at-cap', tokens)).toEqual(Array(MAX_TOKENS_PER_ACCESS).fill(true));
    expect(await tokenRows(user)).toBe(MAX_TOKENS_PER_ACCESS);
  });

  it('of two accepts of one request, the loser revokes nothing: only the oldest goes, for the winner\'s token', async () => {
    const { user, tokens } = await atCap('pressed-twice-at-cap', 'pressed-twice-app');
    const asked = await postJson(`${user.base}/access`, authRequest({ requestingAppId: 'pressed-twice-app' }));
    const key = String(asked.body.key);
    await user.get(`/access/auth?key=${key}`);
    // The second accept is recorded first (and settles), with the first one's token still there.
    const { lost, won, approvals } = await acceptTwiceAtOnce(nodes[0]!.app.pairgate.engine, user, key);
    expect(approvals).toBe(2);
    expect(won.status).toBeLessThan(400);
    expect(lost.status).toBe(409);
    const answer = (await getJson(String(asked.body.poll))).body;
    expect(answer.status).toBe('ACCEPTED');
    expect(await works('pressed-twice-at-cap', String(answer.token))).toBe(true);
    expect(await working('pressed-twice-at-cap', tokens)).toEqual([false, ...Array(MAX_TOKENS_PER_ACCESS - 1).fill(true)]);
    expect(await tokenRows(user)).toBe(MAX_TOKENS_PER_ACCESS);
  });
});
