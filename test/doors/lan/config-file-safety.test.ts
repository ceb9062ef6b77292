import { randomBytes } from 'node:crypto';
import { chmodSync, chownSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadDeviceIdentity } from '../../../src/doors/lan/device-identity.js';
import { TrustedPeerStore } from '../../../src/doors/lan/trusted-peers.js';
import { deviceDir } from './lan-fixtures.js';

/**
 * The files of the config folder, checked where they are read (`checkConfigFile`): the folder's
 * mode keeps others from making a file there, not from writing into one left group or world
 * writable, or one of theirs; a `device.json` others can read has given its key away. Each is
 * refused with `lan_unsafe_config_dir`, naming the file and the chmod that fixes it.
 */

const asRoot = process.getuid?.() === 0;
const peer = () => ({ deviceId: randomBytes(16).toString('base64url'), name: 'phone', keySha256: randomBytes(32).toString('base64url'), addresses: ['10.0.0.2'] });

/** A config folder (0700) holding a peers.json and a device.json as pairgate writes them. */
async function configFolder(label: string): Promise<{ dir: string; peers: string; device: string; store: TrustedPeerStore }> {
  const dir = deviceDir(label);
  chmodSync(dir, 0o700);
  await loadDeviceIdentity(dir, 'desk');
  const store = new TrustedPeerStore(dir);
  await store.save(peer());
  return { dir, peers: join(dir, 'peers.json'), device: join(dir, 'device.json'), store };
}

describe.skipIf(process.platform === 'win32')('config files others could change or read', () => {
  it('pairgate writes both files 0600, and reads them as they are', async () => {
    const { dir, peers, device, store } = await configFolder('files-ok');
    expect(statSync(peers).mode & 0o777).toBe(0o600);
    expect(statSync(device).mode & 0o777).toBe(0o600);
    // A peers.json others may read is fine: it holds no secret.
    chmodSync(peers, 0o644);
    expect(store.list()).toHaveLength(1);
    await store.save(peer());
    expect(statSync(peers).mode & 0o777).toBe(0o600);
    await expect(loadDeviceIdentity(dir)).resolves.toMatchObject({ name: 'desk' });
  });

  it('a peers.json others may write: refused, naming it and chmod 600, before a peer in it is trusted or changed', async () => {
    for (const mode of [0o666, 0o620, 0o602]) {
      const { peers, store } = await configFolder('peers-writable');
      chmodSync(peers, mode);
      const before = readFileSync(peers, 'utf8');
      const message = `The file ${peers} is not safe: others can write to it (mode ${mode.toString(8)}), so they could plant a trusted peer`;
      expect(() => store.list()).toThrow(message);
      expect(() => store.list()).toThrow(`Run: chmod 600 ${peers}`);
      expect(() => store.byKey('x')).toThrow(expect.objectContaining({ code: 'lan_unsafe_config_dir' }) as Error);
      await expect(store.save(peer())).rejects.toMatchObject({ code: 'lan_unsafe_config_dir' });
      expect(readFileSync(peers, 'utf8')).toBe(before);
    }
  });

  it.skipIf(!asRoot)('a peers.json of another user: refused, naming the owner and chmod 600', async () => {
    const { peers, store } = await configFolder('peers-owner');
    chownSync(peers, 65534, 65534);
    expect(() => store.list()).toThrow(expect.objectContaining({
      code: 'lan_unsafe_config_dir',
      message: expect.stringMatching(new RegExp(`^The file ${peers} is not safe: it belongs to another user \\(uid 65534\\).*chmod 600 ${peers}$`)) as string,
    }) as Error);
    // Root's own files are accepted, as root's folders are.
    chownSync(peers, 0, 0);
    expect(store.list()).toHaveLength(1);
  });

  it('a device.json others may write, or of another user: refused, naming it and chmod 600', async () => {
    const { dir, device } = await configFolder('device-writable');
    chmodSync(device, 0o620);
    await expect(loadDeviceIdentity(dir)).rejects.toMatchObject({
      code: 'lan_unsafe_config_dir',
      message: expect.stringMatching(new RegExp(`^The file ${device} is not safe: others can write to it \\(mode 620\\), so they could replace this device's key.*Run: chmod 600 ${device}$`)) as string,
    });
    if (!asRoot) return;
    chmodSync(device, 0o600);
    chownSync(device, 65534, 65534);
    await expect(loadDeviceIdentity(dir)).rejects.toMatchObject({ code: 'lan_unsafe_config_dir', message: expect.stringContaining('it belongs to another user (uid 65534)') as string });
  });

  it('a device.json others may read: refused, saying the key may have leaked and how to replace it; left as it is', async () => {
    for (const mode of [0o644, 0o640, 0o604]) {
      const { dir, device } = await configFolder('device-readable');
      chmodSync(device, mode);
      const before = readFileSync(device, 'utf8');
      const refused = loadDeviceIdentity(dir);
      await expect(refused).rejects.toMatchObject({ code: 'lan_unsafe_config_dir' });
      const message = (await refused.catch((error: Error) => error) as Error).message;
      expect(message).toContain(`The file ${device} is not safe: others can read it (mode ${mode.toString(8)}), and it holds this device's private key, which may have leaked.`);
      expect(message).toContain(`Run: chmod 600 ${device}.`);
      expect(message).toContain(`mv ${device} ${device}.leaked`);
      expect(message).toContain('pair them again');
      expect(readFileSync(device, 'utf8')).toBe(before);
      expect(statSync(device).mode & 0o777).toBe(mode);
    }
  });

  it('a device.json with a wide mode is refused also when a rename would rewrite it (--name)', async () => {
    const { dir, device } = await configFolder('device-rename');
    writeFileSync(device, readFileSync(device));
    chmodSync(device, 0o644);
    await expect(loadDeviceIdentity(dir, 'attic')).rejects.toMatchObject({ code: 'lan_unsafe_config_dir' });
  });
});
