import { connect } from 'node:net';
import { describe, expect, it } from 'vitest';
import { WaitSlots } from '../../../src/doors/shared/wait-slots.js';
import { useListeningApp, type TestApp } from '../../helpers/app.js';

/**
 * The waits `t` holds open now (`pairgate_waiting_clients`). The tests wait for this count instead
 * of sleeping a fixed time: on a loaded machine requests sent 200 ms ago may not have reached the
 * server yet, and a request meant to be turned away would then take a free slot and wait 30 s.
 */
async function waitingNow(t: TestApp): Promise<number> {
  return Number(/^pairgate_waiting_clients (\d+)$/m.exec((await t.app.inject('/metrics')).body)?.[1]);
}

/**
 * PAIRGATE_WAITS_PER_CLIENT over real sockets: one address holds at most that many long-polls and
 * event streams at once. Beyond, a long-poll answers at once with the grant as it is, and an event
 * stream is refused with 429; a slot is free again the moment its wait ends.
 */
describe('open waits per client', () => {
  const server = useListeningApp({ PAIRGATE_WAITS_PER_CLIENT: '3' });

  const createGrant = async () =>
    (await (await fetch(`${server.base}/api/v1/grants`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"label":"slots"}' })).json()) as { id: string; code: string };
  const longPoll = async (id: string, seconds: number) => {
    const started = Date.now();
    const answer = await fetch(`${server.base}/api/v1/grants/${id}?wait=${seconds}`);
    return { status: answer.status, body: (await answer.json()) as { state: string }, ms: Date.now() - started };
  };

  it('three long-polls wait; a fourth answers at once; an event stream is refused; all free again after', async () => {
    const { base } = server;
    const grant = await createGrant();
    const waiting = [longPoll(grant.id, 30), longPoll(grant.id, 30), longPoll(grant.id, 30)];
    await expect.poll(() => waitingNow(server.t)).toBe(3); // the three arrived and wait

    const fourth = await longPoll(grant.id, 30);
    expect(fourth.status).toBe(200);
    expect(fourth.body.state).toBe('pending');
    expect(fourth.ms).toBeLessThan(5_000);

    const stream = await fetch(`${base}/api/v1/grants/${grant.id}/events`);
    expect(stream.status).toBe(429);
    expect(await stream.json()).toMatchObject({ error: 'rate_limited' });
    expect(stream.headers.get('retry-after')).toBe('5');

    // The approval answers the three; their slots are free again.
    expect((await fetch(`${base}/api/v1/codes/${grant.code}/approve`, { method: 'POST' })).status).toBe(200);
    for (const answer of await Promise.all(waiting)) expect(answer.body.state).toBe('approved');
    const other = await createGrant();
    const waited = await longPoll(other.id, 1);
    expect(waited.body.state).toBe('pending');
    expect(waited.ms).toBeGreaterThanOrEqual(900);
  });

  it('a client that goes away gives its slot back', async () => {
    const { base } = server;
    const grant = await createGrant();
    // Raw sockets, so that going away is a real close the server sees.
    const { port } = new URL(base);
    const sockets = [0, 1, 2].map(() => connect(Number(port), '127.0.0.1'));
    for (const socket of sockets) socket.write(`GET /api/v1/grants/${grant.id}?wait=30 HTTP/1.1\r\nhost: 127.0.0.1\r\n\r\n`);
    await expect.poll(() => waitingNow(server.t)).toBe(3);
    // Answered at once: a wait of 10 s asked, so an answer within 5 s cannot have held a slot (a
    // bound of 900 ms against a 1 s wait was too close for a loaded machine).
    expect((await longPoll(grant.id, 10)).ms).toBeLessThan(5_000);
    for (const socket of sockets) socket.destroy();
    await expect.poll(() => waitingNow(server.t)).toBe(0); // the server saw the sockets close
    expect((await longPoll(grant.id, 1)).ms).toBeGreaterThanOrEqual(900);
  });

  it('a HEAD of an event stream answers its headers at once and holds no slot', async () => {
    const { base } = server;
    const grant = await createGrant();
    const started = Date.now();
    // More HEADs than the client has slots: each one would have held a slot, silent, for minutes.
    const heads = await Promise.all(Array.from({ length: 5 }, () => fetch(`${base}/api/v1/grants/${grant.id}/events`, { method: 'HEAD' })));
    expect(heads.map((head) => head.status)).toEqual([200, 200, 200, 200, 200]);
    expect(heads[0]!.headers.get('content-type')).toBe('text/event-stream; charset=utf-8');
    expect(Date.now() - started).toBeLessThan(5_000);
    // All three slots are still free.
    const waits = await Promise.all([0, 1, 2].map(() => longPoll(grant.id, 1)));
    for (const wait of waits) expect(wait.ms).toBeGreaterThanOrEqual(900);
    // An unknown grant's HEAD is still a 404.
    expect((await fetch(`${base}/api/v1/grants/01a2442f8dd4ViaASLWVHLiltDtCTpVt5A/events`, { method: 'HEAD' })).status).toBe(404);
  });
});

/**
 * PAIRGATE_WAITS_MAX: the waits of all clients together on a node. Each holds a file descriptor,
 * and a few hundred networks at their own cap would otherwise take every one.
 */
describe('open waits per node', () => {
  const server = useListeningApp({ PAIRGATE_WAITS_PER_CLIENT: '100', PAIRGATE_WAITS_MAX: '2' });

  it('two long-polls wait; a third answers at once, an event stream is refused, though the address is far from its own cap', async () => {
    const { base } = server;
    const grant = (await (await fetch(`${base}/api/v1/grants`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"label":"node cap"}' })).json()) as { id: string; code: string };
    const waiting = [0, 1].map(() => fetch(`${base}/api/v1/grants/${grant.id}?wait=30`));
    await expect.poll(() => waitingNow(server.t)).toBe(2);
    const started = Date.now();
    const third = await fetch(`${base}/api/v1/grants/${grant.id}?wait=30`);
    expect(third.status).toBe(200);
    expect(Date.now() - started).toBeLessThan(5_000);
    const stream = await fetch(`${base}/api/v1/grants/${grant.id}/events`);
    expect(stream.status).toBe(429);
    expect(await stream.json()).toMatchObject({ error: 'rate_limited', message: expect.stringMatching(/server holds as many open waits/) });
    expect((await fetch(`${base}/api/v1/codes/${grant.code}/approve`, { method: 'POST' })).status).toBe(200);
    for (const answer of await Promise.all(waiting)) expect(((await answer.json()) as { state: string }).state).toBe('approved');
  });
});

describe('WaitSlots', () => {
  it('refuses a client at its own cap, and every client at the node cap; a release frees both', () => {
    const slots = new WaitSlots(2, 3);
    const a1 = slots.take('a');
    const a2 = slots.take('a');
    expect(slots.take('a')).toBeUndefined();
    expect(slots.full).toBe(false);
    const b1 = slots.take('b');
    expect(slots.full).toBe(true);
    expect(slots.take('c')).toBeUndefined();
    expect(slots.size).toBe(3);
    b1!();
    b1!(); // a second release changes nothing
    expect(slots.size).toBe(2);
    expect(slots.take('c')).toBeDefined();
    a1!();
    a2!();
    expect(slots.size).toBe(1);
    // 0 means no limit, for each.
    const open = new WaitSlots(0, 0);
    for (let i = 0; i < 1_000; i++) expect(open.take('x')).toBeDefined();
  });
});
