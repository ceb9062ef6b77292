import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sessionGrantId } from '../../../src/doors/support/session-model.js';
import { connectAgent, SupportOriginClient } from '../../../src/sdk/support.js';
import type { TestApp } from '../../helpers/app.js';
import { ADMIN, startOrigin } from './helpers.js';

/*
 * A session's end removes the session, then its chat log. The id is free from the removal on: a
 * session made again under it at once (how a supporter starts over) could log its first messages
 * before the end of the one before deleted "the log of the id", theirs with it.
 */
describe('support channel: a session made again under the id of one ending keeps its log', () => {
  let origin: TestApp;
  beforeAll(async () => {
    // No pairing: the agent link alone lets the agent in, so the new session is joined at once.
    origin = await startOrigin('');
  });
  afterAll(async () => {
    await origin?.close();
  });

  it('the first message of the new session, said while the end of the one before was under way, is in its history', async () => {
    const id = 'recreated-log';
    const grantId = sessionGrantId(id);
    const sdk = new SupportOriginClient({ baseUrl: origin.url, ...ADMIN });
    await sdk.createSession({ id, supporterName: 'T', supporterAvatar: 'https://img.example/a.png' });
    const first = await sdk.attach(id);
    await first.next((e) => e.type === 'state', 5000);

    // Right after the end removed the first session (before it deleted its log), the supporter
    // starts over under the same id and the person says something in the new session. (The end
    // holds the id while it removes the session, SessionIdLock: the new session is made once the
    // removal is done and the hold let go, when the end goes on to list the log it deletes.)
    const { engine, stores } = origin.app.pairgate;
    const remove = engine.remove.bind(engine);
    const list = stores.ephemeral.list.bind(stores.ephemeral);
    let removedFirst = false;
    let recreated: Promise<void> | undefined;
    engine.remove = async (grant: string) => {
      const removed = await remove(grant);
      if (grant === grantId) removedFirst = true;
      return removed;
    };
    stores.ephemeral.list = async (prefix: string, now: number) => {
      if (removedFirst && !recreated && prefix.startsWith(`support:log|${grantId}|`)) {
        recreated = (async () => {
          const created = await sdk.createSession({ id, supporterName: 'T', supporterAvatar: 'https://img.example/a.png' });
          const agent = await connectAgent(created.AgentConfig.MeshServer, undefined);
          agent.say('hello from the new session');
          await expect.poll(async () => JSON.stringify(await list(`support:log|${grantId}|`, Date.now())), { timeout: 5000 }).toContain('hello from the new session');
        })();
        await recreated;
      }
      return list(prefix, now);
    };
    try {
      first.end();
      await first.next((e) => e.type === 'ended', 10_000);
      for (let i = 0; i < 250 && !recreated; i++) await new Promise((resolve) => setTimeout(resolve, 20));
      expect(recreated).toBeDefined();
      await recreated;
    } finally {
      engine.remove = remove;
      stores.ephemeral.list = list;
    }
    // Let the end finish (it deletes the log after the removal).
    await new Promise((resolve) => setTimeout(resolve, 300));

    const again = await sdk.attach(id, { history: true });
    const history = await again.next((e) => e.type === 'history', 5000);
    // Before: [] (the end of the first session deleted the log of the id, the new session's message with it).
    expect(history.messages!.map((m) => m.text)).toEqual(['hello from the new session']);
    again.close();
  }, 30_000);
});
