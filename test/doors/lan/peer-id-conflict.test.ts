import { readFileSync, writeFileSync } from 'node:fs';
import { join as joinPath } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { loadDeviceIdentity, type DeviceIdentity } from '../../../src/doors/lan/device-identity.js';
import { join } from '../../../src/doors/lan/join.js';
import type { Offer } from '../../../src/doors/lan/offer.js';
import { TrustedPeerStore, type TrustedPeer } from '../../../src/doors/lan/trusted-peers.js';
import { deviceDir, loopbackOffer } from './lan-fixtures.js';

/**
 * Device ids are public (in QR codes, `lan nearby`, `peers list`). Pairing saved the other device
 * by its id alone, so a device that claimed a trusted peer's id silently took its place: its key
 * replaced that peer's, the real one was no longer trusted, and `lan connect <id>` reached the
 * impostor. A pairing that brings a trusted id under another key is now refused on the side that
 * trusts it (`lan_peer_id_conflict`), before either side says it saved; the other side hears that
 * it was not saved and takes its own entry back (`lan_peer_not_saved`).
 */

const offers: Offer[] = [];
afterEach(async () => {
  await Promise.all(offers.splice(0).map((o) => o.close()));
});

const failure = (promise: Promise<unknown>) => promise.then(() => { throw new Error('expected a failure'); }, (error: Error & { code?: string }) => error);

/** A config folder whose device claims `deviceId` (its device.json edited), with its own key. */
async function posingAs(deviceId: string, name: string): Promise<{ dir: string; device: DeviceIdentity }> {
  const dir = deviceDir(name);
  await loadDeviceIdentity(dir, name);
  const path = joinPath(dir, 'device.json');
  writeFileSync(path, JSON.stringify({ ...JSON.parse(readFileSync(path, 'utf8')) as object, deviceId }));
  return { dir, device: await loadDeviceIdentity(dir) };
}

/** "laptop" (the offer's folder) trusting "phone", as a first pairing leaves them. */
async function trustedPhone(): Promise<{ laptopDir: string; phoneDir: string; phone: DeviceIdentity; entry: TrustedPeer }> {
  const laptopDir = deviceDir('laptop');
  const phoneDir = deviceDir('phone');
  const made = await loopbackOffer({ configDir: laptopDir });
  offers.push(made.offer);
  await join(made.offer.connectionString, { configDir: phoneDir, deviceName: 'phone', outDir: phoneDir, discovery: false });
  const entry = (await made.offer.result).trusted;
  return { laptopDir, phoneDir, phone: await loadDeviceIdentity(phoneDir), entry };
}

describe('a pairing that claims the id of a trusted peer under another key', () => {
  it('joining the offer: the offer refuses it with lan_peer_id_conflict and keeps the real peer; the impostor keeps nothing', async () => {
    const { laptopDir, phone, entry } = await trustedPhone();
    const impostor = await posingAs(phone.deviceId, 'mallory');
    const made = await loopbackOffer({ configDir: laptopDir });
    offers.push(made.offer);
    const joined = await failure(join(made.offer.connectionString, { configDir: impostor.dir, outDir: impostor.dir, discovery: false }));
    const offered = await failure(made.offer.result);

    expect(offered.code).toBe('lan_peer_id_conflict');
    expect(offered.message).toContain(`"mallory" (key ${impostor.device.spkiSha256.toString('base64url').slice(0, 16)}...) claims the device id ${phone.deviceId}, which "phone"`);
    expect(offered.message).toContain(`run "pairgate peers remove ${phone.deviceId.startsWith('-') ? '-- ' : ''}${phone.deviceId}" first, then pair again`);
    expect(offered.message).toContain('"mallory" was told, and takes this device back: neither trusts the other.');
    expect(joined.code).toBe('lan_peer_not_saved');
    expect(joined.message).toContain('it already trusts another device under this device\'s id, and refuses to replace it [lan_peer_id_conflict]');
    // The real phone is still the one trusted under its id, with its own key.
    expect(new TrustedPeerStore(laptopDir).list()).toEqual([entry]);
    expect(new TrustedPeerStore(impostor.dir).list()).toEqual([]);
  }, 60_000);

  it('offering to a device that trusts the id: the joiner refuses it, and the offer takes its own entry back', async () => {
    const { phoneDir, entry: laptopEntryOnLaptop } = await trustedPhone();
    const phoneTrusts = new TrustedPeerStore(phoneDir).list();
    expect(phoneTrusts.map((p) => p.name)).toEqual(['laptop']);
    const laptopId = phoneTrusts[0]!.deviceId;
    const impostor = await posingAs(laptopId, 'mallory');
    const made = await loopbackOffer({ configDir: impostor.dir, deviceName: 'mallory' });
    offers.push(made.offer);
    const joined = await failure(join(made.offer.connectionString, { configDir: phoneDir, outDir: phoneDir, discovery: false }));
    const offered = await failure(made.offer.result);

    expect(joined.code).toBe('lan_peer_id_conflict');
    expect(joined.message).toContain(`claims the device id ${laptopId}, which "laptop"`);
    expect(offered.code).toBe('lan_peer_not_saved');
    expect(new TrustedPeerStore(phoneDir).list()).toEqual(phoneTrusts);
    expect(new TrustedPeerStore(impostor.dir).list()).toEqual([]);
    expect(laptopEntryOnLaptop.name).toBe('phone');
  }, 60_000);

  it('the same device pairing again (same id, same key) still updates its entry: a new name, the first pairing time kept', async () => {
    const { laptopDir, phoneDir, entry } = await trustedPhone();
    const made = await loopbackOffer({ configDir: laptopDir });
    offers.push(made.offer);
    await join(made.offer.connectionString, { configDir: phoneDir, deviceName: 'phone 2', outDir: phoneDir, discovery: false });
    const again = (await made.offer.result).trusted;
    expect(again).toMatchObject({ deviceId: entry.deviceId, keySha256: entry.keySha256, name: 'phone 2', pairedAt: entry.pairedAt });
    expect(new TrustedPeerStore(laptopDir).list()).toHaveLength(1);
  }, 60_000);

  it('the store refuses it under its lock and writes nothing', async () => {
    const dir = deviceDir('store');
    const store = new TrustedPeerStore(dir);
    const kept = await store.save({ deviceId: 'A'.repeat(22), name: 'phone', keySha256: 'k'.repeat(43), addresses: ['192.0.2.1'] });
    const before = readFileSync(store.path, 'utf8');
    await expect(store.save({ deviceId: 'A'.repeat(22), name: 'phone', keySha256: 'm'.repeat(43), addresses: [] })).rejects.toMatchObject({ code: 'lan_peer_id_conflict', status: 409 });
    expect(readFileSync(store.path, 'utf8')).toBe(before);
    expect(store.list()).toEqual([kept]);
  });
});
