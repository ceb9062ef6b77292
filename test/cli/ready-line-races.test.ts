import { connect, createServer, type Socket } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TestApp } from '../helpers/app.js';
import { ensureBuilt } from '../helpers/cli.js';
import { SupportOriginClient } from '../../src/sdk/support.js';
import { ADMIN, startOrigin, startRelay, useSupportServers } from '../doors/support/helpers.js';
import { cliChildren } from './cli-child.js';

/**
 * Lines printed from what came with a connection ("Waiting for the person", the chat so far),
 * acted on the very moment they appear: Ctrl-C's own handling is already in place. The child
 * signals itself from inside the write of the line (fixtures/signal-at-line.cjs), the worst case of
 * scheduling, and a proxy hands the server's first messages over with the upgrade, in one write;
 * `signal-at-ready-line.test.ts` holds the cases of lines printed by the command itself.
 */

beforeAll(ensureBuilt, 120_000);

const run = cliChildren();

/** A TCP proxy in front of a server, for {@link coalescingProxy}. */
interface Proxy {
  url: string;
  close(): Promise<void>;
}

/** Where a {@link coalescingProxy} joins the server's bytes into one write. */
interface Coalescing {
  /** Text that starts the hold: the chunk holding it is held, and what follows. */
  from: string;
  /** Text that ends it: once the held bytes hold it, they go to the client in one write. */
  until: string;
}

/**
 * A proxy to the server at `target()` (asked at each connection) that hands what the server
 * writes apart, from `from` to `until`, to the client in one write: the client reads them in one
 * packet, as a busy machine may (the first message with the upgrade's answer, the history with
 * the welcome). Every other byte passes as it comes.
 */
async function coalescingProxy(target: () => URL, { from, until }: Coalescing): Promise<Proxy> {
  const sockets = new Set<Socket>();
  const server = createServer((client) => {
    const upstream = connect(Number(target().port), target().hostname);
    for (const socket of [client, upstream]) {
      sockets.add(socket);
      socket.on('close', () => sockets.delete(socket));
      socket.on('error', () => undefined);
    }
    client.on('close', () => upstream.destroy());
    upstream.on('close', () => client.destroy());
    client.pipe(upstream);
    let held: Buffer | undefined;
    let done = false;
    upstream.on('data', (chunk: Buffer) => {
      if (done || (!held && !chunk.includes(from))) {
        client.write(chunk);
        return;
      }
      held = held ? Buffer.concat([held, chunk]) : chunk;
      if (!held.includes(until)) return;
      client.write(held);
      done = true;
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  return {
    url: `http://127.0.0.1:${port}`,
    close: () => {
      for (const socket of sockets) socket.destroy();
      return new Promise((resolve) => server.close(() => resolve()));
    },
  };
}

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
