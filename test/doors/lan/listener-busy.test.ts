import tls from 'node:tls';
import { afterEach, describe, expect, it } from 'vitest';
import { connectToTrustedPeer, listenForTrustedPeer, type TrustedListener } from '../../../src/doors/lan/connect.js';
import { trustedPair } from './lan-fixtures.js';

/**
 * `lan connect --listen` serves one session. A second trusted peer dialling in while the first
 * one's session runs is refused; it is told when trying again helps, not only "busy".
 */
const listeners: TrustedListener[] = [];
const sockets: tls.TLSSocket[] = [];
afterEach(async () => {
  for (const socket of sockets.splice(0)) socket.destroy();
  await Promise.all(listeners.splice(0).map((listener) => listener.close()));
});

describe('lan connect --listen busy with another trusted peer', () => {
  it('refuses the second with lan_listener_closed and words saying when to try again', async () => {
    const { listenDir, dialDir, dialling } = await trustedPair();
    const listener = await listenForTrustedPeer({ configDir: listenDir, host: '127.0.0.1', port: 0, outDir: listenDir, timeoutMs: 30_000 });
    listeners.push(listener);
    listener.result.catch(() => undefined);

    // A trusted peer's key connects and says nothing yet: its session holds the listener.
    const first = tls.connect({ host: '127.0.0.1', port: listener.port, rejectUnauthorized: false, key: dialling.keyPem, cert: dialling.certPem });
    sockets.push(first);
    first.on('error', () => undefined);
    await new Promise<void>((resolve) => first.once('secureConnect', () => resolve()));

    const failure = await connectToTrustedPeer('desk', { configDir: dialDir, port: listener.port, outDir: dialDir }).catch((error: unknown) => error);
    expect(failure).toMatchObject({ code: 'lan_listener_closed', status: 409 });
    const message = (failure as Error).message;
    expect(message).toContain('in a session with another trusted peer');
    expect(message).toContain('try again in a few seconds');
    expect(message).toContain('pairgate lan connect --listen');
  }, 30_000);
});
