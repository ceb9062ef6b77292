import { describe, expect, it } from 'vitest';
import { useListeningApp } from '../../helpers/app.js';

/**
 * `Prefer: wait=N` (RFC 7240) on the generic grant long-poll, over real sockets: the answer says
 * which wait it applied (`Preference-Applied`, RFC 7240 3), the server's bound when that is lower,
 * only when the header chose the wait and the wait was held; and it always varies by Prefer.
 */
describe('Prefer: wait on GET /api/v1/grants/:id', () => {
  // Two waits per client, so the slot test can fill them cheaply; the longest wait 2 s.
  const server = useListeningApp({ PAIRGATE_WAIT_MAX_SECONDS: '2', PAIRGATE_WAITS_PER_CLIENT: '2' });

  const createGrant = async (): Promise<{ id: string; code: string }> =>
    (await (await fetch(`${server.base}/api/v1/grants`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"label":"prefer"}' })).json()) as { id: string; code: string };
  const poll = async (id: string, headers: Record<string, string> | Headers, query = ''): Promise<{ status: number; applied: string | null; vary: string | null; ms: number }> => {
    const started = Date.now();
    const answer = await fetch(`${server.base}/api/v1/grants/${id}${query}`, { headers });
    await answer.arrayBuffer();
    return { status: answer.status, applied: answer.headers.get('preference-applied'), vary: answer.headers.get('vary'), ms: Date.now() - started };
  };
  const approve = async (code: string): Promise<void> => {
    expect((await fetch(`${server.base}/api/v1/codes/${code}/approve`, { method: 'POST' })).status).toBe(200);
  };

  it('says the wait it applied, and varies by Prefer', async () => {
    const grant = await createGrant();
    const answer = await poll(grant.id, { prefer: 'wait=1' });
    expect(answer).toMatchObject({ status: 200, applied: 'wait=1' });
    expect(answer.ms).toBeGreaterThanOrEqual(900);
    expect(answer.vary?.split(',').map((name) => name.trim().toLowerCase())).toContain('prefer');
  });

  it('names the server\'s bound when the client asked for more, also when a change ends the wait early', async () => {
    const grant = await createGrant();
    const held = poll(grant.id, { prefer: 'wait=300' });
    await new Promise((resolve) => setTimeout(resolve, 200));
    await approve(grant.code);
    const answer = await held;
    expect(answer).toMatchObject({ status: 200, applied: 'wait=2' });
    expect(answer.ms).toBeLessThan(1_500);
  });

  it('reads the wait preference as RFC 7240 writes it: among others, quoted, spaced, the first of several', async () => {
    const grant = await createGrant();
    expect((await poll(grant.id, { prefer: 'respond-async, wait=0' })).applied).toBe('wait=0');
    expect((await poll(grant.id, { prefer: 'wait="0"' })).applied).toBe('wait=0');
    expect((await poll(grant.id, { prefer: 'WAIT = 0' })).applied).toBe('wait=0');
    const twice = new Headers();
    twice.append('prefer', 'wait=0');
    twice.append('prefer', 'wait=2');
    const first = await poll(grant.id, twice);
    expect(first.applied).toBe('wait=0');
    expect(first.ms).toBeLessThan(900);
  });

  it('says nothing applied when the header did not choose the wait', async () => {
    const grant = await createGrant();
    // No Prefer at all.
    expect(await poll(grant.id, {})).toMatchObject({ status: 200, applied: null, vary: expect.stringMatching(/prefer/i) });
    // ?wait= comes first: the preference was not what the server applied.
    expect(await poll(grant.id, { prefer: 'wait=2' }, '?wait=0')).toMatchObject({ status: 200, applied: null, vary: expect.stringMatching(/prefer/i) });
    // Not a number of seconds: ignored, as RFC 7240 asks of a preference not understood.
    expect(await poll(grant.id, { prefer: 'wait=soon' })).toMatchObject({ status: 200, applied: null });
    // A parameter of another preference is not the wait preference.
    const param = await poll(grant.id, { prefer: 'return=minimal; wait=2' });
    expect(param).toMatchObject({ status: 200, applied: null });
    expect(param.ms).toBeLessThan(900);
  });

  it('claims no wait on a 404: an unknown grant is answered at once', async () => {
    for (const prefer of ['wait=2', 'wait=0']) {
      expect(await poll('AAAAAAAAAAAAAAAAAAAAAA', { prefer })).toMatchObject({ status: 404, applied: null, vary: expect.stringMatching(/prefer/i) });
    }
  });

  it('takes it back when the client holds all its waits and is answered at once', async () => {
    const grant = await createGrant();
    const holding = [poll(grant.id, {}, '?wait=2'), poll(grant.id, {}, '?wait=2')];
    await new Promise((resolve) => setTimeout(resolve, 200));
    const refused = await poll(grant.id, { prefer: 'wait=2' });
    expect(refused).toMatchObject({ status: 200, applied: null });
    expect(refused.ms).toBeLessThan(900);
    await approve(grant.code);
    await Promise.all(holding);
  });
});
