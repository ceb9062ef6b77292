import { describe, expect, it } from 'vitest';
import { ManualClock } from '../../../src/core/clock.js';
import { MAX_TOKENS_PER_ACCESS } from '../../../src/doors/access/app-accesses.js';
import { storeSetups } from '../../helpers/services.js';
import { listeningNodes } from '../../helpers/setup-nodes.js';
import { acceptedToken, authRequest, FormClient, getJson, postJson, signedInUser } from './form-client.js';

const ENV = {
  PAIRGATE_SCRYPT_COST: '10',
  PAIRGATE_ACCESS_CREATE_PER_MINUTE: '1000',
  PAIRGATE_RATE_LIMIT_MAX: '100000',
};

const BURST = 6;

// The durable stores: SQLite, and PostgreSQL shared by two nodes (Redis adds nothing to tokens).
const setups = (await storeSetups()).slice(0, 2);

/**
 * An access keeps its MAX_TOKENS_PER_ACCESS newest tokens. Every Accept of a request matching the
 * access (the same app signing in again) added a token, and every older one kept opening the
 * account until the whole access was revoked: tokens piled up without bound, none of them to be
 * told apart or revoked alone. The accept that makes one too many revokes the oldest, in its own
 * transaction, also when several accept at once on several nodes.
 */
for (const setup of setups) describe.skipIf(Boolean(setup.skip))(`the tokens of one app access, ${setup.name}${setup.skip ? ` (skipped: ${setup.skip})` : ''}`, () => {
  const clock = new ManualClock(Date.now());
  const { nodes, bases, baseFor } = listeningNodes(setup, ENV, { clock });

  const works = async (username: string, token: string): Promise<boolean> => (await getJson(`${baseFor(1)}/${username}/access-info`, { authorization: token })).status === 200;

  /** The token rows of the user's one access. */
  async function tokenRows(client: FormClient): Promise<number> {
    const [access] = JSON.parse((await client.get('/api/v1/accesses')).text).accesses as { id: string }[];
    return (await nodes[0]!.app.pairgate.stores.db.selectFrom('app_access_tokens').select('token_hash').where('access_id', '=', access!.id).execute()).length;
  }

  it(`keeps the ${MAX_TOKENS_PER_ACCESS} newest: the accept that makes one more revokes the oldest, also one that changes the permissions in place`, async () => {
    const [user] = await signedInUser(bases, 'many-sign-ins');
    const ask = { requestingAppId: 'often-signed-in-app' };
    const tokens: string[] = [];
    for (let i = 0; i < MAX_TOKENS_PER_ACCESS; i++) {
      tokens.push(await acceptedToken(user!, ask));
      clock.advance(1_000);
    }
    expect(await tokenRows(user!)).toBe(MAX_TOKENS_PER_ACCESS);
    for (const token of tokens) expect(await works('many-sign-ins', token)).toBe(true);

    // One more sign-in: the oldest goes, the others and the new one work.
    tokens.push(await acceptedToken(user!, ask));
    clock.advance(1_000);
    expect(await tokenRows(user!)).toBe(MAX_TOKENS_PER_ACCESS);
    expect(await works('many-sign-ins', tokens[0]!)).toBe(false);
    for (const token of tokens.slice(1)) expect(await works('many-sign-ins', token)).toBe(true);

    // Other permissions update the access in place, and count the same way.
    tokens.push(await acceptedToken(user!, { ...ask, requestedPermissions: [{ streamId: 'diary', level: 'contribute', defaultName: 'Diary' }] }));
    expect(await tokenRows(user!)).toBe(MAX_TOKENS_PER_ACCESS);
    expect(await works('many-sign-ins', tokens[1]!)).toBe(false);
    for (const token of tokens.slice(2)) expect(await works('many-sign-ins', token)).toBe(true);
    // Still one access on the page.
    expect(JSON.parse((await user!.get('/api/v1/accesses')).text).accesses).toHaveLength(1);
  });

  it(`of ${BURST} accepts at once on an access at its ${MAX_TOKENS_PER_ACCESS} tokens, each revokes one of the oldest: ${MAX_TOKENS_PER_ACCESS} remain, the new ones among them`, async () => {
    const clients = await signedInUser(bases, 'burst-sign-ins');
    const ask = { requestingAppId: 'burst-signed-in-app' };
    const old: string[] = [];
    for (let i = 0; i < MAX_TOKENS_PER_ACCESS; i++) {
      old.push(await acceptedToken(clients[0]!, ask));
      clock.advance(1_000);
    }
    const created = await Promise.all(Array.from({ length: BURST }, (_, i) => postJson(`${baseFor(i)}/access`, authRequest(ask))));
    for (const [i, answer] of created.entries()) expect((await clients[i % clients.length]!.get(`/access/auth?key=${String(answer.body.key)}`)).text).toContain('/access/auth/decide');
    const decided = await Promise.all(created.map((answer, i) => clients[i % clients.length]!.post('/access/auth/decide', { key: String(answer.body.key), decision: 'accept' })));
    for (const answer of decided) expect(answer.status, answer.text.slice(0, 300)).toBeLessThan(400);

    expect(await tokenRows(clients[0]!)).toBe(MAX_TOKENS_PER_ACCESS);
    for (const answer of created) {
      const polled = await getJson(String(answer.body.poll));
      expect(polled.body).toMatchObject({ status: 'ACCEPTED' });
      expect(await works('burst-sign-ins', String(polled.body.token))).toBe(true);
    }
    const stillWorking = await Promise.all(old.map((token) => works('burst-sign-ins', token)));
    expect(stillWorking).toEqual([...Array(BURST).fill(false), ...Array(MAX_TOKENS_PER_ACCESS - BURST).fill(true)]);
  });
});
