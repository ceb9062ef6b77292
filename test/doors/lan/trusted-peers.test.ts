import { existsSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { listenForTrustedPeer } from '../../../src/doors/lan/connect.js';
import { loadDeviceIdentity } from '../../../src/doors/lan/device-identity.js';
import { BadPeersFileError, PeersFileUnreadableError } from '../../../src/doors/lan/lan-errors.js';
import { noticeForPeer } from '../../../src/doors/lan/peer-failure.js';
import { certificatePin } from '../../../src/doors/lan/tls-identity.js';
import { shortReason } from '../../../src/doors/lan/trust-commit.js';
import { TrustedPeerStore } from '../../../src/doors/lan/trusted-peers.js';
import { deviceDir } from './lan-fixtures.js';

const peer = (name: string) => ({ deviceId: randomBytes(16).toString('base64url'), name, keySha256: randomBytes(32).toString('base64url'), addresses: ['10.0.0.2'] });

describe('trusted peers and device identity', () => {
  it('saves, finds by id, key, key prefix or name, keeps the first pairing time, removes', async () => {
    const dir = deviceDir('peers');
    const store = new TrustedPeerStore(dir);
    const phone = peer('phone');
    const first = await store.save(phone, new Date('2026-01-01T00:00:00Z'));
    await store.save(peer('tablet'), new Date('2026-01-02T00:00:00Z'));
    const again = await store.save({ ...phone, addresses: ['10.0.0.9', '10.0.0.9'] }, new Date('2026-01-03T00:00:00Z'));
    expect(again.pairedAt).toBe(first.pairedAt);
    expect(again.addresses).toEqual(['10.0.0.9']);
    expect(store.list().map((p) => p.name)).toEqual(['phone', 'tablet']);
    expect(store.find(phone.deviceId).name).toBe('phone');
    expect(store.find(phone.keySha256.slice(0, 8)).name).toBe('phone');
    expect(store.find('tablet').name).toBe('tablet');
    expect(() => store.find('abc')).toThrow(/No trusted peer matches "abc"/);
    // A prefix too short to be taken says the minimum, rather than seeming to match no one.
    expect(() => store.find(phone.keySha256.slice(0, 5))).toThrow(`No trusted peer matches "${phone.keySha256.slice(0, 5)}" (a key or device id prefix needs at least 6 characters). Run "pairgate peers list" to see them.`);
    expect(() => store.find('abcdefgh')).toThrow('No trusted peer matches "abcdefgh". Run "pairgate peers list" to see them.');
    expect(statSync(store.path).mode & 0o777).toBe(0o600);
    await store.remove('phone');
    expect(store.list().map((p) => p.name)).toEqual(['tablet']);
    await expect(store.remove('phone')).rejects.toMatchObject({ code: 'lan_unknown_peer' });
    // Every change, done or refused, let go of its lock.
    expect(existsSync(store.lockPath)).toBe(false);
  });

  it('keeps one long-lived device identity per config dir, private key file 0600', async () => {
    const dir = deviceDir('identity');
    const made = await loadDeviceIdentity(dir, 'desk');
    const loaded = await loadDeviceIdentity(dir);
    expect(loaded.deviceId).toBe(made.deviceId);
    expect(loaded.spkiSha256.equals(made.spkiSha256)).toBe(true);
    expect(certificatePin(loaded.certPem).equals(made.spkiSha256)).toBe(true);
    expect(statSync(`${dir}/device.json`).mode & 0o777).toBe(0o600);
    const renamed = await loadDeviceIdentity(dir, 'desk 2');
    expect(renamed.name).toBe('desk 2');
    expect(renamed.deviceId).toBe(made.deviceId);
    await expect(loadDeviceIdentity(dir, 'bad\u0007name')).rejects.toThrow(/control characters/);
  });

  it('a damaged peers.json is refused with lan_bad_peers_file, naming it, by every use and before lan connect --listen starts', async () => {
    const damaged = [
      '{',
      JSON.stringify({ version: 1, peers: 'none' }),
      JSON.stringify({ version: 1, peers: [{ ...peer('ok'), pairedAt: 'x', lastSeenAt: 'x' }, { name: 'half', lastSeenAt: 5 }] }),
      JSON.stringify({ version: 1, peers: [{ ...peer('no-addresses'), addresses: 'x', pairedAt: 'x', lastSeenAt: 'x' }] }),
    ];
    for (const content of damaged) {
      const dir = deviceDir('damaged');
      writeFileSync(join(dir, 'peers.json'), content);
      const store = new TrustedPeerStore(dir);
      const refusal = expect.objectContaining({ code: 'lan_bad_peers_file', message: expect.stringContaining(join(dir, 'peers.json')) });
      for (const use of [() => store.list(), () => store.find('ok'), () => store.byKey('x')]) expect(use).toThrow(refusal);
      await expect(store.save(peer('new'))).rejects.toEqual(refusal);
      await expect(store.remove('ok')).rejects.toEqual(refusal);
      expect(readFileSync(join(dir, 'peers.json'), 'utf8')).toBe(content);
      expect(existsSync(store.lockPath)).toBe(false);
      await expect(listenForTrustedPeer({ configDir: dir, host: '127.0.0.1', port: 0 })).rejects.toMatchObject({ code: 'lan_bad_peers_file' });
    }
  });

  it('a damaged peers.json says to repair it or move it aside, never to remove it (it is the only record of the trusted peers)', () => {
    for (const [content, why] of [['{', 'it is not JSON ('], ['[]', 'it has no list of peers']] as const) {
      const dir = deviceDir('damaged-advice');
      const path = join(dir, 'peers.json');
      writeFileSync(path, content);
      let refusal: Error | undefined;
      try {
        new TrustedPeerStore(dir).list();
      } catch (error) {
        refusal = error as Error;
      }
      expect(refusal).toBeInstanceOf(BadPeersFileError);
      expect(refusal?.message).toContain(`The trusted-peer file ${path} is damaged: ${why}`);
      expect(refusal?.message).toContain(`Repair it by hand, or move it aside (mv ${path} ${path}.broken) and pair again with your devices.`);
      expect(refusal?.message).not.toMatch(/remove it|delete/i);
    }
  });

  it('a peers.json that cannot be read (a folder at its name) is lan_peers_file_unreadable, not "damaged", by every use; nothing is written', async () => {
    const dir = deviceDir('unreadable');
    const path = join(dir, 'peers.json');
    mkdirSync(path);
    writeFileSync(join(path, 'kept.txt'), 'mine');
    const store = new TrustedPeerStore(dir);
    const refusal = expect.objectContaining({
      code: 'lan_peers_file_unreadable',
      errno: 'EISDIR',
      status: 400,
      message: `The trusted-peer file ${path} cannot be read (it is a folder, not a file). Move the folder out of the way (mv ${path} ${path}.aside): the next pairing makes the file anew.`,
    });
    for (const use of [() => store.list(), () => store.find('ok'), () => store.byKey('x')]) expect(use).toThrow(refusal);
    await expect(store.save(peer('new'))).rejects.toEqual(refusal);
    await expect(store.remove('ok')).rejects.toEqual(refusal);
    // Left as it was, its content too, and the lock let go.
    expect(statSync(path).isDirectory()).toBe(true);
    expect(readdirSync(path)).toEqual(['kept.txt']);
    expect(existsSync(store.lockPath)).toBe(false);
    await expect(listenForTrustedPeer({ configDir: dir, host: '127.0.0.1', port: 0 })).rejects.toMatchObject({ code: 'lan_peers_file_unreadable' });
  });

  it('the other device is told that the trusted-peer file cannot be read, without its path', () => {
    const dir = deviceDir('unreadable-notice');
    mkdirSync(join(dir, 'peers.json'));
    let refusal: unknown;
    try {
      new TrustedPeerStore(dir).list();
    } catch (error) {
      refusal = error;
    }
    expect(refusal).toBeInstanceOf(PeersFileUnreadableError);
    expect(noticeForPeer(refusal)).toEqual({ code: 'lan_peers_file_unreadable', message: 'its trusted-peer file cannot be read' });
    expect(shortReason(refusal as Error)).toBe('its trusted-peer file cannot be read [lan_peers_file_unreadable]');
  });
});
