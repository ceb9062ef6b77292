import type { ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ensureBuilt } from '../helpers/node-process.js';
import { cliChildren } from './cli-child.js';
import { useProxiedSupportOrigin } from './proxied-support-origin.js';

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
  const holding: Holding = { upgrades: 'none', confirmations: false };
  const heldUpgrades: Duplex[] = [];
  const heldConfirmations: ServerResponse[] = [];
  const servers = useProxiedSupportOrigin({
    request(incoming, answer) {
      if (!(holding.confirmations && incoming.method === 'POST' && incoming.url?.endsWith('/confirm'))) return false;
      heldConfirmations.push(answer);
      return true;
    },
    // A WebSocket upgrade held is one the origin never sees: the join waits for its connection.
    upgrade(_incoming, socket) {
      if (!(holding.upgrades === 'all' || (holding.upgrades === 'first' && heldUpgrades.length === 0))) return false;
      heldUpgrades.push(socket);
      return true;
    },
  });

  afterAll(() => {
    for (const socket of heldUpgrades) socket.destroy();
    for (const answer of heldConfirmations) answer.destroy();
  });

  it('Ctrl-C while the chat connects ends the confirmed session: one line, death by SIGINT, the session gone from the server', async () => {
    holding.upgrades = 'first';
    heldUpgrades.length = 0;
    try {
      const { PairingCode } = await servers.sdk.createSession({ id: 'join-connect-ctrl-c', supporterName: 'Thorsten', supporterAvatar: AVATAR });
      const agent = run(['join', PairingCode!, '--yes', '--relay', servers.relay.url]);
      // Confirmed, and its connection held: the window where it used to die in silence.
      await expect.poll(() => heldUpgrades.length, { timeout: 15_000 }).toBe(1);
      expect((await servers.sdk.getSession('join-connect-ctrl-c')).State).toBe('confirmed');
      agent.child.kill('SIGINT');
      expect(await agent.exited).toEqual({ code: null, signal: 'SIGINT' });
      expect(agent.err()).toBe('\npairgate: stopped (Ctrl-C) before the chat began: the session with Thorsten of The great PC support was ended.\n');
      expect(agent.out()).not.toMatch(/Connected/);
      // Ended as /quit ends it: gone, not left confirmed with nobody connected.
      await expect(servers.sdk.getSession('join-connect-ctrl-c')).rejects.toMatchObject({ status: 404 });
    } finally {
      holding.upgrades = 'none';
    }
  }, 30_000);

  it('a session that cannot be ended in time is given up after a few seconds, saying it stays open and until when', async () => {
    holding.upgrades = 'all';
    heldUpgrades.length = 0;
    try {
      const { PairingCode } = await servers.sdk.createSession({ id: 'join-connect-stuck', supporterName: 'Thorsten', supporterAvatar: AVATAR });
      const agent = run(['join', PairingCode!, '--yes', '--relay', servers.relay.url]);
      await expect.poll(() => heldUpgrades.length, { timeout: 15_000 }).toBe(1);
      const pressed = Date.now();
      agent.child.kill('SIGINT');
      expect(await agent.exited).toEqual({ code: null, signal: 'SIGINT' });
      expect(Date.now() - pressed).toBeLessThan(5_000);
      // The clean-up's own connection was tried (and held) too.
      expect(heldUpgrades.length).toBe(2);
      expect(agent.err()).toMatch(/^\npairgate: stopped \(Ctrl-C\) before the chat began; the session with Thorsten of The great PC support could not be ended \(aborted\): it stays open, with nobody connected, until your supporter ends it or it expires \S.*\.\n$/);
      expect((await servers.sdk.getSession('join-connect-stuck')).State).toBe('confirmed');
    } finally {
      holding.upgrades = 'none';
    }
  }, 30_000);

  it('Ctrl-C while the confirmation is under way aborts it and says what may be the case', async () => {
    holding.confirmations = true;
    try {
      const { PairingCode } = await servers.sdk.createSession({ id: 'join-confirm-ctrl-c', supporterName: 'Thorsten', supporterAvatar: AVATAR });
      const agent = run(['join', PairingCode!, '--yes', '--relay', servers.relay.url]);
      await expect.poll(() => heldConfirmations.length, { timeout: 15_000 }).toBe(1);
      agent.child.kill('SIGINT');
      expect(await agent.exited).toEqual({ code: null, signal: 'SIGINT' });
      expect(agent.err()).toBe('\npairgate: stopped (Ctrl-C) before the server answered your confirmation: if it had confirmed it, the session with Thorsten of The great PC support stays open, with nobody connected, until your supporter ends it or it expires; if not, the code still works until it expires.\n');
      // Held before the origin: nothing was confirmed, and the code still works.
      expect((await servers.sdk.getSession('join-confirm-ctrl-c')).State).toBe('waiting');
    } finally {
      holding.confirmations = false;
    }
  }, 30_000);
});
