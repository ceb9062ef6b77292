import { randomBytes } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { createServer, type AddressInfo } from 'node:net';
import { join as joinPath } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { connectToTrustedPeer } from '../../../src/doors/lan/connect.js';
import { decodeConnectionString, encodeConnectionString } from '../../../src/doors/lan/connection-string.js';
import { FramedChannel } from '../../../src/doors/lan/frames.js';
import { join } from '../../../src/doors/lan/join.js';
import type { Offer } from '../../../src/doors/lan/offer.js';
import { dialPinned, dialTls } from '../../../src/doors/lan/pinned-dial.js';
import { channelBinding, newNonce, secretProof } from '../../../src/doors/lan/secret-proof.js';
import { TrustedPeerStore } from '../../../src/doors/lan/trusted-peers.js';
import { deviceDir, loopbackOffer } from './lan-fixtures.js';

/**
 * What each side tells the person when pairing goes wrong in the ways people meet: a mistyped
 * string, a string whose key is not the offer's, an offer that has ended, the other device stopped
 * in the middle. Each message says what happened from this side and what to do; the exit code
 * follows from the machine code (README: 2 for what the person can fix, 1 otherwise).
 */

const offers: Offer[] = [];
afterEach(async () => {
  await Promise.all(offers.splice(0).map((o) => o.close()));
});

async function offerOnLoopback(overrides: Parameters<typeof loopbackOffer>[0] = {}) {
  const made = await loopbackOffer(overrides);
  offers.push(made.offer);
  return made;
}

async function failureOf(promise: Promise<unknown>): Promise<{ code: string; status: number; message: string }> {
  try {
    await promise;
  } catch (error) {
    return error as { code: string; status: number; message: string };
  }
  throw new Error('expected a failure');
}

