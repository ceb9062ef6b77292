import { describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import { sessionGrantId } from '../../../src/doors/support/session-model.js';
import { SupportOriginClient } from '../../../src/sdk/support.js';
import type { TestApp } from '../../helpers/app.js';
import { postgresMissing } from '../../helpers/services.js';
import { ADMIN, ADMIN_AUTH, useSupportServers, useTwoOriginNodes } from './helpers.js';

/*
 * One supporter credential could open any number of sockets to one session, each sent the
 * history, every message and the pings, each keeping a presence mark renewed. The session's
 * supporter sockets are capped (PAIRGATE_SUPPORT_MAX_SUPPORTERS), across nodes: one beyond is
 * told `too_many_supporters` and closed with 4429; a socket closing gives its place back, and the
 * places of a node that died lapse with their presence marks.
 */

/** A supporter socket: what it was sent, and how it closed. */
interface Supporter {
  socket: WebSocket;
  events: Record<string, unknown>[];
  closed: Promise<{ code: number; reason: string }>;
}

/** Opens a supporter socket of session `id` on `node`, recording from the start. */
async function attach(node: TestApp, id: string): Promise<Supporter> {
  const socket = new WebSocket(`${node.url.replace(/^http/, 'ws')}/session/${id}/channel`, { headers: { authorization: ADMIN_AUTH } });
  const events: Record<string, unknown>[] = [];
  socket.on('message', (data) => events.push(JSON.parse(String(data)) as Record<string, unknown>));
  socket.on('error', () => undefined);
  const closed = new Promise<{ code: number; reason: string }>((resolve) => socket.once('close', (code, reason) => resolve({ code, reason: String(reason) })));
  await new Promise<void>((resolve, reject) => {
    socket.once('open', () => resolve());
    socket.once('unexpected-response', (_request, response) => reject(new Error(`upgrade refused: ${response.statusCode}`)));
  });
  return { socket, events, closed };
}

/** Waits until `supporter` was sent its first state (it is in), or closed (refused); says which. */
async function outcome(supporter: Supporter): Promise<{ in: true } | { in: false; code: number; reason: string; events: Record<string, unknown>[] }> {
  const deadline = Date.now() + 5000;
  let closed: { code: number; reason: string } | undefined;
  void supporter.closed.then((c) => (closed = c));
  while (Date.now() < deadline) {
    if (supporter.events.some((e) => e.type === 'state')) return { in: true };
    if (closed) return { in: false, ...closed, events: supporter.events };
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  throw new Error('neither let in nor refused within 5 s');
}

const closeAndWait = async (supporter: Supporter): Promise<void> => {
  supporter.socket.close();
  await supporter.closed;
};

describe('support channel: supporter sockets per session are capped (one node)', () => {
  const servers = useSupportServers({ PAIRGATE_SUPPORT_MAX_SUPPORTERS: '3' });

  it('cap + 1 sockets: the last one is told too_many_supporters and closed with 4429; closing one lets a new one in', async () => {
    await servers.sdk.createSession({ id: 'cap-one-node', supporterName: 'T', supporterAvatar: 'https://img.example/a.png' });
    const first = [await attach(servers.origin, 'cap-one-node'), await attach(servers.origin, 'cap-one-node'), await attach(servers.origin, 'cap-one-node')];
    for (const supporter of first) expect(await outcome(supporter)).toEqual({ in: true });

    const over = await attach(servers.origin, 'cap-one-node');
    // Before the cap: let in like the others (sent its state).
    expect(await outcome(over)).toEqual({ in: false, code: 4429, reason: 'too_many_supporters', events: [expect.objectContaining({ type: 'error', code: 'too_many_supporters' })] });

    await closeAndWait(first[0]!);
    // Its place is given back once its mark is removed (a moment after the close).
    await expect.poll(async () => {
      const again = await attach(servers.origin, 'cap-one-node');
      const result = await outcome(again);
      if (result.in) first[0] = again;
      return result.in;
    }, { timeout: 5000, interval: 100 }).toBe(true);
    for (const supporter of first) await closeAndWait(supporter);
  });

  it('the cap is per session: another session still takes supporters', async () => {
    await servers.sdk.createSession({ id: 'cap-full', supporterName: 'T', supporterAvatar: 'https://img.example/a.png' });
    await servers.sdk.createSession({ id: 'cap-other', supporterName: 'T', supporterAvatar: 'https://img.example/a.png' });
    const full = [await attach(servers.origin, 'cap-full'), await attach(servers.origin, 'cap-full'), await attach(servers.origin, 'cap-full')];
    for (const supporter of full) expect(await outcome(supporter)).toEqual({ in: true });
    const other = await attach(servers.origin, 'cap-other');
    expect(await outcome(other)).toEqual({ in: true });
    for (const supporter of [...full, other]) await closeAndWait(supporter);
  });

  it('the place of a supporter on a node that died is free once its mark lapses', async () => {
    const id = 'cap-dead-node';
    await servers.sdk.createSession({ id, supporterName: 'T', supporterAvatar: 'https://img.example/a.png' });
    // Two places held here, the third by a node that died: its mark (slot 2) is neither renewed nor removed.
    const live = [await attach(servers.origin, id), await attach(servers.origin, id)];
    for (const supporter of live) expect(await outcome(supporter)).toEqual({ in: true });
    const ephemeral = servers.origin.app.pairgate.stores.ephemeral;
    const held = await ephemeral.list(`support:supporter|${sessionGrantId(id)}|`, Date.now());
    const used = new Set(held.map((entry) => entry.key.split('|').at(-1)));
    const free = ['0', '1', '2'].find((n) => !used.has(n))!;
    expect(await ephemeral.setIfAbsent(`support:supporter|${sessionGrantId(id)}|${free}`, 'deadnode', 1500, Date.now())).toBe(true);
    expect(await outcome(await attach(servers.origin, id))).toMatchObject({ in: false, code: 4429 });
    await new Promise((resolve) => setTimeout(resolve, 1600));
    const after = await attach(servers.origin, id);
    expect(await outcome(after)).toEqual({ in: true });
    for (const supporter of [...live, after]) await closeAndWait(supporter);
  });
});

const pgMissing = await postgresMissing();

describe.skipIf(pgMissing)('support channel: supporter sockets per session are capped across two nodes (PostgreSQL)', () => {
  const nodes = useTwoOriginNodes(false, { PAIRGATE_SUPPORT_MAX_SUPPORTERS: '2' });

  it('one supporter on A and one on B: a third, on either node, is refused 4429; one leaving B lets one in on A', async () => {
    const id = 'cap-two-nodes';
    await new SupportOriginClient({ baseUrl: nodes.a.url, ...ADMIN }).createSession({ id, supporterName: 'T', supporterAvatar: 'https://img.example/a.png' });
    const onA = await attach(nodes.a, id);
    const onB = await attach(nodes.b, id);
    expect(await outcome(onA)).toEqual({ in: true });
    expect(await outcome(onB)).toEqual({ in: true });
    expect(await outcome(await attach(nodes.a, id))).toMatchObject({ in: false, code: 4429, reason: 'too_many_supporters' });
    expect(await outcome(await attach(nodes.b, id))).toMatchObject({ in: false, code: 4429, reason: 'too_many_supporters' });
    await closeAndWait(onB);
    let again: Supporter | undefined;
    await expect.poll(async () => {
      const next = await attach(nodes.a, id);
      const result = await outcome(next);
      if (result.in) again = next;
      return result.in;
    }, { timeout: 5000, interval: 100 }).toBe(true);
    await closeAndWait(onA);
    await closeAndWait(again!);
  });
});
