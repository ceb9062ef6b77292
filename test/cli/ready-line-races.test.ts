import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TestApp } from '../helpers/app.js';
import { ensureBuilt } from '../helpers/cli.js';
import { SupportOriginClient } from '../../src/sdk/support.js';
import { ADMIN, startOrigin, startRelay, useSupportServers } from '../doors/support/helpers.js';
import { cliChildren } from './cli-child.js';
import { coalescingProxy, type Proxy } from './coalescing-proxy.js';

/**
 * Lines printed from what came with a connection ("Waiting for the person", the chat so far),
 * acted on the very moment they appear: Ctrl-C's own handling is already in place. The child
 * signals itself from inside the write of the line (fixtures/signal-at-line.cjs), the worst case of
 * scheduling, and a proxy hands the server's first messages over with the upgrade, in one write;
 * `signal-at-ready-line.test.ts` holds the cases of lines printed by the command itself.
 */

beforeAll(ensureBuilt, 120_000);

const run = cliChildren();

describe('session attach', () => {
  const servers = useSupportServers();
  let proxy: Proxy;
  beforeAll(async () => {
    // The supporter's first event, the session's state, read in the packet of the upgrade.
    proxy = await coalescingProxy(() => new URL(servers.origin.url), { from: 'HTTP/1.1 101', until: '"type":"state"' });
  });
  afterAll(() => proxy.close());

  it('Ctrl-C as "Waiting for the person" appears, the state read with the upgrade, detaches (exit 0)', async () => {
    await servers.sdk.createSession({ id: 'ready-line-attach', supporterName: 'Thorsten', supporterAvatar: 'https://avatars.example/thorsten.png' });
    const supporter = run(['session', 'attach', 'ready-line-attach', '--server', proxy.url, '--user', ADMIN.user, '--password', ADMIN.password], { signalAt: { pattern: /^Waiting for the person/ } });
    expect(await supporter.exited, supporter.err()).toEqual({ code: 0, signal: null });
    expect(supporter.out()).toMatch(/\nDetached; the session goes on, and its pairing code still works until it expires: attach again with: pairgate session attach ready-line-attach; end it with: pairgate session delete ready-line-attach\.\n$/);
    // Detached, not ended: the session still waits for the person.
    expect((await servers.sdk.getSession('ready-line-attach')).State).toBe('waiting');
  }, 30_000);
});

describe('join (the chat)', () => {
  let relay: TestApp;
  let origin: TestApp;
  let proxy: Proxy;
  let sdk: SupportOriginClient;
  beforeAll(async () => {
    // The person's pairing URL, and so their session channel, is the proxy's: the history read
    // in the packet of the welcome.
    proxy = await coalescingProxy(() => new URL(origin.url), { from: '"type":"welcome"', until: '"type":"history"' });
    relay = await startRelay();
    origin = await startOrigin(relay.url, { PAIRGATE_PUBLIC_URL: proxy.url });
    sdk = new SupportOriginClient({ baseUrl: origin.url, ...ADMIN });
  }, 60_000);
  afterAll(async () => {
    await proxy?.close();
    await origin?.close();
    await relay?.close();
  });

  /** Whether the chat of session `id` holds a message (a supporter attaching with the history reads it). */
  async function chatHoldsMessage(id: string): Promise<boolean> {
    const reader = await sdk.attach(id, { history: true });
    try {
      const history = await reader.next((event) => event.type === 'history');
      return Array.isArray(history.messages) && history.messages.length > 0;
    } finally {
      reader.close();
    }
  }

  it('Ctrl-C as the chat so far appears, read with the welcome, ends the session (exit 0)', async () => {
    const { PairingCode } = await sdk.createSession({ id: 'ready-line-join', supporterName: 'Thorsten', supporterAvatar: 'https://avatars.example/thorsten.png' });
    const supporter = await sdk.attach('ready-line-join');
    supporter.say('Hello, I am here.');
    await expect.poll(() => chatHoldsMessage('ready-line-join'), { timeout: 15_000 }).toBe(true);
    const person = run(['join', PairingCode!, '--yes', '--relay', relay.url], { signalAt: { pattern: /^Said before you joined:/ } });
    expect(await person.exited, person.err()).toEqual({ code: 0, signal: null });
    expect(person.out()).toMatch(/\nYou ended the session\.\n$/);
    // Ended, not left confirmed with nobody connected until it expires.
    await expect(sdk.getSession('ready-line-join')).rejects.toMatchObject({ status: 404 });
    supporter.close();
  }, 30_000);
});
