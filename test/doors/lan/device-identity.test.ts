import { chmodSync, existsSync, readdirSync, readFileSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it, vi } from 'vitest';
import { loadDeviceIdentity } from '../../../src/doors/lan/device-identity.js';
import { createPrivateFile } from '../../../src/doors/lan/private-file.js';
import { createTlsIdentity } from '../../../src/doors/lan/tls-identity.js';
import { deviceDir } from './lan-fixtures.js';

// A file system without hard links (FAT), switched on per test: link(2) fails as it does there.
const fs = vi.hoisted(() => ({ noHardLinks: false, linksRefused: 0 }));
vi.mock('node:fs', async (importOriginal) => {
  const actual = await importOriginal<typeof import('node:fs')>();
  return {
    ...actual,
    linkSync: (...args: Parameters<typeof actual.linkSync>) => {
      if (fs.noHardLinks) {
        fs.linksRefused++;
        throw Object.assign(new Error(`EPERM: operation not permitted, link '${String(args[0])}' -> '${String(args[1])}'`), { code: 'EPERM', syscall: 'link' });
      }
      actual.linkSync(...args);
    },
  };
});

describe('device identity: made once, damaged files refused', () => {
  it('commands loading a fresh folder at once in one process all get the one identity on disk', async () => {
    const dir = deviceDir('identity-once');
    // Each finds no file before any has made its key (the read comes before the key's await).
    const loaded = await Promise.all(Array.from({ length: 4 }, () => loadDeviceIdentity(dir)));
    const again = await loadDeviceIdentity(dir);
    for (const device of loaded) {
      expect(device.deviceId).toBe(again.deviceId);
      expect(device.spkiSha256.equals(again.spkiSha256)).toBe(true);
      expect(device.keyPem).toBe(again.keyPem);
    }
    expect(readdirSync(dir)).toEqual(['device.json']);
    expect(statSync(join(dir, 'device.json')).mode & 0o777).toBe(0o600);
  });

  it('a name an earlier version stored, holding what names may no longer hold, is used without it (lan offer worked before the upgrade)', async () => {
    const dir = deviceDir('identity-old-name');
    await loadDeviceIdentity(dir, 'Anna');
    const path = join(dir, 'device.json');
    writeFileSync(path, JSON.stringify({ ...JSON.parse(readFileSync(path, 'utf8')), name: 'An\u00adna\u200b laptop' }));
    expect((await loadDeviceIdentity(dir)).name).toBe('Anna laptop');
  });

  it('a command naming the device while another makes it renames the identity on disk, keeping its key', async () => {
    const dir = deviceDir('identity-rename');
    const [first, named] = await Promise.all([loadDeviceIdentity(dir), loadDeviceIdentity(dir, 'attic')]);
    expect(named.spkiSha256.equals(first.spkiSha256)).toBe(true);
    expect(named.name).toBe('attic');
    const stored = await loadDeviceIdentity(dir);
    expect(stored.spkiSha256.equals(first.spkiSha256)).toBe(true);
    expect(stored.name).toBe('attic');
  });

  it('refuses a damaged device.json with lan_bad_device_file, naming it, and leaves it as it was', async () => {
    const good = { deviceId: 'AAAAAAAAAAAAAAAAAAAAAA', name: 'desk', ...await createTlsIdentity('desk', 3600) };
    const other = await createTlsIdentity('other', 3600);
    const damaged = [
      '{',
      '',
      'null',
      JSON.stringify({}),
      JSON.stringify({ deviceId: good.deviceId, name: 'desk', certPem: good.certPem }),
      JSON.stringify({ deviceId: good.deviceId, name: '', keyPem: good.keyPem, certPem: good.certPem }),
      JSON.stringify({ deviceId: good.deviceId, name: 'desk', keyPem: good.keyPem, certPem: 'not a certificate' }),
      JSON.stringify({ deviceId: good.deviceId, name: 'desk', keyPem: 'not a key', certPem: good.certPem }),
      // Each part fine, but not a pair: peers would pin a key this device cannot prove it holds.
      JSON.stringify({ deviceId: good.deviceId, name: 'desk', keyPem: other.keyPem, certPem: good.certPem }),
    ];
    for (const content of damaged) {
      const dir = deviceDir('identity-damaged');
      const path = join(dir, 'device.json');
      writeFileSync(path, content, { mode: 0o600 });
      await expect(loadDeviceIdentity(dir), content).rejects.toMatchObject({ code: 'lan_bad_device_file', status: 400, message: expect.stringContaining(path) });
      await expect(loadDeviceIdentity(dir, 'renamed')).rejects.toMatchObject({ code: 'lan_bad_device_file' });
      expect(readFileSync(path, 'utf8')).toBe(content);
      expect(readdirSync(dir)).toEqual(['device.json']);
    }
    // The same fields, whole, load.
    const dir = deviceDir('identity-good');
    writeFileSync(join(dir, 'device.json'), JSON.stringify(good), { mode: 0o600 });
    expect((await loadDeviceIdentity(dir)).spkiSha256.equals(good.spkiSha256)).toBe(true);
  });

  it('refuses to make an identity over a link to a missing file, and does not create its target', async () => {
    const dir = deviceDir('identity-dangling');
    const target = join(dir, 'elsewhere.json');
    symlinkSync(target, join(dir, 'device.json'));
    await expect(loadDeviceIdentity(dir)).rejects.toMatchObject({ code: 'lan_bad_device_file', message: expect.stringContaining('cannot be created') });
    expect(existsSync(target)).toBe(false);
    expect(readdirSync(dir)).toEqual(['device.json']);
  });
});

describe('createPrivateFile', () => {
  for (const noHardLinks of [false, true]) {
    it(`creates the file 0600 once and never touches one already there${noHardLinks ? ' (file system without hard links)' : ''}`, () => {
      fs.noHardLinks = noHardLinks;
      try {
        const dir = deviceDir('create-once');
        const path = join(dir, 'secret.json');
        expect(createPrivateFile(path, 'first')).toBe(true);
        expect(createPrivateFile(path, 'second')).toBe(false);
        expect(readFileSync(path, 'utf8')).toBe('first');
        expect(statSync(path).mode & 0o777).toBe(0o600);
        // An existing file keeps its content and mode.
        chmodSync(path, 0o640);
        expect(createPrivateFile(path, 'third')).toBe(false);
        expect(statSync(path).mode & 0o777).toBe(0o640);
        // A link planted at the name is not followed: its target is not created.
        const target = join(dir, 'target');
        symlinkSync(target, join(dir, 'planted'));
        expect(createPrivateFile(join(dir, 'planted'), 'secret')).toBe(false);
        expect(existsSync(target)).toBe(false);
        // No temporary file is left behind.
        expect(readdirSync(dir).sort()).toEqual(['planted', 'secret.json']);
        expect(fs.linksRefused).toBe(noHardLinks ? 4 : 0);
      } finally {
        fs.noHardLinks = false;
      }
    });
  }
});
