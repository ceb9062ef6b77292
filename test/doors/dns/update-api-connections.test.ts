import type { Socket } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DnsRuntime } from '../../../src/doors/dns/dns-door.js';
import type { TestApp } from '../../helpers/app.js';
import { openConnectionsFrom } from '../../helpers/sockets.js';
import { createDnsApp, newBox, updateClient, ZONE } from './dns-helpers.js';

/** Resolves once every socket that will be closed by the server has been (or `ms` passed). */
const settle = (ms = 300): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));
const open = (sockets: Socket[]): number => sockets.filter((socket) => !socket.destroyed && !socket.readableEnded).length;

/**
 * The update API is public (boxes reach it from anywhere) and held connections each until a
 * timeout: without a bound, one client could hold every descriptor of the process or every
 * connection boxes need. PAIRGATE_DNS_UPDATE_MAX_CONNECTIONS bounds them in all, one network an
 * eighth of them, and the refusals are logged at most once a minute.
 */
describe('update API: connections bounded in all and per network (real sockets)', () => {
  let t: TestApp;
  let runtime: DnsRuntime;
  const held: Socket[] = [];
  beforeAll(async () => {
    ({ t, runtime } = await createDnsApp({ PAIRGATE_DNS_UPDATE_MAX_CONNECTIONS: '16', PAIRGATE_REQUEST_TIMEOUT_SECONDS: '30' }));
  });
  afterAll(async () => {
    for (const socket of held) socket.destroy();
    await t.close();
  });

  it('one network holds an eighth (2 of 16), the rest of its connections closed at once and logged once', async () => {
    const port = runtime.updateApi!.port;
    const greedy = await openConnectionsFrom(port, '127.0.0.2', 6);
    held.push(...greedy);
    await settle();
    expect(open(greedy)).toBe(2);
    const told = t.logs.join('').split('\n').filter((line) => line.includes('from networks holding 2 already'));
    expect(told).toHaveLength(1);
    expect(told[0]).toContain('refused 1 connection ');
  });

  it('all networks together hold at most 16; a box is still served once others let go', async () => {
    const port = runtime.updateApi!.port;
    for (let network = 3; network <= 10; network++) held.push(...(await openConnectionsFrom(port, `127.0.0.${network}`, 2)));
    await settle();
    // 2 from the first test, 16 here: 16 open in all.
    expect(open(held)).toBe(16);
    // The two refused: the first told at once, the second within the minute not.
    const told = t.logs.join('').split('\n').filter((line) => line.includes('are open, PAIRGATE_DNS_UPDATE_MAX_CONNECTIONS'));
    expect(told).toHaveLength(1);
    expect(told[0]).toContain('dns update API: refused 1 connection: 16 are open');
    for (const socket of held.splice(0)) socket.destroy();
    await settle();
    const box = await newBox('after-flood');
    const answer = await updateClient(runtime, box).list(`www.${box.fingerprint}.${ZONE}`);
    expect(answer).toEqual([]);
  });
});
