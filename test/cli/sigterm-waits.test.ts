import type { Duplex } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ensureBuilt } from '../helpers/node-process.js';
import { cliChildren } from './cli-child.js';
import { useProxiedSupportOrigin } from './proxied-support-origin.js';

/**
 * SIGTERM (a script, `timeout`, systemd stopping the command) during a wait whose Ctrl-C cleans up
 * on the server does the same clean-up: killed by Node's default before, `join` left a confirmed
 * session open with nobody connected (`grant create`'s request approvable with nobody waiting:
 * signal-at-ready-line.test.ts). The line names SIGTERM, and the command ends by it (exit status 143 in a shell), as
 * Ctrl-C's ends by SIGINT (130); in the chat, as Ctrl-C, it ends the session (exit 0). Signals
 * are sent from inside the write of a line where that is the worst case (fixtures/signal-at-line.cjs).
 */

beforeAll(() => ensureBuilt(), 120_000);

const AVATAR = 'https://avatars.example/thorsten.png';
const run = cliChildren();

describe('pairgate join: SIGTERM', () => {
  let holdFirstUpgrade = false;
  const heldUpgrades: Duplex[] = [];
  const servers = useProxiedSupportOrigin({
    // A WebSocket upgrade held is one the origin never sees: the join waits for its connection.
    upgrade(_incoming, socket) {
      if (!holdFirstUpgrade || heldUpgrades.length > 0) return false;
      heldUpgrades.push(socket);
      return true;
    },
  });
  afterAll(() => {
    for (const socket of heldUpgrades) socket.destroy();
  });

  it('at the question decides nothing, says so naming SIGTERM, and ends by SIGTERM', async () => {
    const { PairingCode } = await servers.sdk.createSession({ id: 'join-sigterm-question', supporterName: 'Thorsten', supporterAvatar: AVATAR });
    const agent = run(['join', PairingCode!, '--relay', servers.relay.url]);
    // The question is on standard error, where the line of the stop follows it.
    await agent.waitFor(/Do you really want to grant access to Thorsten/, agent.err);
    agent.child.kill('SIGTERM');
    expect(await agent.exited).toEqual({ code: null, signal: 'SIGTERM' });
    expect(agent.err()).toBe('Do you really want to grant access to Thorsten of The great PC support? [y/n] \npairgate: stopped (SIGTERM): nothing was confirmed or declined, so the code still works until it expires (a few minutes after your supporter gave it): run pairgate join again to answer.\n');
    expect((await servers.sdk.getSession('join-sigterm-question')).State).toBe('waiting');
  }, 30_000);

  it('while the chat connects ends the confirmed session and ends by SIGTERM', async () => {
    holdFirstUpgrade = true;
    heldUpgrades.length = 0;
    try {
      const { PairingCode } = await servers.sdk.createSession({ id: 'join-sigterm-connect', supporterName: 'Thorsten', supporterAvatar: AVATAR });
      const agent = run(['join', PairingCode!, '--yes', '--relay', servers.relay.url]);
      await expect.poll(() => heldUpgrades.length, { timeout: 15_000 }).toBe(1);
      expect((await servers.sdk.getSession('join-sigterm-connect')).State).toBe('confirmed');
      agent.child.kill('SIGTERM');
      expect(await agent.exited).toEqual({ code: null, signal: 'SIGTERM' });
      expect(agent.err()).toBe('\npairgate: stopped (SIGTERM) before the chat began: the session with Thorsten of The great PC support was ended.\n');
      // Ended, not left confirmed with nobody connected until it expires.
      await expect(servers.sdk.getSession('join-sigterm-connect')).rejects.toMatchObject({ status: 404 });
    } finally {
      holdFirstUpgrade = false;
    }
  }, 30_000);

  it('in the chat, as "live" appears, ends the session (exit 0, as Ctrl-C)', async () => {
    const { PairingCode } = await servers.sdk.createSession({ id: 'join-sigterm-chat', supporterName: 'Thorsten', supporterAvatar: AVATAR });
    const agent = run(['join', PairingCode!, '--yes', '--relay', servers.relay.url], { signalAt: { pattern: /^Connected: /, signal: 'SIGTERM' } });
    expect(await agent.exited, agent.err()).toEqual({ code: 0, signal: null });
    expect(agent.out()).toMatch(/\nYou ended the session\.\n$/);
    await expect(servers.sdk.getSession('join-sigterm-chat')).rejects.toMatchObject({ status: 404 });
  }, 30_000);
});
