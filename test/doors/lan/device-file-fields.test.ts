import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { MAX_NAME_BYTES, nameProblem } from '../../../src/doors/lan/connection-string.js';
import { defaultDeviceName, loadDeviceIdentity } from '../../../src/doors/lan/device-identity.js';
import { startOffer } from '../../../src/doors/lan/offer.js';
import { createTlsIdentity } from '../../../src/doors/lan/tls-identity.js';
import { deviceDir } from './lan-fixtures.js';

/**
 * `device.json` edited by hand: an id that is not a device id or a name that names may not be
 * used to load, and failed later in the middle of a command (an offer with a RangeError from its
 * connection string). Both are refused on load, as the file's other damage is, naming the field.
 */

async function writeDevice(fields: { deviceId: string; name: string }): Promise<{ dir: string; path: string; content: string }> {
  const dir = deviceDir('device-fields');
  const path = join(dir, 'device.json');
  const content = JSON.stringify({ ...fields, ...await createTlsIdentity('desk', 3600) });
  writeFileSync(path, content, { mode: 0o600 });
  return { dir, path, content };
}

describe('device.json fields checked on load', () => {
  it('an id that is not 16 bytes of base64url: lan_bad_device_file naming "deviceId", the file left as it is', async () => {
    for (const deviceId of ['short', 'AAAAAAAAAAAAAAAAAAAAAAAA', 'AAAAAAAAAAAAAAAAAAAAAA==', 'AAAAAAAAAAAAAAAAAAAA+/', 'AAAAAAAAAAAAAAAAAAAAAB', 'AAAAAAAAAAAAAAAAAAAA\u0007A']) {
      const { dir, path, content } = await writeDevice({ deviceId, name: 'desk' });
      await expect(loadDeviceIdentity(dir), deviceId).rejects.toMatchObject({
        code: 'lan_bad_device_file', status: 400,
        message: expect.stringMatching(new RegExp(`${path.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')} is damaged: its "deviceId" is not a device id \\(16 bytes in base64url`)),
      });
      expect(readFileSync(path, 'utf8')).toBe(content);
      expect(readdirSync(dir)).toEqual(['device.json']);
    }
  });

  it('a name that names may not be: lan_bad_device_file naming "name" and how to fix it, keeping the key', async () => {
    const names = ['bell\u0007', 'x'.repeat(MAX_NAME_BYTES + 1), 'a\u202eb', `${'é'.repeat(40)}`];
    for (const name of names) {
      const { dir, path, content } = await writeDevice({ deviceId: 'AAAAAAAAAAAAAAAAAAAAAA', name });
      const failure = await loadDeviceIdentity(dir).catch((error: unknown) => error);
      expect(failure, JSON.stringify(name)).toMatchObject({ code: 'lan_bad_device_file', status: 400 });
      const message = (failure as Error).message;
      expect(message).toContain(`${path} is damaged: its "name" cannot be used (${nameProblem(name)})`);
      expect(message).toContain(`Edit "name" in it to at most ${MAX_NAME_BYTES} bytes`);
      expect(message).toContain('they hold the key every paired device pins');
      expect(message).not.toContain('mv ');
      expect(readFileSync(path, 'utf8')).toBe(content);
    }
  });

  it('an offer on such a file fails with lan_bad_device_file, not a RangeError', async () => {
    const { dir } = await writeDevice({ deviceId: 'AAAAAAAAAAAAAAAAAAAAAA', name: 'x'.repeat(MAX_NAME_BYTES + 1) });
    await expect(startOffer({ configDir: dir, addresses: ['127.0.0.1'], host: '127.0.0.1', discovery: false, timeoutMs: 5000 }))
      .rejects.toMatchObject({ code: 'lan_bad_device_file' });
    const other = await writeDevice({ deviceId: 'AAAAAAAAAAAAAAAAAAAA', name: 'desk' });
    await expect(startOffer({ configDir: other.dir, addresses: ['127.0.0.1'], host: '127.0.0.1', discovery: false, timeoutMs: 5000 }))
      .rejects.toMatchObject({ code: 'lan_bad_device_file' });
  });

  it('ids made before "-" was avoided still load, and the default name from a long host name is one names may be', async () => {
    const { dir } = await writeDevice({ deviceId: '-AAAAAAAAAAAAAAAAAAAAA', name: 'desk' });
    expect((await loadDeviceIdentity(dir)).deviceId).toBe('-AAAAAAAAAAAAAAAAAAAAA');
    const name = defaultDeviceName('\u4e2d'.repeat(60));
    expect(nameProblem(name)).toBeUndefined();
    expect(name).toBe('\u4e2d'.repeat(21));
    expect(defaultDeviceName('my-laptop.local')).toBe('my-laptop.local');
    expect(defaultDeviceName('!!!')).toBe('pairgate device');
  });
});