describe('lan: messages a person can act on', () => {
  it('a mistyped secret: the joiner is told its string is wrong (not that the device is), the offer logs it in its own words', async () => {
    const { offer, logs } = await offerOnLoopback();
    const info = decodeConnectionString(offer.connectionString);
    const typo = encodeConnectionString({ ...info, secret: randomBytes(32) });
    const error = await failureOf(join(typo, { configDir: deviceDir('typo'), discovery: false }));
    expect(error.code).toBe('lan_wrong_secret');
    expect(error.message).toMatch(/^The device at 127\.0\.0\.1:\d+ holds another secret than this connection string: the string was mistyped or cut short, or it is from an earlier offer/);
    expect(error.message).toContain('Copy the string again, or scan the QR code, from the offer running now.');
    await expect.poll(() => offer.failures()).toBe(1);
    const line = logs.find((l) => l.startsWith('Refused'));
    expect(line).toMatch(/^Refused 127\.0\.0\.1: its connection string holds another secret \(mistyped, cut short, or from an earlier offer\) \(failed attempt 1 of 5\)\.$/);
  });

  it('a string that pins another key: the offer logs where the device that left its TLS handshake came from', async () => {
    const { offer, logs } = await offerOnLoopback();
    const info = decodeConnectionString(offer.connectionString);
    // As `lan join` does on a key mismatch: the TLS handshake completes on its side, it closes at once.
    await expect(dialPinned('127.0.0.1', info.port, randomBytes(32), 2000)).rejects.toMatchObject({ code: 'lan_key_mismatch' });
    await expect.poll(() => logs.find((l) => l.includes('TLS handshake'))).toBeDefined();
    const line = logs.find((l) => l.includes('TLS handshake'))!;
    // It read "A TLS handshake from  failed: socket hang up": no address, no hint.
    expect(line).toContain('127.0.0.1');
    expect(line).toMatch(/^A device at 127\.0\.0\.1 left during the TLS handshake \(not counted\): a device that expects another key here does so/);
    expect(offer.failures()).toBe(0);
  });

  it('an offer that has ended: the joiner is told so and what to do, not asked whether both are on one network', async () => {
    // A port where nothing listens any more, as after an offer paired, timed out or was stopped.
    const gone = createServer();
    await new Promise<void>((resolve) => gone.listen(0, '127.0.0.1', resolve));
    const { port } = gone.address() as AddressInfo;
    await new Promise<void>((resolve) => gone.close(() => resolve()));
    const string = encodeConnectionString({ addresses: ['127.0.0.1'], port, keySha256: randomBytes(32), secret: randomBytes(32), deviceId: randomBytes(16).toString('base64url'), name: 'laptop' });
    const logged: string[] = [];
    const error = await failureOf(join(string, { configDir: deviceDir('late'), discovery: false, log: (line) => logged.push(line) }));
    expect(error.code).toBe('lan_peer_unreachable');
    // The socket's words are progress, logged as the address fails; the error names the address once.
    expect(logged.join('\n')).toContain(`127.0.0.1:${port}: connect ECONNREFUSED`);
    expect(error.message).not.toContain('ECONNREFUSED');
    expect(error.message).toContain(`Cannot reach "laptop" at 127.0.0.1:${port}.`);
    expect(error.message).toContain('its offer has ended (an offer stops once it has paired, at its --timeout, or with Ctrl-C). Start a new offer there and use its new string.');
  });

  it('lan connect to a peer whose listener is not running: says to start "lan connect --listen" there', async () => {
    const dir = deviceDir('connect-nobody');
    await new TrustedPeerStore(dir).save({ deviceId: randomBytes(16).toString('base64url'), name: 'desk', keySha256: randomBytes(32).toString('base64url'), addresses: ['127.0.0.1'] });
    const gone = createServer();
    await new Promise<void>((resolve) => gone.listen(0, '127.0.0.1', resolve));
    const { port } = gone.address() as AddressInfo;
    await new Promise<void>((resolve) => gone.close(() => resolve()));
    const error = await failureOf(connectToTrustedPeer('desk', { configDir: dir, port }));
    expect(error.code).toBe('lan_peer_unreachable');
    expect(error.message).toContain(`Nothing listens there: run "pairgate lan connect --listen" on "desk" first (with --port ${port}), then connect again.`);
  });

  it('the other device stopped in the middle (Ctrl-C): lan_connection_lost, a 5xx (exit code 1), not a protocol error (exit 2)', async () => {
    const payloadDir = deviceDir('lost-payload');
    const payload = joinPath(payloadDir, 'big.bin');
    writeFileSync(payload, randomBytes(4 * 1024 * 1024));
    const { offer, secret } = await offerOnLoopback({ payloadPath: payload });
    const info = decodeConnectionString(offer.connectionString);
    // A joiner that proves the secret, then vanishes while the payload comes.
    const socket = await dialTls('127.0.0.1', info.port, 2000);
    const channel = new FramedChannel(socket);
    const joinNonce = newNonce();
    const binding = channelBinding(socket);
    channel.send({ t: 'hello', v: 1, nonce: joinNonce.toString('base64url') });
    const challenge = await channel.expect('challenge', 2000);
    const offerNonce = Buffer.from(String(challenge.nonce), 'base64url');
    channel.send({ t: 'proof', proof: secretProof(secret, 'join', offerNonce, joinNonce, binding).toString('base64url') });
    await channel.expect('welcome', 2000);
    socket.destroy();
    const error = await failureOf(offer.result);
    expect(error.code).toBe('lan_connection_lost');
    expect(error.status).toBeGreaterThanOrEqual(500);
    expect(error.message).toMatch(/Try again\.$/);
  });

  it('a device still proving when another paired first: told the other device paired with someone else, not "This device has already paired"', async () => {
    const { offer } = await offerOnLoopback();
    const info = decodeConnectionString(offer.connectionString);
    const early = new FramedChannel(await dialPinned('127.0.0.1', info.port, info.keySha256, 2000));
    await join(offer.connectionString, { configDir: deviceDir('first-wins'), discovery: false });
    early.send({ t: 'hello', v: 1, nonce: newNonce().toString('base64url') });
    const error = await failureOf(early.expect('challenge', 2000));
    expect(error).toMatchObject({
      code: 'lan_already_paired',
      message: 'The other device has just paired with another device that proved the secret first, and an offer pairs with one device only. Start a new offer there to pair this one too.',
    });
    early.socket.destroy();
  });

  it('an offer that times out or is guessed at says what to do next', async () => {
    const timedOut = await offerOnLoopback({ timeoutMs: 300 });
    const timeout = await failureOf(timedOut.offer.result);
    expect(timeout.code).toBe('lan_offer_timeout');
    expect(timeout.message).toMatch(/^No device paired within 0 s, so the offer stopped \(its string no longer works?\)\. Start a new one when the other device is ready \(--timeout to wait longer\)\.$/);
    const guessed = await offerOnLoopback({ maxFailures: 1 });
    const info = decodeConnectionString(guessed.offer.connectionString);
    await failureOf(join(encodeConnectionString({ ...info, secret: randomBytes(32) }), { configDir: deviceDir('guess'), discovery: false }));
    const stopped = await failureOf(guessed.offer.result);
    expect(stopped.code).toBe('lan_too_many_failures');
    expect(stopped.message).toContain('Start a new offer, with a fresh secret, when the other device is ready.');
  });
});
