import { mkdirSync } from 'node:fs';
import { join as joinPath } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { decodeConnectionString } from '../../../src/doors/lan/connection-string.js';
import { loadDeviceIdentity } from '../../../src/doors/lan/device-identity.js';
import { join } from '../../../src/doors/lan/join.js';
import type { Offer } from '../../../src/doors/lan/offer.js';
import { OTHER_DEVICE_NAMED } from '../../../src/doors/lan/frames.js';
import { exchange } from '../../../src/doors/lan/session.js';
import { TrustedPeerStore } from '../../../src/doors/lan/trusted-peers.js';
import { deviceDir, loopbackOffer, provenJoiner } from './lan-fixtures.js';

const offers: Offer[] = [];
afterEach(async () => {
  await Promise.all(offers.splice(0).map((o) => o.close()));
});

async function offerOnLoopback(configDir = deviceDir('offer')) {
  const made = await loopbackOffer({ configDir });
  offers.push(made.offer);
  return { ...made, configDir };
}

/** A config folder whose peers.json cannot be read nor written (a folder stands at its name). */
function unsavable(label: string): string {
  const dir = deviceDir(label);
  mkdirSync(joinPath(dir, 'peers.json'));
  return dir;
}

/** What a rejected promise was rejected with. */
const failure = (promise: Promise<unknown>) => promise.then(() => { throw new Error('expected a failure'); }, (error: Error & { code?: string }) => error);

const peerNames = (dir: string) => new TrustedPeerStore(dir).list().map((p) => p.name);

describe('pairing keeps no one-sided trust when one side cannot save', () => {
  it('the joiner cannot save: the offer takes the joiner back, and each side says which failed and what to do', async () => {
    const { offer, configDir: offerDir } = await offerOnLoopback();
    const joinDir = unsavable('join');
    const joined = await failure(join(offer.connectionString, { configDir: joinDir, deviceName: 'phone', outDir: joinDir, discovery: false }));
    const offered = await failure(offer.result);
    expect(joined.code).toBe('lan_trust_not_saved');
    expect(joined.message).toMatch(/^This device could not save "laptop" as a trusted peer\. The trusted-peer file .*peers\.json cannot be read \(it is a folder, not a file\)\. Move the folder out of the way/);
    expect(joined.message).toContain('"laptop" was told, and takes this device back: neither trusts the other.');
    expect(joined.message).toMatch(/Then pair again\.$/);
    expect(offered.code).toBe('lan_peer_not_saved');
    expect(offered.message).toBe('"phone" did not complete the pairing. It could not save this device as a trusted peer: its trusted-peer file cannot be read [lan_peers_file_unreadable]. '
      + 'So this device did not keep "phone" as a trusted peer either: neither trusts the other. Fix the problem on "phone" (it says what), then pair again.');
    // Before, the offer kept "phone" and told its person "Paired".
    expect(peerNames(offerDir)).toEqual([]);
  });

  it('the offer cannot save: the joiner takes the offer back', async () => {
    const offerDir = unsavable('offer');
    const { offer } = await offerOnLoopback(offerDir);
    const joinDir = deviceDir('join');
    const joined = await failure(join(offer.connectionString, { configDir: joinDir, deviceName: 'phone', outDir: joinDir, discovery: false }));
    const offered = await failure(offer.result);
    expect(offered.code).toBe('lan_trust_not_saved');
    expect(offered.message).toContain('"phone" was told, and takes this device back');
    expect(joined.code).toBe('lan_peer_not_saved');
    expect(joined.message).toContain('"laptop" did not complete the pairing. It could not save this device as a trusted peer: its trusted-peer file cannot be read [lan_peers_file_unreadable].');
    expect(peerNames(joinDir)).toEqual([]);
  });

  it('pairing again with a device already trusted: a failure on the other side puts the earlier entry back, not nothing', async () => {
    const offerDir = deviceDir('offer');
    const joinDir = deviceDir('join');
    const phone = await loadDeviceIdentity(joinDir, 'phone');
    const store = new TrustedPeerStore(offerDir);
    const earlier = await store.save({ deviceId: phone.deviceId, name: 'phone', keySha256: phone.spkiSha256.toString('base64url'), addresses: ['192.0.2.7'] }, new Date('2024-01-01T00:00:00Z'));
    mkdirSync(joinPath(joinDir, 'peers.json'));
    const { offer } = await offerOnLoopback(offerDir);
    expect((await failure(join(offer.connectionString, { configDir: joinDir, outDir: joinDir, discovery: false }))).code).toBe('lan_trust_not_saved');
    expect((await failure(offer.result)).code).toBe('lan_peer_not_saved');
    expect(store.list()).toEqual([earlier]);
  });

  it('a joiner that refuses before confirming (here: the device id) says so, and the offer trusts no one', async () => {
    const { offer, configDir: offerDir } = await offerOnLoopback();
    const joinDir = deviceDir('join');
    const info = { ...decodeConnectionString(offer.connectionString), deviceId: Buffer.alloc(16, 7).toString('base64url') };
    expect((await failure(join(info, { configDir: joinDir, deviceName: 'phone', outDir: joinDir, discovery: false }))).message).toBe('The device has another id than the connection string names: the string was mistyped (its key and secret are right, its device id is not). Nothing was saved; start the offer again and copy the string whole, or scan the QR code.');
    const offered = await failure(offer.result);
    expect(offered.code).toBe('lan_protocol_error');
    // Refused as its identity arrived, before payloads and the save: the offer had nothing to take
    // back, and is told it was named wrongly, in its own words (OTHER_DEVICE_NAMED), not to update.
    expect(offered.message).toBe(OTHER_DEVICE_NAMED);
    expect(peerNames(offerDir)).toEqual([]);
    expect(peerNames(joinDir)).toEqual([]);
  });

  it('a joiner that ends the connection before confirming, without a word, leaves the offer trusting no one', async () => {
    const { offer, configDir: offerDir } = await offerOnLoopback();
    const { channel, socket, binding } = await provenJoiner(offer);
    await exchange(channel, await loadDeviceIdentity(deviceDir('silent'), 'phone'), [], { outDir: deviceDir('silent-out'), maxPayloadBytes: 1024, timeoutMs: 5000, confirmTrust: true, proveKey: { role: 'join', binding } });
    socket.destroy();
    const offered = await failure(offer.result);
    expect(offered.code).toBe('lan_trust_unconfirmed');
    expect(offered.message).toMatch(/^The connection to "phone" ended before it confirmed that it saved this device \(.*\), so this device did not keep "phone" as a trusted peer either/);
    expect(peerNames(offerDir)).toEqual([]);
  });

  // A pairgate from before the confirmation that proves its device key (`key-proof.test.ts`: one that does not is refused).
  it('still pairs with an older pairgate, which neither sends nor expects the confirmation', async () => {
    const { offer, configDir: offerDir } = await offerOnLoopback();
    const { channel, socket, binding } = await provenJoiner(offer);
    const old = await loadDeviceIdentity(deviceDir('old'), 'old phone');
    const exchanged = await exchange(channel, old, [], { outDir: deviceDir('out'), maxPayloadBytes: 1024, timeoutMs: 5000, proveKey: { role: 'join', binding } });
    expect(exchanged.peerConfirmsTrust).toBe(true); // the offer says it confirms; the old joiner ignores it
    socket.end();
    expect((await offer.result).trusted.name).toBe('old phone');
    expect(peerNames(offerDir)).toEqual(['old phone']);
  });
});
