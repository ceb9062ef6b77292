import tls from 'node:tls';
import { afterEach, describe, expect, it } from 'vitest';
import { connectToTrustedPeer, listenForTrustedPeer, type TrustedListener } from '../../../src/doors/lan/connect.js';
import { encodeConnectionString } from '../../../src/doors/lan/connection-string.js';
import { FramedChannel, remoteError } from '../../../src/doors/lan/frames.js';
import { join } from '../../../src/doors/lan/join.js';
import { NOT_LAN_PROTOCOL_STEP, PROTOCOL_REFUSED_STEP, ProtocolError, withNextStep } from '../../../src/doors/lan/lan-errors.js';
import type { Offer } from '../../../src/doors/lan/offer.js';
import { peerSentence } from '../../../src/doors/lan/peer-failure.js';
import { terminalText } from '../../../src/doors/lan/terminal-text.js';
import { createTlsIdentity } from '../../../src/doors/lan/tls-identity.js';
import { controlFrame as frame, deviceDir, loopbackOffer, trustedPair } from './lan-fixtures.js';

/**
 * Anyone on the network reaches an offer's port, `lan connect --listen`'s, and the device a joiner
 * dials, and can send a frame before any secret or key is proven. One error frame whose message
 * was an object with a `toString` that is not a function (`{"toString": 1}`) threw out of the
 * socket's data handler (`String()` of it) and ended the process. Now every such frame is
 * malformed: the connection is refused (and counted by an offer), and the process pairs on.
 */

/** Error frames no pairgate sends: words or code that are not text, or far too many words. */
const HOSTILE: Record<string, unknown>[] = [
  { t: 'error', code: 'x', message: { toString: 1 } },
  { t: 'error', code: 'lan_wrong_secret', message: { toString: 1 } },
  { t: 'error', code: 'lan_listener_closed', message: ['a', { toString: 1 }] },
  { t: 'error', code: { toString: 1 }, message: 'hello' },
  { t: 'error', code: 'x', message: { a: { b: { c: { toString: 1, valueOf: 1 } } } } },
  { t: 'error', code: 'x', message: null },
];
/** Well formed but hostile in size: refused as what it is (not the secret's proof), never a crash. */
const HUGE = { t: 'error', code: 'lan_peer_failed', message: `\u001b[2J${'x'.repeat(15_000)}` };


/** Connects to `port` over TLS with any certificate (or `identity`'s), sends `message`'s frame, resolves when the other side has closed. */
async function sendHostile(port: number, message: unknown, identity?: { keyPem: string; certPem: string }): Promise<void> {
  const socket = tls.connect({ host: '127.0.0.1', port, rejectUnauthorized: false, ...(identity ? { key: identity.keyPem, cert: identity.certPem } : {}) });
  socket.on('error', () => undefined);
  socket.on('data', () => undefined);
  await new Promise<void>((resolve) => socket.once('secureConnect', () => resolve()));
  socket.write(frame(message));
  await new Promise<void>((resolve) => {
    socket.once('close', () => resolve());
    // A listener that keeps it open (its refusal sent) is left after a moment.
    setTimeout(() => socket.destroy(), 2000).unref();
  });
}

const offers: Offer[] = [];
const listeners: TrustedListener[] = [];
const servers: tls.Server[] = [];
afterEach(async () => {
  await Promise.all(offers.splice(0).map((o) => o.close()));
  await Promise.all(listeners.splice(0).map((l) => l.close()));
  for (const server of servers.splice(0)) server.close();
});

