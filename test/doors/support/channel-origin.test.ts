import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { confirmPairing, SupportOriginClient } from '../../../src/sdk/support.js';
import type { TestApp } from '../../helpers/app.js';
import { ADMIN, ADMIN_AUTH, startOrigin, startRelay, upgrade } from './helpers.js';

const AVATAR = 'https://avatars.example/thorsten.png';

describe('support channel: WebSocket upgrades from pages of other sites are refused', () => {
  let relay: TestApp;
  let origin: TestApp;
  let sdk: SupportOriginClient;
  beforeAll(async () => {
    relay = await startRelay();
    origin = await startOrigin(relay.url);
    sdk = new SupportOriginClient({ baseUrl: origin.url, ...ADMIN });
  });
  afterAll(async () => {
    await origin?.close();
    await relay?.close();
  });

  it('the supporter\'s channel: a foreign Origin is 403 even with the right credentials; none, or the server\'s own, opens', async () => {
    await sdk.createSession({ id: 'origin-check', supporterName: 'T', supporterAvatar: AVATAR });
    const channel = `${origin.url.replace('http', 'ws')}/session/origin-check/channel`;
    for (const foreign of ['https://evil.example', 'null', origin.url.replace('127.0.0.1', 'localhost')]) {
      const refused = await upgrade(channel, { origin: foreign, headers: { authorization: ADMIN_AUTH } });
      expect(refused.status, foreign).toBe(403);
      expect(JSON.parse(refused.body)).toEqual({ Error: 'Forbidden', Description: expect.stringContaining('another site'), Code: 'origin_not_allowed' });
    }
    for (const own of [undefined, origin.url]) {
      const opened = await upgrade(channel, { ...(own ? { origin: own } : {}), headers: { authorization: ADMIN_AUTH } });
      expect(opened.status, String(own)).toBe(101);
      opened.socket!.close();
    }
  });

  it('the agent\'s channel: the same', async () => {
    const created = await sdk.createSession({ id: 'origin-agent', supporterName: 'T', supporterAvatar: AVATAR });
    const confirmation = await confirmPairing(`${origin.url}/pairing/${created.PairingCode}`);
    const refused = await upgrade(confirmation.MeshServer, { origin: 'https://evil.example' });
    expect(refused.status).toBe(403);
    expect(JSON.parse(refused.body)).toMatchObject({ Code: 'origin_not_allowed' });
    const opened = await upgrade(confirmation.MeshServer);
    expect(opened.status).toBe(101);
    opened.socket!.close();
  });
});
