import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { advertiseBox } from '../../src/doors/registry/mdns.js';
import { findBoxesByMdns } from '../../src/sdk/box-discovery.js';
import { freePort } from '../helpers/ports.js';
import { rejection } from './consumer-sdk-helpers.js';

/**
 * `findBoxesByMdns` takes a `signal` as every other SDK call: aborted, it rejects at once with
 * `aborted` and closes its multicast socket (real sockets on a loopback-only mDNS port of this file).
 */

/** The UDP sockets this process holds open. */
const udpSockets = (): number => process.getActiveResourcesInfo().filter((kind) => kind === 'UDPWrap').length;

describe('findBoxesByMdns with an AbortSignal', () => {
  let mdns: { port: number; interface: string };
  let advert: { stop(): Promise<void> };
  const fingerprint = 'a'.repeat(52);
  beforeAll(async () => {
    mdns = { port: await freePort(), interface: '127.0.0.1' };
    advert = advertiseBox({ fingerprint, port: 4443, name: 'Attic box', addresses: ['127.0.0.1'] }, mdns);
  });
  afterAll(() => advert.stop());

  it('aborted halfway: rejects at once with aborted, its cause the reason, and its multicast socket is closed', async () => {
    const before = udpSockets();
    const controller = new AbortController();
    const started = Date.now();
    const finding = findBoxesByMdns(10_000, { ...mdns, signal: controller.signal });
    await expect.poll(udpSockets).toBe(before + 1);
    const reason = new Error('stop');
    setTimeout(() => controller.abort(reason), 300);
    const error = await rejection(finding);
    expect({ code: error.code, status: error.status, retryable: error.retryable, cause: error.cause }).toEqual({ code: 'aborted', status: 0, retryable: false, cause: reason });
    expect(Date.now() - started).toBeLessThan(2_000);
    await expect.poll(udpSockets, { timeout: 1_000 }).toBe(before);
  });

  it('aborted before: rejects with aborted and opens no socket', async () => {
    const before = udpSockets();
    const error = await rejection(findBoxesByMdns(10_000, { ...mdns, signal: AbortSignal.abort() }));
    expect(error.code).toBe('aborted');
    expect(udpSockets()).toBe(before);
  });

  it('a signal never aborted changes nothing: the box is found, the socket closed at the end', async () => {
    const before = udpSockets();
    const boxes = await findBoxesByMdns(1_500, { ...mdns, signal: new AbortController().signal });
    expect(boxes.find((box) => box.fingerprint === fingerprint)).toMatchObject({ name: 'Attic box', port: 4443, addresses: ['127.0.0.1'] });
    await expect.poll(udpSockets, { timeout: 1_000 }).toBe(before);
  });
});
