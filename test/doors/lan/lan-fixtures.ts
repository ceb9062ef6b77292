import { randomBytes } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join as joinPath } from 'node:path';
import type { TLSSocket } from 'node:tls';
import { decodeConnectionString } from '../../../src/doors/lan/connection-string.js';
import { loadDeviceIdentity, type DeviceIdentity } from '../../../src/doors/lan/device-identity.js';
import { FramedChannel, heldFrameBytes, MAX_DATA_FRAME } from '../../../src/doors/lan/frames.js';
import { startOffer, type Offer, type OfferOptions } from '../../../src/doors/lan/offer.js';
import { dialPinned } from '../../../src/doors/lan/pinned-dial.js';
import { channelBinding, newNonce, secretProof } from '../../../src/doors/lan/secret-proof.js';
import { TrustedPeerStore } from '../../../src/doors/lan/trusted-peers.js';

/** A fresh config dir for one simulated device. */
export function deviceDir(label: string): string {
  return mkdtempSync(joinPath(tmpdir(), `pairgate-lan-${label}-`));
}

/**
 * Two devices that paired before, as `lan connect` finds them: "desk" (which listens) and "phone"
 * (which dials, knowing desk at 127.0.0.1), each holding the other as a trusted peer.
 */
export async function trustedPair(): Promise<{ listenDir: string; dialDir: string; listening: DeviceIdentity; dialling: DeviceIdentity }> {
  const listenDir = deviceDir('listen');
  const dialDir = deviceDir('dial');
  const listening = await loadDeviceIdentity(listenDir, 'desk');
  const dialling = await loadDeviceIdentity(dialDir, 'phone');
  await new TrustedPeerStore(listenDir).save({ deviceId: dialling.deviceId, name: 'phone', keySha256: dialling.spkiSha256.toString('base64url'), addresses: [] });
  await new TrustedPeerStore(dialDir).save({ deviceId: listening.deviceId, name: 'desk', keySha256: listening.spkiSha256.toString('base64url'), addresses: ['127.0.0.1'] });
  return { listenDir, dialDir, listening, dialling };
}

/** An offer on loopback with discovery off, collecting its log lines. */
export async function loopbackOffer(overrides: Partial<OfferOptions> = {}): Promise<{ offer: Offer; logs: string[]; dir: string; secret: Buffer }> {
  const logs: string[] = [];
  const dir = overrides.configDir ?? deviceDir('offer');
  const offer = await startOffer({
    configDir: dir,
    deviceName: 'laptop',
    addresses: ['127.0.0.1'],
    host: '127.0.0.1',
    discovery: false,
    timeoutMs: 20_000,
    outDir: dir,
    log: (line) => logs.push(line),
    ...overrides,
  });
  return { offer, logs, dir, secret: decodeConnectionString(offer.connectionString).secret };
}

/**
 * A joiner driven by hand: dials `offer` pinned, proves its secret as `join` does, and returns the
 * authenticated channel, for tests that then send what a real joiner would not.
 */
export async function provenJoiner(offer: Offer): Promise<{ channel: FramedChannel; socket: TLSSocket; binding: Buffer }> {
  const info = decodeConnectionString(offer.connectionString);
  const socket = await dialPinned('127.0.0.1', info.port, info.keySha256, 2000);
  const channel = new FramedChannel(socket);
  const joinNonce = newNonce();
  channel.send({ t: 'hello', v: 1, nonce: joinNonce.toString('base64url') });
  const challenge = await channel.expect('challenge', 2000);
  const offerNonce = Buffer.from(String(challenge.nonce), 'base64url');
  const binding = channelBinding(socket);
  // As `join` does: the offer holds the key the string pins and answered the challenge, so its
  // words are shown from now on (`remoteError`). This fixture does not check its proof.
  channel.authenticate();
  channel.send({ t: 'proof', proof: secretProof(info.secret, 'join', offerNonce, joinNonce, binding).toString('base64url') });
  await channel.expect('welcome', 2000);
  return { channel, socket, binding };
}

/** One control frame as the wire carries it (type 1, a 4-byte big-endian length, the JSON): for tests that speak to an endpoint by hand. */
export function controlFrame(message: unknown): Buffer {
  const body = Buffer.from(JSON.stringify(message), 'utf8');
  const head = Buffer.alloc(5);
  head[0] = 1;
  head.writeUInt32BE(body.length, 1);
  return Buffer.concat([head, body]);
}

/**
 * Two framed ends of a real loopback TCP connection; both sockets are put in `sockets`, for the
 * test file's afterEach to destroy.
 */
export async function framedPair(sockets: net.Socket[]): Promise<[FramedChannel, FramedChannel]> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  const accepted = new Promise<net.Socket>((resolve) => server.once('connection', resolve));
  const client = net.connect((server.address() as net.AddressInfo).port, '127.0.0.1');
  const other = await accepted;
  server.close();
  sockets.push(client, other);
  return [new FramedChannel(client), new FramedChannel(other)];
}

/** A full data frame (the largest the protocol takes) as the wire carries it. */
export const FULL_DATA_FRAME = (() => {
  const head = Buffer.alloc(5);
  head[0] = 2;
  head.writeUInt32BE(MAX_DATA_FRAME, 1);
  return Buffer.concat([head, randomBytes(MAX_DATA_FRAME)]);
})();

/**
 * Writes `frames` full data frames on `socket` at once, as a device that pays no heed to the other
 * side being done does, and waits until they are out or the connection ended, watching meanwhile
 * how many of the other devices' bytes this process holds unread (`heldFrameBytes`: the listener
 * runs here). The most it held, the bytes that left, and when the connection closed (ms after the
 * flood began; Infinity if it had not 5 s after).
 */
export async function flood(socket: net.Socket, frames: number): Promise<{ maxHeld: number; sent: number; closedAfterMs: Promise<number> }> {
  let maxHeld = 0;
  const started = performance.now();
  const watch = setInterval(() => { maxHeld = Math.max(maxHeld, heldFrameBytes()); }, 2);
  // Settles either way: Infinity for a connection still open 5 s on (the caller's bound fails then).
  const closedAfterMs = new Promise<number>((resolve) => {
    const giveUp = setTimeout(() => resolve(Infinity), 5000).unref();
    socket.once('close', () => {
      clearTimeout(giveUp);
      resolve(performance.now() - started);
    });
  });
  try {
    for (let i = 0; i < frames; i++) socket.write(FULL_DATA_FRAME);
    await new Promise<void>((resolve) => {
      socket.once('finish', () => resolve());
      socket.once('close', () => resolve());
    });
    // What left last is read a moment later.
    await new Promise((resolve) => setTimeout(resolve, 100));
  } finally {
    clearInterval(watch);
  }
  return { maxHeld: Math.max(maxHeld, heldFrameBytes()), sent: frames * FULL_DATA_FRAME.length - socket.writableLength, closedAfterMs };
}
