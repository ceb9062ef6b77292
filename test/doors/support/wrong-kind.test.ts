import { describe, expect, it } from 'vitest';
import { ADMIN_AUTH, json, postJson, ROOMY_MISSES, upgrade, useSupportServers } from './helpers.js';

/**
 * Another door's grant (or another support grant's), its id or code fed to every route of the
 * support door that reads one from the request, is answered exactly like an unknown one: never a
 * 500 (as GET /api/v1/grants/:id once gave), never a hint that it exists.
 */
describe('support routes given another kind of grant', () => {
  // Every comparison looks up an unknown code too.
  const servers = useSupportServers(ROOMY_MISSES);

  /** Status and body of an answer, `name` written as `<name>` (a session's 404 names the id asked). */
  const answer = async (response: Response, name: string): Promise<{ status: number; body: string }> => ({
    status: response.status,
    body: (await response.text()).split(name).join('<name>'),
  });

  /** Asks `path` and `unknownPath` alike; `name` and `unknownName` are what differs between them. */
  const expectSameAnswer = async (path: string, name: string, unknownPath: string, unknownName: string, init: RequestInit = {}): Promise<void> => {
    const origin = servers.origin.url;
    const got = await answer(await fetch(`${origin}${path}`, { ...init, redirect: 'manual' }), name);
    const unknown = await answer(await fetch(`${origin}${unknownPath}`, { ...init, redirect: 'manual' }), unknownName);
    expect(got.status, path).toBeLessThan(500);
    expect(got, path).toEqual(unknown);
  };

  it('answers a generic grant\'s id, a relay entry\'s code and a pairing code where they do not belong as unknown ones', async () => {
    const origin = servers.origin.url;
    const admin = { headers: { authorization: ADMIN_AUTH } };
    const generic = await json(postJson(`${origin}/api/v1/grants`, { label: 'Open the door' }));
    // A support-relay grant on the origin's own relay, whose code has the pairing codes' format.
    const relayEntry = await json(postJson(`${origin}/relay/pairing`, { url: 'http://127.0.0.1:9/pairing/' }));
    const session = await servers.sdk.createSession({ id: 'wrong-kind', supporterName: 'Thorsten', supporterAvatar: 'https://img.example/t.png' });
    const token = /:([A-Za-z]+)$/.exec(session.AgentMSH)![1]!;
    const pairingCode = session.PairingCode!;

    // A grant id that fits a session id's pattern (a random one may start with - or _).
    const id = /^[A-Za-z0-9]/.test(generic.id as string) ? generic.id as string : `a${generic.id as string}`;
    const ids: Array<[string, string]> = [[id, 'no-such-session'], [`support-session:${id}`, 'support-session:no-such-session']];
    for (const [known, unknown] of ids) {
      await expectSameAnswer(`/session/${known}`, known, `/session/${unknown}`, unknown, admin);
      await expectSameAnswer(`/session/${known}?wait=1`, known, `/session/${unknown}?wait=1`, unknown, admin);
      await expectSameAnswer(`/session/${known}/code`, known, `/session/${unknown}/code`, unknown, { method: 'POST', ...admin });
      await expectSameAnswer(`/config/${known}:${token}`, known, `/config/${unknown}:${token}`, unknown);
      await expectSameAnswer(`/support/${known}:${token}`, known, `/support/${unknown}:${token}`, unknown, { headers: { accept: 'text/html' } });
      const ws = origin.replace(/^http/, 'ws');
      const [agent, agentUnknown] = [await upgrade(`${ws}/agent/${known}:${token}`), await upgrade(`${ws}/agent/${unknown}:${token}`)];
      expect(agent, 'agent channel').toEqual(agentUnknown);
      const supporter = await upgrade(`${ws}/session/${known}/channel`, admin);
      const supporterUnknown = await upgrade(`${ws}/session/${unknown}/channel`, admin);
      expect({ ...supporter, body: supporter.body.split(known).join('<name>') }, 'supporter channel').toEqual({ ...supporterUnknown, body: supporterUnknown.body.split(unknown).join('<name>') });
    }
    await expectSameAnswer(`/session/${id}`, id, '/session/no-such-session', 'no-such-session', { method: 'DELETE', ...admin });

    // Codes: the relay entry's at the origin's pairing routes, the session's pairing code at the
    // origin's own relay, and the generic grant's (another format) at both.
    const unknownCode = '2b3c4d';
    const crossed: Array<[string, string]> = [['/pairing', relayEntry.code as string], ['/relay/pairing', pairingCode]];
    for (const [path, code] of crossed) {
      await expectSameAnswer(`${path}/${code}`, code, `${path}/${unknownCode}`, unknownCode);
    }
    await expectSameAnswer(`/pairing/${relayEntry.code as string}`, relayEntry.code as string, `/pairing/${unknownCode}`, unknownCode, { headers: { accept: 'text/html' } });
    await expectSameAnswer(`/pairing/${relayEntry.code as string}/confirm`, relayEntry.code as string, `/pairing/${unknownCode}/confirm`, unknownCode, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"Decision":"accept"}' });
    const genericCode = generic.code as string;
    // The same shape to the relay's code check: its characters replaced by '2', but a zero or an o
    // (which relay codes never hold) kept where it is, so that both are refused for the same reason.
    const sameShape = genericCode.replace(/[1-9a-np-z]/gi, '2');
    for (const path of ['/pairing', '/relay/pairing']) await expectSameAnswer(`${path}/${genericCode}`, genericCode, `${path}/${sameShape}`, sameShape);

    // Nothing of the session was touched by any of it.
    expect((await servers.sdk.getSession('wrong-kind')).State).toBe('waiting');
  });
});
