import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadDeviceIdentity, newDeviceId } from '../../../src/doors/lan/device-identity.js';
import { peersRemoveCommand } from '../../../src/doors/lan/trusted-peers.js';
import { deviceDir } from './lan-fixtures.js';

/**
 * Device ids are base64url and 1 in 64 started with "-", which a command line reads as an option
 * (`pairgate peers remove -7N2HIah` was commander's "unknown option"). New ids never start with
 * it; ids made before stay valid, and messages that quote a remove command put them after `--`.
 */
describe('device ids and the command line', () => {
  it('a new id never starts with "-" and is still 16 random bytes in base64url', () => {
    const ids = Array.from({ length: 4000 }, newDeviceId);
    // 4000 ids drawn as before would hold about 62 starting with "-".
    expect(ids.filter((id) => id.startsWith('-'))).toEqual([]);
    for (const id of ids) {
      expect(id).toMatch(/^[A-Za-z0-9_][A-Za-z0-9_-]{21}$/);
      expect(Buffer.from(id, 'base64url')).toHaveLength(16);
    }
    expect(new Set(ids).size).toBe(ids.length);
    // The other 63 first characters all still occur.
    expect(new Set(ids.map((id) => id[0])).size).toBe(63);
  });

  it('an id made before, starting with "-", still loads; quoted commands put it after --', async () => {
    const dir = deviceDir('dash');
    await loadDeviceIdentity(dir, 'old');
    const path = join(dir, 'device.json');
    writeFileSync(path, JSON.stringify({ ...JSON.parse(readFileSync(path, 'utf8')) as object, deviceId: '-7N2HIah_3n8s_-xU-83QA' }));
    expect((await loadDeviceIdentity(dir)).deviceId).toBe('-7N2HIah_3n8s_-xU-83QA');
    expect(peersRemoveCommand('-7N2HIah_3n8s_-xU-83QA')).toBe('pairgate peers remove -- -7N2HIah_3n8s_-xU-83QA');
    expect(peersRemoveCommand('A7N2HIah_3n8s_-xU-83QA')).toBe('pairgate peers remove A7N2HIah_3n8s_-xU-83QA');
  });
});
