import { describe, expect, it } from 'vitest';
import { connectAgent } from '../../../src/sdk/support.js';
import { ADMIN_AUTH, json, postJson, ROOMY_MISSES, useSupportServers } from './helpers.js';

const AVATAR = 'https://img.example/t.png';

/** Creates session `id` on the origin with `supporterName`; its pairing code. */
async function createSession(origin: string, id: string, supporterName: string): Promise<string> {
  const created = await postJson(`${origin}/session`, { id, supporter_name: supporterName, supporter_avatar: AVATAR }, { authorization: ADMIN_AUTH });
  expect(created.status).toBe(201);
  return ((await created.json()) as { PairingCode: string }).PairingCode;
}

/** Asks for a new code for session `id`: the answer's status and code. */
async function newCode(origin: string, id: string): Promise<{ status: number; code: string | undefined }> {
  const answer = await fetch(`${origin}/session/${id}/code`, { method: 'POST', headers: { authorization: ADMIN_AUTH } });
  const body = (await answer.json()) as { PairingCode?: string };
  return { status: answer.status, code: body.PairingCode };
}

const lookUp = (origin: string, code: string): Promise<Response> => fetch(`${origin}/pairing/${code}`, { headers: { accept: 'application/json' } });
const confirm = (origin: string, code: string, decision = 'accept'): Promise<Response> => postJson(`${origin}/pairing/${code}/confirm`, { Decision: decision });

describe('support: a code its session replaced decides nothing', () => {
  // Replaced codes are misses, many within minutes.
  const servers = useSupportServers(ROOMY_MISSES);

  it('two new codes asked for at once (a double click): only the session\'s current one finds or confirms it, and its agent connects', async () => {
    const origin = servers.origin.url;
    const first = await createSession(origin, 'double-click', 'Thorsten');
    const [a, b] = await Promise.all([newCode(origin, 'double-click'), newCode(origin, 'double-click')]);
    expect([a.status, b.status]).toEqual([201, 201]);
    expect(a.code).not.toBe(b.code);
    // The first code was replaced by both.
    expect((await lookUp(origin, first)).status).toBe(404);
    const answers = await Promise.all([a.code!, b.code!].map(async (code) => ({ code, status: (await lookUp(origin, code)).status })));
    const live = answers.filter((answer) => answer.status === 200);
    const replaced = answers.filter((answer) => answer.status === 404);
    // Before the fix, both codes were found, and either one confirmed the session.
    expect(live).toHaveLength(1);
    expect(replaced).toHaveLength(1);
    const refused = await confirm(origin, replaced[0]!.code);
    expect(refused.status).toBe(404);
    expect(await refused.json()).toMatchObject({ Code: 'code_not_found' });
    const confirmed = await json(confirm(origin, live[0]!.code));
    expect(confirmed.State).toBe('confirmed');
    // The credential of the code that confirmed is the session's: its agent is let in.
    const agent = await connectAgent(confirmed.MeshServer, confirmed.AgentCredential);
    agent.close();
  });

  it('a session deleted and made again under its id: no code of the old session shows or decides the new one', async () => {
    const origin = servers.origin.url;
    const first = await createSession(origin, 'made-again', 'Thorsten');
    // Two new codes at once, as above: before the fix, one of them outlived the session's deletion.
    const replaced = await Promise.all([newCode(origin, 'made-again'), newCode(origin, 'made-again')]);
    const deleted = await fetch(`${origin}/session/made-again`, { method: 'DELETE', headers: { authorization: ADMIN_AUTH } });
    expect(deleted.status).toBeLessThan(300);
    const current = await createSession(origin, 'made-again', 'Mallory');
    for (const old of [first, ...replaced.map((answer) => answer.code!)]) {
      const shown = await lookUp(origin, old);
      expect(shown.status, old).toBe(404);
      expect(await shown.text()).not.toContain('Mallory');
      // Not even a decline: an old code cannot stop the new session either.
      expect((await confirm(origin, old, 'decline')).status).toBe(404);
      expect((await confirm(origin, old)).status).toBe(404);
    }
    expect((await json(lookUp(origin, current))).SupporterName).toBe('Mallory');
    expect((await json(confirm(origin, current))).State).toBe('confirmed');
  });
});
