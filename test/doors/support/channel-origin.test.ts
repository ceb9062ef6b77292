import { describe, expect, it } from 'vitest';
import { confirmPairing } from '../../../src/sdk/support.js';
import { ADMIN_AUTH, upgrade, useSupportServers } from './helpers.js';

const AVATAR = 'https://avatars.example/thorsten.png';

describe('support channel: WebSocket upgrades from pages of other sites are refused', () => {
  const servers = useSupportServers();

  it('the supporter\'s channel: a foreign Origin is 403 even with the right credentials; none, or the server\'s own, opens', async () => {
    await servers.sdk.createSession({ id: 'origin-check', supporterName: 'T', supporterAvatar: AVATAR });
    const channel = `${servers.origin.url.replace('http', 'ws')}/session/origin-check/channel`;
    for (const foreign of ['https://evil.example', 'null', servers.origin.url.replace('127.0.0.1', 'localhost')]) {
      const refused = await upgrade(channel, { origin: foreign, headers: { authorization: ADMIN_AUTH } });
      expect(refused.status, foreign).toBe(403);
      expect(JSON.parse(refused.body)).toEqual({ Error: 'Forbidden', Description: expect.stringContaining('another site'), Code: 'origin_not_allowed' });
    }
    for (const own of [undefined, servers.origin.url]) {
      const opened = await upgrade(channel, { ...(own ? { origin: own } : {}), headers: { authorization: ADMIN_AUTH } });
      expect(opened.status, String(own)).toBe(101);
      opened.socket!.close();
    }
  });

  it('the agent\'s channel: the same', async () => {
    const created = await servers.sdk.createSession({ id: 'origin-agent', supporterName: 'T', supporterAvatar: AVATAR });
    const confirmation = await confirmPairing(`${servers.origin.url}/pairing/${created.PairingCode}`);
    const refused = await upgrade(confirmation.MeshServer, { origin: 'https://evil.example' });
    expect(refused.status).toBe(403);
    expect(JSON.parse(refused.body)).toMatchObject({ Code: 'origin_not_allowed' });
    const opened = await upgrade(confirmation.MeshServer);
    expect(opened.status).toBe(101);
    opened.socket!.close();
  });
});
