import type net from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import type { Offer } from '../../../src/doors/lan/offer.js';
import { flood, framedPair, FULL_DATA_FRAME, loopbackOffer, provenJoiner } from './lan-fixtures.js';

/**
 * Once a session is over, `FramedChannel.close()` leaves the connection half-open for up to a
 * second, so that this side's last frame is read before the other end sees the connection go. What
 * the other device sends in that second used to be read on and queued (64 frames of 256 KiB,
 * 16 MiB), from a device that proved the secret: nothing reads the channel any more, so it must be
 * dropped as it comes, and the connection still end within the second.
 */

const offers: Offer[] = [];
const sockets: net.Socket[] = [];
afterEach(async () => {
  for (const socket of sockets.splice(0)) socket.destroy();
  await Promise.all(offers.splice(0).map((offer) => offer.close()));
});

describe('a device that keeps sending once its session has ended', () => {
  it('an offer whose paired session ended drops what the joiner (which proved the secret) still sends, and closes within the second', async () => {
    const made = await loopbackOffer({ handshakeTimeoutMs: 5000 });
    offers.push(made.offer);
    const { channel, socket } = await provenJoiner(made.offer);
    sockets.push(socket);
    socket.on('error', () => undefined);
    // The joiner proved the secret, then says it failed: the offer's session ends there and it
    // closes the connection (`endWith` -> `close`: the word was the other device's own).
    channel.send({ t: 'error', code: 'lan_write_failed', message: 'its disk is full' });
    await expect(made.offer.result).rejects.toMatchObject({ code: 'lan_peer_failed' });

    const { maxHeld, sent, closedAfterMs } = await flood(socket, 128);
    // Enough left to have filled the old queue (64 frames), and none of it was held.
    expect(sent).toBeGreaterThan(64 * FULL_DATA_FRAME.length);
    expect(maxHeld).toBeLessThan(2 * FULL_DATA_FRAME.length);
    expect(await closedAfterMs).toBeLessThan(2500);
  });

  it('close(): nothing queued after it, whatever comes', async () => {
    const [dialling, listening] = await framedPair(sockets);
    dialling.socket.on('error', () => undefined);
    listening.close();
    const { maxHeld, sent } = await flood(dialling.socket as net.Socket, 128);
    expect(sent).toBeGreaterThan(64 * FULL_DATA_FRAME.length);
    expect(maxHeld).toBeLessThan(2 * FULL_DATA_FRAME.length);
  });
});
