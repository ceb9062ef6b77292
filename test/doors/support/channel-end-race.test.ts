import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sessionGrantId } from '../../../src/doors/support/session-model.js';
import type { TestApp } from '../../helpers/app.js';
import { connectedSession, startOrigin, startRelay } from './helpers.js';

describe('support channel: a message relayed while the session ends', () => {
  let relay: TestApp;
  beforeAll(async () => {
    relay = await startRelay();
  });
  afterAll(async () => {
    await relay?.close();
  });

  it('a supporter message logged just after the session ended (its log deleted) is not kept at rest until the session\'s expiry', async () => {
    const origin = await startOrigin(relay.url);
    try {
      const id = 'ends-meanwhile';
      const { sdk, supporter } = await connectedSession(origin, id);
      const ephemeral = origin.app.pairgate.stores.ephemeral;
      const logPrefix = `support:log|${sessionGrantId(id)}|`;
      // The session ends (DELETE, which removes the session, then its log) between the moment the
      // channel checked it and the moment it writes the message into the log.
      const set = ephemeral.set.bind(ephemeral);
      let logged: Promise<void> | undefined;
      ephemeral.set = (key, value, ttlMs, now) => {
        if (!key.startsWith(logPrefix) || logged) return set(key, value, ttlMs, now);
        logged = sdk.deleteSession(id).then(() => set(key, value, ttlMs, now));
        return logged;
      };
      supporter.say('my password is hunter2');
      for (let i = 0; i < 100 && !logged; i++) await new Promise((resolve) => setTimeout(resolve, 20));
      expect(logged).toBeDefined();
      await logged;
      ephemeral.set = set;
      // The channel looks the session up again once the message is logged, and deletes the log.
      let left = await ephemeral.list(logPrefix, Date.now());
      for (let i = 0; i < 100 && left.length > 0; i++) {
        await new Promise((resolve) => setTimeout(resolve, 20));
        left = await ephemeral.list(logPrefix, Date.now());
      }
      expect(left).toEqual([]);
    } finally {
      await origin.close();
    }
  }, 30_000);
});
