import tls from 'node:tls';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterEach, describe, expect, it } from 'vitest';
import { listenForTrustedPeer, type TrustedListener } from '../../../src/doors/lan/connect.js';
import { FramedChannel } from '../../../src/doors/lan/frames.js';
import { exchange } from '../../../src/doors/lan/session.js';
import { trustedPair } from './lan-fixtures.js';

/**
 * `lan connect --listen --timeout` bounds the wait for a trusted peer, not a session that has
 * started: one under way when the time runs out is let finish, and its outcome is the listener's.
 * The listener used to stop at its timeout in the middle of such a session, saying that no trusted
 * peer had connected, while the session went on without it.
 */
const listeners: TrustedListener[] = [];
const sockets: tls.TLSSocket[] = [];
afterEach(async () => {
  for (const socket of sockets.splice(0)) socket.destroy();
  await Promise.all(listeners.splice(0).map((listener) => listener.close()));
});

/** A trusted peer ("phone") connected by hand to `port`, its session held back until it is told to go on. */
async function slowPeer(port: number, dialling: Awaited<ReturnType<typeof trustedPair>>['dialling']): Promise<FramedChannel> {
  const socket = tls.connect({ host: '127.0.0.1', port, rejectUnauthorized: false, key: dialling.keyPem, cert: dialling.certPem });
  sockets.push(socket);
  socket.on('error', () => undefined);
  await new Promise<void>((resolve) => socket.once('secureConnect', () => resolve()));
  const channel = new FramedChannel(socket);
  channel.authenticate();
  return channel;
}

describe('lan connect --listen: a session under way at the timeout', () => {
  it('is let finish, and the listener reports it connected', async () => {
    const { listenDir, dialDir, dialling } = await trustedPair();
    const listener = await listenForTrustedPeer({ configDir: listenDir, host: '127.0.0.1', port: 0, outDir: listenDir, timeoutMs: 1000 });
    listeners.push(listener);
    listener.result.catch(() => undefined);

    const channel = await slowPeer(listener.port, dialling);
    // The listener's timeout passes while this trusted peer's session is under way.
    await sleep(1600);
    await exchange(channel, dialling, [], { outDir: dialDir, maxPayloadBytes: 1024, timeoutMs: 5000, confirmTrust: true });
    channel.send({ t: 'saved' });
    expect((await channel.expect('saved', 5000)).t).toBe('saved');

    const result = await listener.result;
    expect(result.trusted.name).toBe('phone');
  }, 20_000);

  it('a session that fails after the timeout ends the listener with lan_listen_timeout, naming that failure', async () => {
    const { listenDir, dialling } = await trustedPair();
    const listener = await listenForTrustedPeer({ configDir: listenDir, host: '127.0.0.1', port: 0, outDir: listenDir, timeoutMs: 1000 });
    listeners.push(listener);
    listener.result.catch(() => undefined);

    const channel = await slowPeer(listener.port, dialling);
    await sleep(1600);
    // Not the identity the listener waits for: the session fails, and the wait is over.
    channel.send({ t: 'surprise' });

    const failure = await listener.result.catch((error: unknown) => error);
    expect(failure).toMatchObject({ code: 'lan_listen_timeout' });
    expect((failure as Error).message).toContain('The last one failed, with "phone" at 127.0.0.1');
  }, 20_000);

  it('without a session, still stops at the timeout', async () => {
    const { listenDir } = await trustedPair();
    const listener = await listenForTrustedPeer({ configDir: listenDir, host: '127.0.0.1', port: 0, outDir: listenDir, timeoutMs: 500 });
    listeners.push(listener);
    const failure = await listener.result.catch((error: unknown) => error);
    expect(failure).toMatchObject({ code: 'lan_listen_timeout' });
    expect((failure as Error).message).toContain('No trusted peer connected within');
  }, 20_000);
});
