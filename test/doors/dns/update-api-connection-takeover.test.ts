import type { Socket } from 'node:net';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { DnsRuntime } from '../../../src/doors/dns/dns-door.js';
import type { TestApp } from '../../helpers/app.js';
import { openConnectionsFrom } from '../../helpers/sockets.js';
import { createDnsApp, newBox, updateRequest, ZONE } from './dns-helpers.js';

const settle = (ms = 300): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));
const isOpen = (socket: Socket): boolean => !socket.destroyed && !socket.readableEnded;

/**
 * With every update API connection taken, a newcomer was refused: eight networks (eight IPv6
 * /64s, of the 256 in one home's /56) holding their share each, by trickling headers or sending a
 * request every few seconds, shut every box out of its records for as long as they liked. As on
 * the DNS TCP listener, a newcomer now takes the place of the oldest connection of the network
 * holding the most, and, when no network holds more than one, of the one silent the longest.
 */
describe('update API: a newcomer takes a place when every connection is taken (real sockets)', () => {
  let t: TestApp;
  let runtime: DnsRuntime;
  const held: Socket[] = [];
  beforeAll(async () => {
    ({ t, runtime } = await createDnsApp({ PAIRGATE_DNS_UPDATE_MAX_CONNECTIONS: '16', PAIRGATE_REQUEST_TIMEOUT_SECONDS: '30' }));
  });
  afterEach(async () => {
    for (const socket of held.splice(0)) socket.destroy();
    await settle();
  });
  afterAll(() => t.close());

  it('eight networks holding their share each: a box from a ninth is served, in place of the oldest of the largest', async () => {
    const port = runtime.updateApi!.port;
    for (let network = 1; network <= 8; network++) held.push(...(await openConnectionsFrom(port, `127.0.1.${network}`, 2)));
    await settle();
    expect(held.filter(isOpen)).toHaveLength(16);
    const box = await newBox('ninth-network');
    const answer = await updateRequest(runtime, box, 'GET', `www.${box.fingerprint}.${ZONE}`, { localAddress: '127.0.1.9' });
    expect(answer).toEqual({ status: 200, json: { records: [] } });
    // The oldest connection of the first network holding the most made way; the rest stay.
    expect(isOpen(held[0]!)).toBe(false);
    expect(held.slice(1).filter(isOpen)).toHaveLength(15);
    // A network already holding as many as the largest less one is still refused a place.
    const [late] = await openConnectionsFrom(port, '127.0.1.2', 1);
    held.push(late!);
    await settle();
    expect(isOpen(late!)).toBe(false);
  });

  it('sixteen networks holding one each: a box from another takes the place of the one silent the longest', async () => {
    const port = runtime.updateApi!.port;
    for (let network = 1; network <= 16; network++) {
      held.push(...(await openConnectionsFrom(port, `127.0.2.${network}`, 1)));
      await settle(20);
    }
    await settle();
    expect(held.filter(isOpen)).toHaveLength(16);
    const box = await newBox('seventeenth-network');
    const answer = await updateRequest(runtime, box, 'GET', `www.${box.fingerprint}.${ZONE}`, { localAddress: '127.0.2.17' });
    expect(answer).toEqual({ status: 200, json: { records: [] } });
    expect(isOpen(held[0]!)).toBe(false);
    expect(held.slice(1).filter(isOpen)).toHaveLength(15);
  });
});
