import { createServer, request, type IncomingMessage, type ServerResponse } from 'node:http';
import { connect, type Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SupportOriginClient } from '../../src/sdk/support.js';
import type { TestApp } from '../helpers/app.js';
import { ensureBuilt } from '../helpers/node-process.js';
import { cliChildren } from './cli-child.js';
import { ADMIN, startOrigin, startRelay } from '../doors/support/helpers.js';
import { listening } from '../sdk/consumer-sdk-helpers.js';

/**
 * `pairgate join` after the person's "yes", before the chat: Ctrl-C aborts the confirmation or the
 * connection under way, ends a session already confirmed (as Ctrl-C in the chat does), says so in
 * one line and ends by SIGINT. Killed there before, it left a confirmed session nobody was
 * connected to until it expired. The origin's public URL is a proxy that can hold the calls.
 */

beforeAll(() => ensureBuilt(), 120_000);

const AVATAR = 'https://avatars.example/thorsten.png';
/** The built CLI with its output collected. */
const run = cliChildren();

/** What the proxy holds for good instead of passing on to the origin. */
interface Holding {
  /** The session channel's upgrades: none, the first one only, or all. */
  upgrades: 'none' | 'first' | 'all';
  /** The confirmations (POST .../confirm), before they reach the origin. */
  confirmations: boolean;
}

describe('pairgate join: Ctrl-C between "yes" and the chat', () => {
  let relay: TestApp;
  let origin: TestApp;
  let sdk: SupportOriginClient;
  let originPort = 0;
  const holding: Holding = { upgrades: 'none', confirmations: false };
  const heldUpgrades: Duplex[] = [];
  const heldConfirmations: ServerResponse[] = [];
  const passedUpgrades: Socket[] = [];

  beforeAll(async () => {
    const forward = (incoming: IncomingMessage, answer: ServerResponse): void => {
      if (holding.confirmations && incoming.method === 'POST' && incoming.url?.endsWith('/confirm')) {
        heldConfirmations.push(answer);
        return;
      }
      const upstream = request({ host: '127.0.0.1', port: originPort, path: incoming.url, method: incoming.method, headers: incoming.headers }, (reply) => {
        answer.writeHead(reply.statusCode ?? 502, reply.headers);
        reply.pipe(answer);
      });
      upstream.on('error', () => answer.destroy());
      incoming.pipe(upstream);
    };
    const proxy = await listening(createServer(forward));
    // A WebSocket upgrade held is one the origin never sees: the join waits for its connection.
    proxy.server.on('upgrade', (incoming: IncomingMessage, socket: Duplex, head: Buffer) => {
      socket.on('error', () => undefined);
      if (holding.upgrades === 'all' || (holding.upgrades === 'first' && heldUpgrades.length === 0)) {
        heldUpgrades.push(socket);
        return;
      }
      const upstream = connect(originPort, '127.0.0.1', () => {
        const headers = [];
        for (let i = 0; i < incoming.rawHeaders.length; i += 2) headers.push(`${incoming.rawHeaders[i]}: ${incoming.rawHeaders[i + 1]}`);
        upstream.write(`${incoming.method} ${incoming.url} HTTP/1.1\r\n${headers.join('\r\n')}\r\n\r\n`);
        upstream.write(head);
        upstream.pipe(socket);
        socket.pipe(upstream);
      });
      passedUpgrades.push(upstream);
      upstream.on('error', () => socket.destroy());
      socket.on('close', () => upstream.destroy());
    });
    relay = await startRelay();
    origin = await startOrigin(relay.url, { PAIRGATE_PUBLIC_URL: proxy.url });
    originPort = Number(new URL(origin.url).port);
    sdk = new SupportOriginClient({ baseUrl: origin.url, ...ADMIN });
  }, 60_000);

  afterAll(async () => {
    for (const socket of [...heldUpgrades, ...passedUpgrades]) socket.destroy();
    for (const answer of heldConfirmations) answer.destroy();
    await origin?.close();
    await relay?.close();
  });

  it('Ctrl-C while the chat connects ends the confirmed session: one line, death by SIGINT, the session gone from the server', async () => {
    holding.upgrades = 'first';
    heldUpgrades.length = 0;
    try {
      const { PairingCode } = await sdk.createSession({ id: 'join-connect-ctrl-c', supporterName: 'Thorsten', supporterAvatar: AVATAR });
      const agent = run(['join', PairingCode!, '--yes', '--relay', relay.url]);
      // Confirmed, and its connection held: the window where it used to die in silence.
      await expect.poll(() => heldUpgrades.length, { timeout: 15_000 }).toBe(1);
      expect((await sdk.getSession('join-connect-ctrl-c')).State).toBe('confirmed');
      agent.child.kill('SIGINT');
      expect(await agent.exited).toEqual({ code: null, signal: 'SIGINT' });
      expect(agent.err()).toBe('\npairgate: stopped (Ctrl-C) before the chat began: the session with Thorsten of The great PC support was ended.\n');
      expect(agent.out()).not.toMatch(/Connected/);
      // Ended as /quit ends it: gone, not left confirmed with nobody connected.
      await expect(sdk.getSession('join-connect-ctrl-c')).rejects.toMatchObject({ status: 404 });
    } finally {
      holding.upgrades = 'none';
    }
  }, 30_000);

  it('a session that cannot be ended in time is given up after a few seconds, saying it stays open and until when', async () => {
    holding.upgrades = 'all';
    heldUpgrades.length = 0;
    try {
      const { PairingCode } = await sdk.createSession({ id: 'join-connect-stuck', supporterName: 'Thorsten', supporterAvatar: AVATAR });
      const agent = run(['join', PairingCode!, '--yes', '--relay', relay.url]);
      await expect.poll(() => heldUpgrades.length, { timeout: 15_000 }).toBe(1);
      const pressed = Date.now();
      agent.child.kill('SIGINT');
      expect(await agent.exited).toEqual({ code: null, signal: 'SIGINT' });
      expect(Date.now() - pressed).toBeLessThan(5_000);
      // The clean-up's own connection was tried (and held) too.
      expect(heldUpgrades.length).toBe(2);
      expect(agent.err()).toMatch(/^\npairgate: stopped \(Ctrl-C\) before the chat began; the session with Thorsten of The great PC support could not be ended \(aborted\): it stays open, with nobody connected, until your supporter ends it or it expires \S.*\.\n$/);
      expect((await sdk.getSession('join-connect-stuck')).State).toBe('confirmed');
    } finally {
      holding.upgrades = 'none';
    }
  }, 30_000);

  it('Ctrl-C while the confirmation is under way aborts it and says what may be the case', async () => {
    holding.confirmations = true;
    try {
      const { PairingCode } = await sdk.createSession({ id: 'join-confirm-ctrl-c', supporterName: 'Thorsten', supporterAvatar: AVATAR });
      const agent = run(['join', PairingCode!, '--yes', '--relay', relay.url]);
      await expect.poll(() => heldConfirmations.length, { timeout: 15_000 }).toBe(1);
      agent.child.kill('SIGINT');
      expect(await agent.exited).toEqual({ code: null, signal: 'SIGINT' });
      expect(agent.err()).toBe('\npairgate: stopped (Ctrl-C) before the server answered your confirmation: if it had confirmed it, the session with Thorsten of The great PC support stays open, with nobody connected, until your supporter ends it or it expires; if not, the code still works until it expires.\n');
      // Held before the origin: nothing was confirmed, and the code still works.
      expect((await sdk.getSession('join-confirm-ctrl-c')).State).toBe('waiting');
    } finally {
      holding.confirmations = false;
    }
  }, 30_000);
});
