import { describe, expect, it } from 'vitest';
import { sessionGrantId } from '../../../src/doors/support/session-model.js';
import { ADMIN_AUTH, json, postJson, ROOMY_MISSES, useSupportServers } from './helpers.js';

const AVATAR = 'https://img.example/t.png';

describe('support: a confirmation racing a new code', () => {
  // The replaced code is looked up after, a miss.
  const servers = useSupportServers(ROOMY_MISSES);

  /**
   * Creates session `id`, then confirms its code while, at `moment` of the confirmation (just before
   * it decides the code, or just before it confirms the session), the supporter is given a new
   * code. `decision` is the JSON Decision. The confirmation's answer, and the new code.
   */
  async function confirmWhileReplaced(id: string, moment: 'code' | 'session', decision = 'accept'): Promise<{ answer: Response; newCode: string }> {
    const origin = servers.origin.url;
    const created = await postJson(`${origin}/session`, { id, supporter_name: 'Thorsten', supporter_avatar: AVATAR }, { authorization: ADMIN_AUTH });
    expect(created.status).toBe(201);
    const code = ((await created.json()) as { PairingCode: string }).PairingCode;
    const { engine } = servers.origin.app.pairgate;
    // A yes approves the code's grant, then the session's; a no refuses them.
    const method = decision === 'accept' ? 'approve' : 'refuse';
    const decide = engine[method].bind(engine);
    let replaced: Promise<string> | undefined;
    engine[method] = (async (grantId: string, ...rest: unknown[]) => {
      const isSession = grantId === sessionGrantId(id);
      if (!replaced && isSession === (moment === 'session')) {
        replaced = fetch(`${origin}/session/${id}/code`, { method: 'POST', headers: { authorization: ADMIN_AUTH } }).then(async (answer) => {
          expect(answer.status).toBe(201);
          return ((await answer.json()) as { PairingCode: string }).PairingCode;
        });
        await replaced;
      }
      return (decide as (...args: unknown[]) => unknown)(grantId, ...rest);
    }) as typeof engine.approve & typeof engine.refuse;
    try {
      const answer = await postJson(`${origin}/pairing/${code}/confirm`, { Decision: decision });
      expect(replaced).toBeDefined();
      const newCode = await replaced!;
      // The old code is, from now on, as unknown as one never issued (not "used": nothing was).
      const looked = await fetch(`${origin}/pairing/${code}`, { headers: { accept: 'application/json' } });
      expect(looked.status).toBe(404);
      expect(await looked.json()).toMatchObject({ Code: 'code_not_found' });
      return { answer, newCode };
    } finally {
      engine[method] = decide as typeof engine.approve & typeof engine.refuse;
    }
  }

  for (const moment of ['code', 'session'] as const) {
    it(`replaced just before the confirmation ${moment === 'code' ? 'spends the code' : 'confirms the session'}: code_not_found, the session still waits, and its new code confirms it`, async () => {
      const id = `confirm-race-${moment}`;
      const { answer, newCode } = await confirmWhileReplaced(id, moment);
      // Before the fix: 404 code_used (the session's approval refused, the code noted as used), or
      // 404 grant_not_found (the engine's word for the pairing grant the new code removed).
      expect(answer.status).toBe(404);
      expect(await answer.json()).toMatchObject({ Code: 'code_not_found', Description: 'Code not found' });
      const session = await json(fetch(`${servers.origin.url}/session/${id}`, { headers: { authorization: ADMIN_AUTH } }));
      expect(session.State).toBe('waiting');
      expect(session.PairingCodeExpiresAt).not.toBeNull();
      const confirmed = await json(postJson(`${servers.origin.url}/pairing/${newCode}/confirm`, { Decision: 'accept' }));
      expect(confirmed.State).toBe('confirmed');
    });
  }

  it('a decline of a code replaced just before it is refused: code_not_found (not the engine\'s grant_not_found), and the session still waits', async () => {
    const id = 'decline-race';
    const { answer, newCode } = await confirmWhileReplaced(id, 'code', 'decline');
    expect(answer.status).toBe(404);
    expect(await answer.json()).toMatchObject({ Code: 'code_not_found', Description: 'Code not found' });
    expect((await json(fetch(`${servers.origin.url}/session/${id}`, { headers: { authorization: ADMIN_AUTH } }))).State).toBe('waiting');
    expect((await json(postJson(`${servers.origin.url}/pairing/${newCode}/confirm`, { Decision: 'accept' }))).State).toBe('confirmed');
  });
});
