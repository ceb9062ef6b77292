import { describe, expect, it } from 'vitest';
import { connectedSession, useSupportServers } from './helpers.js';

/** A diagnostics report is a JSON object (docs/support.md): anything else is a bad message, never relayed. */
describe('support channel: the form of a diagnostics report', () => {
  const servers = useSupportServers();

  it('a list, a text or null is bad_message and not relayed; an object is relayed', async () => {
    const { supporter, agent } = await connectedSession(servers.origin, 'report-shape');
    try {
      for (const report of ['["disk","ok"]', '[]', '"ok"', 'null']) {
        const refused = agent.next((event) => event.type === 'error');
        agent.socket.send(`{"type":"diagnostics","report":${report}}`);
        expect(await refused, report).toMatchObject({ type: 'error', code: 'bad_message', message: expect.stringMatching(/report: a JSON object/) });
      }
      agent.socket.send('{"type":"diagnostics","report":{"disk":"ok"}}');
      // The first report the supporter sees is the object: the others went nowhere.
      expect((await supporter.next((event) => event.type === 'diagnostics')).report).toEqual({ disk: 'ok' });
    } finally {
      agent.close();
      supporter.close();
    }
  });
});
