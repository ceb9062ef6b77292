import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TestApp } from '../../helpers/app.js';
import { connectedSession, startOrigin, startRelay } from './helpers.js';

/**
 * A chat message whose JSON escapes leave half a surrogate pair alone is no text: it would be
 * logged and shown to the other side as U+FFFD. It is a bad message, as such a body is over HTTP.
 */
describe('support channel: half a surrogate pair in a message', () => {
  let relay: TestApp;
  let origin: TestApp;
  beforeAll(async () => {
    relay = await startRelay();
    origin = await startOrigin(relay.url);
  });
  afterAll(async () => {
    await origin?.close();
    await relay?.close();
  });

  it('is refused as bad_message to its sender and never reaches the other side; a whole pair does', async () => {
    const { supporter, agent } = await connectedSession(origin, 'surrogates');
    try {
      const refused = agent.next((event) => event.type === 'error');
      agent.socket.send('{"type":"message","text":"caf\\ud800"}');
      expect(await refused).toMatchObject({ type: 'error', code: 'bad_message' });
      // A report is checked the same way, keys included.
      const refusedReport = agent.next((event) => event.type === 'error');
      agent.socket.send('{"type":"diagnostics","report":{"\\udc00":"x"}}');
      expect(await refusedReport).toMatchObject({ type: 'error', code: 'bad_message' });
      agent.socket.send('{"type":"message","text":"smile \\ud83d\\ude00"}');
      // The next message the supporter sees is the whole one: the bad ones were not relayed.
      expect((await supporter.next((event) => event.type === 'message' || event.type === 'diagnostics')).text).toBe('smile 😀');
      // And the other way round.
      const refusedToo = supporter.next((event) => event.type === 'error');
      supporter.socket.send('{"type":"message","text":"\\udfff"}');
      expect(await refusedToo).toMatchObject({ type: 'error', code: 'bad_message' });
    } finally {
      agent.close();
      supporter.close();
    }
  });

  it('a diagnostics report nested too deep to write as JSON (5,000 levels, 10 KB) is bad_message too, not internal_error, and is not relayed', async () => {
    const { supporter, agent } = await connectedSession(origin, 'deep-report');
    try {
      const refused = agent.next((event) => event.type === 'error');
      agent.socket.send(`{"type":"diagnostics","report":${'['.repeat(5000)}${']'.repeat(5000)}}`);
      expect(await refused).toMatchObject({ type: 'error', code: 'bad_message' });
      agent.socket.send('{"type":"diagnostics","report":{"disk":"ok"}}');
      expect((await supporter.next((event) => event.type === 'diagnostics')).report).toEqual({ disk: 'ok' });
    } finally {
      agent.close();
      supporter.close();
    }
  });
});
