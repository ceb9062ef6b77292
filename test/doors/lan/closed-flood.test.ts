import { randomBytes } from 'node:crypto';
import type net from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { heldFrameBytes, MAX_DATA_FRAME } from '../../../src/doors/lan/frames.js';
import type { Offer } from '../../../src/doors/lan/offer.js';
import { framedPair, loopbackOffer, provenJoiner } from './lan-fixtures.js';

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

/** A full data frame as the wire carries it. */
const DATA = (() => {
  const head = Buffer.alloc(5);
  head[0] = 2;
  head.writeUInt32BE(MAX_DATA_FRAME, 1);
  return Buffer.concat([head, randomBytes(MAX_DATA_FRAME)]);
})();

/**
 * Writes `frames` full data frames on `socket` at once and waits until they are out or the
 * connection ended, watching how many of the other devices' bytes this process holds unread.
 */
async function flood(socket: net.Socket, frames: number): Promise<{ maxHeld: number; sent: number; closedAfterMs: number }> {
  let maxHeld = 0;
  const started = performance.now();
  const watch = setInterval(() => { maxHeld = Math.max(maxHeld, heldFrameBytes()); }, 2);
  const closed = new Promise<number>((resolve) => socket.once('close', () => resolve(performance.now() - started)));
  try {
    for (let i = 0; i < frames; i++) socket.write(DATA);
    await new Promise<void>((resolve) => {
      socket.once('finish', () => resolve());
      socket.once('close', () => resolve());
    });
    await new Promise((resolve) => setTimeout(resolve, 100));
    return { maxHeld: Math.max(maxHeld, heldFrameBytes()), sent: frames * DATA.length - socket.writableLength, closedAfterMs: await closed };
  } finally {
    clearInterval(watch);
  }
}

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
    expect(sent).toBeGreaterThan(64 * DATA.length);
    expect(maxHeld).toBeLessThan(2 * DATA.length);
    expect(closedAfterMs).toBeLessThan(2500);
  });

  it('close(): nothing queued after it, whatever comes', async () => {
    const [dialling, listening] = await framedPair(sockets);
    dialling.socket.on('error', () => undefined);
    listening.close();
    const { maxHeld, sent } = await flood(dialling.socket as net.Socket, 128);
    expect(sent).toBeGreaterThan(64 * DATA.length);
    expect(maxHeld).toBeLessThan(2 * DATA.length);
  });
});
