import { randomBytes } from 'node:crypto';
import { beforeAll, describe, expect, it } from 'vitest';
import { startAnnouncer } from '../../src/doors/lan/discovery.js';
import { ensureBuilt, runCliUnder } from '../helpers/cli.js';
import { freePort } from '../helpers/ports.js';

/**
 * `lan nearby` lists plain announcements, which anyone on the network can make with any name and
 * id, a real device's included: its text says that each one is a claim, verified only by pairing.
 */
describe('pairgate lan nearby: names and ids shown as claims', () => {
  beforeAll(() => ensureBuilt(), 120_000);

  it('says above the list that every name and id is the device\'s own claim, verified when pairing', async () => {
    const port = await freePort();
    const deviceId = randomBytes(16).toString('base64url');
    const announcer = await startAnnouncer({ interfaceAddress: '127.0.0.1', port, intervalMs: 100, announcement: { deviceId, port: 4242, name: 'attic', code: true } });
    try {
      const result = await runCliUnder(['lan', 'nearby', '--duration', '1s', '--discovery-interface', '127.0.0.1', '--discovery-port', String(port)]);
      expect(result.code).toBe(0);
      const lines = result.stdout.trimEnd().split('\n');
      expect(lines[0]).toBe('Each name and id below is what a device claims about itself (anyone on this network can announce any, a real device\'s included); none is verified here. '
        + 'Pairing verifies the device: by the key its QR code or connection string pins, or by the pairing code proven both ways, and `lan connect` later by the key saved then.');
      expect(lines.slice(1)).toEqual([`attic  127.0.0.1 port 4242  id ${deviceId}  takes a code: pairgate lan join --code - --device ${deviceId}   and type the pairing code that device shows when asked`]);
    } finally {
      await announcer.stop();
    }
  });
});
