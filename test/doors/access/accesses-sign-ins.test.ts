import { describe, expect, it } from 'vitest';
import { ManualClock } from '../../../src/core/clock.js';
import { hashToken } from '../../../src/core/ids.js';
import { MAX_TOKENS_PER_ACCESS } from '../../../src/doors/access/app-accesses.js';
import { storeSetups } from '../../helpers/services.js';
import { listeningNodes } from '../../helpers/setup-nodes.js';
import { acceptedToken, FormClient, signedInUser } from './form-client.js';

const ENV = {
  PAIRGATE_SCRYPT_COST: '10',
  PAIRGATE_ACCESS_CREATE_PER_MINUTE: '1000',
  PAIRGATE_RATE_LIMIT_MAX: '100000',
};

// The durable stores: SQLite, and PostgreSQL shared by two nodes (the count is one grouped query on each).
const setups = (await storeSetups()).slice(0, 2);

/** An access of the JSON list, with the fields this test reads. */
interface Listed {
  appId: string;
  signIns: number;
  lastSignInAt: string | null;
}

/**
 * The accesses page and `GET /api/v1/accesses` say, per access, how many sign-ins (tokens) it holds
 * and when the newest was made: before, the page showed only when the access was granted, so an app
 * signed in on ten devices looked like one signed in once. Over real sockets, on every node.
 */
for (const setup of setups) describe.skipIf(Boolean(setup.skip))(`the sign-ins of each app access, ${setup.name}${setup.skip ? ` (skipped: ${setup.skip})` : ''}`, () => {
  // 2026-12-07 10:15:30 UTC: the page says it to the minute.
  const clock = new ManualClock(Date.UTC(2026, 11, 7, 10, 15, 30));
  const { nodes, bases } = listeningNodes(setup, ENV, { clock });

  /** The text of each access's entry on the page (`lang` asked), by its heading. */
  async function pageEntries(client: FormClient, lang: 'en' | 'fr'): Promise<Record<string, string>> {
    const page = await client.get(`/account/accesses?lang=${lang}`);
    expect(page.status).toBe(200);
    const entries: Record<string, string> = {};
    for (const [, heading, muted] of page.text.matchAll(/<h2 id="access-\d+">([^<]+)[^\n]*\n\s*<p class="muted">([^<]*)<\/p>/g)) entries[heading!.trim()] = muted!;
    return entries;
  }

  const listed = async (client: FormClient): Promise<Listed[]> => JSON.parse((await client.get('/api/v1/accesses')).text).accesses as Listed[];

  it('the page and the JSON list say how many sign-ins each access holds and when the last was, in English and French, and change with another accept', async () => {
    const [onFirst, onLast] = await signedInUser(bases, 'sign-in-counter');
    const reader = onLast ?? onFirst!;
    const kitchen = { requestingAppId: 'counted-app', deviceName: 'Kitchen tablet' };
    const tokens = [await acceptedToken(onFirst!, kitchen)];
    clock.advance(60_000);
    tokens.push(await acceptedToken(onFirst!, { requestingAppId: 'other-app' }));

    // Read on the other node (PostgreSQL): each access counts its own tokens only.
    expect(await pageEntries(reader, 'en')).toEqual({
      'counted-app': 'Granted 2026-12-07 · 1 sign-in, on 2026-12-07 10:15 UTC',
      'other-app': 'Granted 2026-12-07 · 1 sign-in, on 2026-12-07 10:16 UTC',
    });
    expect(await listed(reader)).toEqual([
      expect.objectContaining({ appId: 'other-app', signIns: 1, lastSignInAt: '2026-12-07T10:16:30.000Z' }),
      expect.objectContaining({ appId: 'counted-app', signIns: 1, lastSignInAt: '2026-12-07T10:15:30.000Z' }),
    ]);

    // The same app signs in again, two hours later: a second token of the same access.
    clock.advance(2 * 3_600_000);
    tokens.push(await acceptedToken(onFirst!, kitchen));
    expect((await pageEntries(reader, 'en'))['counted-app']).toBe('Granted 2026-12-07 · 2 sign-ins, the last on 2026-12-07 12:16 UTC');
    expect(await pageEntries(reader, 'fr')).toEqual({
      'counted-app': 'Accordé le 2026-12-07 · 2 connexions, la dernière le 2026-12-07 12:16 UTC',
      'other-app': 'Accordé le 2026-12-07 · 1 connexion, le 2026-12-07 10:16 UTC',
    });
    expect((await listed(reader)).find((access) => access.appId === 'counted-app')).toMatchObject({ signIns: 2, lastSignInAt: '2026-12-07T12:16:30.000Z' });

    // Never a token, nor its hash, on the page or in the list.
    const shown = (await reader.get('/account/accesses')).text + (await reader.get('/api/v1/accesses')).text;
    for (const token of tokens) {
      expect(shown).not.toContain(token);
      expect(shown).not.toContain(hashToken(token));
    }
  });

  it('an access left with no token (an accept that lost withdraws its token a moment before it deletes the access) says No sign-in, in English and French', async () => {
    const [onFirst, onLast] = await signedInUser(bases, 'token-withdrawn');
    const reader = onLast ?? onFirst!;
    const token = await acceptedToken(onFirst!, { requestingAppId: 'withdrawn-app' });
    // The losing accept's first step, on its own: the token gone, the access still there.
    const withdrawn = await nodes[0]!.app.pairgate.stores.db.deleteFrom('app_access_tokens').where('token_hash', '=', hashToken(token)).executeTakeFirst();
    expect(Number(withdrawn.numDeletedRows)).toBe(1);
    expect(await listed(reader)).toEqual([expect.objectContaining({ appId: 'withdrawn-app', signIns: 0, lastSignInAt: null })]);
    expect(await pageEntries(reader, 'en')).toEqual({ 'withdrawn-app': 'Granted 2026-12-07 · No sign-in' });
    expect(await pageEntries(reader, 'fr')).toEqual({ 'withdrawn-app': 'Accordé le 2026-12-07 · Aucune connexion' });
  });

  it(`an access at its cap says ${MAX_TOKENS_PER_ACCESS} sign-ins, the newest the last, however often the app signed in`, async () => {
    const [user] = await signedInUser(bases, 'often-signed-in');
    const ask = { requestingAppId: 'capped-app' };
    for (let i = 0; i < MAX_TOKENS_PER_ACCESS + 2; i++) {
      clock.advance(60_000);
      await acceptedToken(user!, ask);
    }
    const last = new Date(clock.now()).toISOString().slice(0, 16).replace('T', ' ');
    expect((await pageEntries(user!, 'en'))['capped-app']).toBe(`Granted 2026-12-07 · ${MAX_TOKENS_PER_ACCESS} sign-ins, the last on ${last} UTC`);
    expect((await listed(user!))[0]).toMatchObject({ appId: 'capped-app', signIns: MAX_TOKENS_PER_ACCESS, lastSignInAt: new Date(clock.now()).toISOString() });
  });
});