describe('an error frame whose words are not text', () => {
  it('is none for a person: no conversion that the sender controls, never a throw', () => {
    for (const hostile of [{ toString: 1 }, { toString: () => { throw new Error('boom'); } }, ['a'], { a: 1 }, null, undefined, true, Symbol('s')]) {
      expect(terminalText(hostile, 100)).toBe('');
      expect(peerSentence(hostile)).toBe('it gave no reason');
      expect(() => remoteError({ t: 'error', code: 'lan_wrong_secret', message: hostile })).not.toThrow();
      expect(() => remoteError({ t: 'error', code: 'x', message: hostile })).not.toThrow();
    }
    // Numbers are text; strings stay as they were.
    expect(terminalText(42, 100)).toBe('42');
    expect(terminalText('disk \u001b[31mfull', 100)).toBe('disk full');
  });

  it('sent to an offer: refused and counted as a failed attempt each time, and the device holding the string still pairs', async () => {
    const made = await loopbackOffer({ maxFailures: 20 });
    offers.push(made.offer);
    for (const [index, message] of [...HOSTILE, HUGE].entries()) {
      await sendHostile(made.offer.port, message);
      await expect.poll(() => made.offer.failures()).toBe(index + 1);
    }
    expect(made.logs.filter((line) => line.startsWith('Refused')).length).toBe(HOSTILE.length + 1);
    expect(made.logs.join('\n')).toContain('A malformed control message arrived.');

    const joinDir = deviceDir('join');
    const joined = await join(made.offer.connectionString, { configDir: joinDir, deviceName: 'phone', outDir: joinDir, discovery: false });
    expect(joined.peer.name).toBe('laptop');
    expect((await made.offer.result).peer.name).toBe('phone');
  }, 60_000);

  it('sent to lan connect --listen (with any certificate, before its key is looked at): the listener survives, and a trusted peer still connects', async () => {
    const { listenDir, dialDir, dialling } = await trustedPair();
    const logs: string[] = [];
    const listener = await listenForTrustedPeer({ configDir: listenDir, host: '127.0.0.1', port: 0, outDir: listenDir, timeoutMs: 30_000, log: (line) => logs.push(line) });
    listeners.push(listener);

    const stranger = await createTlsIdentity('stranger', 3600);
    for (const message of [...HOSTILE, HUGE]) await sendHostile(listener.port, message, stranger);
    // Even a trusted peer's key sending them is refused, not a crash.
    for (const message of HOSTILE) await sendHostile(listener.port, message, dialling);

    const connected = await connectToTrustedPeer('desk', { configDir: dialDir, port: listener.port, outDir: dialDir });
    expect(connected.peer.name).toBe('desk');
    expect((await listener.result).peer.name).toBe('phone');
    expect(logs.some((line) => line.includes('A malformed control message arrived.'))).toBe(true);
  }, 60_000);

  it('sent by the device a joiner dials (holding the pinned key): the join fails with lan_protocol_error, no crash', async () => {
    const identity = await createTlsIdentity('impostor', 3600);
    for (const message of HOSTILE) {
      const server = tls.createServer({ key: identity.keyPem, cert: identity.certPem, minVersion: 'TLSv1.2' }, (socket) => {
        socket.on('error', () => undefined);
        socket.write(frame(message));
      });
      servers.push(server);
      await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
      const port = (server.address() as { port: number }).port;
      const string = encodeConnectionString({ addresses: ['127.0.0.1'], port, keySha256: identity.spkiSha256, secret: Buffer.alloc(32, 7), deviceId: Buffer.alloc(16, 1).toString('base64url'), name: 'offer' });
      const dir = deviceDir('join');
      const failure = await join(string, { configDir: dir, outDir: dir, discovery: false }).catch((error: unknown) => error);
      // The precise cause, as the offer would be told it; the person reads what to do after it.
      expect(failure).toMatchObject({ code: 'lan_protocol_error', message: 'A malformed control message arrived.', nextStep: NOT_LAN_PROTOCOL_STEP });
      expect(withNextStep(failure)).toMatchObject({ code: 'lan_protocol_error', status: 400, message: `A malformed control message arrived. ${NOT_LAN_PROTOCOL_STEP}` });
    }
  }, 60_000);
});

describe('a protocol error says what the person can do', () => {
  it('what this side cannot read: a foreign or incompatible endpoint, check the address and port, update both, pairgate doctor', () => {
    for (const step of ['not be a pairgate lan endpoint', 'check the address and port', 'incompatible version', 'update pairgate on both devices', '"pairgate doctor"']) expect(NOT_LAN_PROTOCOL_STEP).toContain(step);
    const told = withNextStep(new ProtocolError('Unknown frame type 72.')) as ProtocolError;
    expect(told.message).toBe(`Unknown frame type 72. ${NOT_LAN_PROTOCOL_STEP}`);
    // Said once, however often it is passed on.
    expect(withNextStep(told)).toBe(told);
    // A cause without a full stop gets one before the step.
    expect((withNextStep(new ProtocolError('control message too large')) as Error).message).toBe(`control message too large. ${NOT_LAN_PROTOCOL_STEP}`);
  });

  it('what the other device refused: it runs pairgate, so versions (not the address); the other device\'s words stay as they were', () => {
    const refused = remoteError({ t: 'error', code: 'lan_protocol_error', message: 'A malformed control message arrived.' });
    expect(refused).toMatchObject({ code: 'lan_protocol_error', message: 'The other device refused: A malformed control message arrived.', nextStep: PROTOCOL_REFUSED_STEP });
    expect((withNextStep(refused) as Error).message).toBe(`The other device refused: A malformed control message arrived. ${PROTOCOL_REFUSED_STEP}`);
    expect(PROTOCOL_REFUSED_STEP).toContain('update pairgate on both devices');
  });

  it('a message that says what to do itself, and any other error, are left as they are', () => {
    const explained = new ProtocolError('The device has another id than the connection string names: ... start the offer again.', null);
    expect(withNextStep(explained)).toBe(explained);
    const other = new Error('boom');
    expect(withNextStep(other)).toBe(other);
  });

  it('a connection closed before a single frame: maybe no pairgate there; closed after one: "was pairgate stopped there?" as before', async () => {
    const identity = await createTlsIdentity('closer', 3600);
    for (const greet of [false, true]) {
      const server = tls.createServer({ key: identity.keyPem, cert: identity.certPem }, (socket) => {
        socket.on('error', () => undefined);
        if (greet) socket.end(frame({ t: 'challenge' }));
        else socket.end();
      });
      servers.push(server);
      await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
      const socket = tls.connect({ host: '127.0.0.1', port: (server.address() as { port: number }).port, rejectUnauthorized: false });
      const channel = new FramedChannel(socket);
      if (greet) await channel.receive(2000);
      const lost = await channel.receive(2000).catch((error: unknown) => error);
      expect(lost).toMatchObject({ code: 'lan_connection_lost' });
      expect((lost as Error).message).toBe(greet
        ? 'The other device closed the connection before it finished (was pairgate stopped there?). Try again.'
        : 'The other end closed the connection without a word of pairgate\'s lan protocol: was pairgate stopped there, or is it not a pairgate lan endpoint (check the address and port) or an incompatible version (update pairgate on both devices)? Try again.');
    }
  });
});
