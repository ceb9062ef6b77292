import { randomBytes } from 'node:crypto';
import type net from 'node:net';
import tls from 'node:tls';
import { afterEach, describe, expect, it } from 'vitest';
import { listenForTrustedPeer, type TrustedListener } from '../../../src/doors/lan/connect.js';
import { decodeConnectionString } from '../../../src/doors/lan/connection-string.js';
import { FramedChannel, MAX_REFUSED_OPEN } from '../../../src/doors/lan/frames.js';
import type { Offer } from '../../../src/doors/lan/offer.js';
import { dialPinned } from '../../../src/doors/lan/pinned-dial.js';
import { newNonce } from '../../../src/doors/lan/secret-proof.js';
import { createTlsIdentity } from '../../../src/doors/lan/tls-identity.js';
import { flood, framedPair, FULL_DATA_FRAME, loopbackOffer, trustedPair } from './lan-fixtures.js';

/**
 * A connection the listener refused (`lan connect --listen` refuses any key it does not trust,
 * right after a TLS handshake anyone can complete; an offer refuses a wrong secret) stays open a
 * moment for its refusal to be read. What the refused device sends meanwhile was read on and
 * queued, 64 frames of 256 KiB (16 MiB) per connection: a refused device must make the listener
 * hold nothing, and refused connections left open are bounded in number.
 */

const listeners: TrustedListener[] = [];
const offers: Offer[] = [];
const sockets: net.Socket[] = [];
afterEach(async () => {
  for (const socket of sockets.splice(0)) socket.destroy();
  await Promise.all(listeners.splice(0).map((listener) => listener.close()));
  await Promise.all(offers.splice(0).map((offer) => offer.close()));
});

describe('a refused device that keeps sending', () => {
  it('lan connect --listen: refused as not trusted, its flood of 256 KiB frames is dropped, never queued', async () => {
    const { listenDir } = await trustedPair();
    const listener = await listenForTrustedPeer({ configDir: listenDir, host: '127.0.0.1', port: 0, outDir: listenDir, timeoutMs: 30_000 });
    listeners.push(listener);
    listener.result.catch(() => undefined);

    const stranger = await createTlsIdentity('stranger', 3600);
    const socket = tls.connect({ host: '127.0.0.1', port: listener.port, rejectUnauthorized: false, key: stranger.keyPem, cert: stranger.certPem });
    sockets.push(socket);
    socket.on('error', () => undefined);
    await new Promise<void>((resolve) => socket.once('secureConnect', () => resolve()));
    const channel = new FramedChannel(socket);
    const refusal = channel.expect('never', 5000).catch((error: unknown) => error);

    const { maxHeld, sent } = await flood(socket, 128);
    // It was told why, and got 16 MiB out: enough to have filled the old queue.
    expect(await refusal).toMatchObject({ code: 'lan_not_trusted' });
    expect(sent).toBeGreaterThan(64 * FULL_DATA_FRAME.length);
    expect(maxHeld).toBeLessThan(2 * FULL_DATA_FRAME.length);
  });

  it('an offer: refused for a wrong secret, its flood is dropped, never queued', async () => {
    const made = await loopbackOffer({ handshakeTimeoutMs: 5000 });
    offers.push(made.offer);
    made.offer.result.catch(() => undefined);
    const info = decodeConnectionString(made.offer.connectionString);

    const socket = await dialPinned('127.0.0.1', info.port, info.keySha256, 2000);
    sockets.push(socket);
    socket.on('error', () => undefined);
    const channel = new FramedChannel(socket);
    channel.send({ t: 'hello', v: 1, nonce: newNonce().toString('base64url') });
    await channel.expect('challenge', 5000);
    // A proof made without the secret.
    channel.send({ t: 'proof', proof: randomBytes(32).toString('base64url') });
    const refusal = channel.expect('welcome', 5000).catch((error: unknown) => error);

    const { maxHeld, sent } = await flood(socket, 128);
    expect(await refusal).toMatchObject({ code: 'lan_wrong_secret' });
    expect(made.offer.failures()).toBe(1);
    expect(sent).toBeGreaterThan(64 * FULL_DATA_FRAME.length);
    expect(maxHeld).toBeLessThan(2 * FULL_DATA_FRAME.length);
  });

  it(`refused connections left open are at most ${MAX_REFUSED_OPEN}: past that the oldest is closed at once`, async () => {
    const extra = 5;
    const pairs: FramedChannel[] = [];
    for (let i = 0; i < MAX_REFUSED_OPEN + extra; i++) {
      const [, listening] = await framedPair(sockets);
      pairs.push(listening);
    }
    for (const channel of pairs) channel.refuse('lan_listener_closed', 'Refused.');
    const destroyed = pairs.map((channel) => channel.socket.destroyed);
    expect(destroyed.slice(0, extra)).toEqual(Array(extra).fill(true));
    expect(destroyed.slice(extra)).toEqual(Array(MAX_REFUSED_OPEN).fill(false));
  });
});
