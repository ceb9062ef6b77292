import { randomBytes } from 'node:crypto';
import tls from 'node:tls';
import { afterEach, describe, expect, it } from 'vitest';
import { loadDeviceIdentity, type DeviceIdentity } from '../../../src/doors/lan/device-identity.js';
import { FramedChannel } from '../../../src/doors/lan/frames.js';
import { join } from '../../../src/doors/lan/join.js';
import { checkKeyProof, makeKeyProof } from '../../../src/doors/lan/key-proof.js';
import type { Offer } from '../../../src/doors/lan/offer.js';
import { channelBinding, newNonce, secretProof } from '../../../src/doors/lan/secret-proof.js';
import { exchange, type ExchangeOptions } from '../../../src/doors/lan/session.js';
import { createTlsIdentity } from '../../../src/doors/lan/tls-identity.js';
import { TrustedPeerStore } from '../../../src/doors/lan/trusted-peers.js';
import { deviceDir, loopbackOffer, provenJoiner } from './lan-fixtures.js';

const offers: Offer[] = [];
const servers: tls.Server[] = [];
afterEach(async () => {
  await Promise.all(offers.splice(0).map((o) => o.close()));
  for (const server of servers.splice(0)) server.close();
});

const failure = (promise: Promise<unknown>) => promise.then(() => { throw new Error('expected a failure'); }, (error: Error & { code?: string }) => error);
const pinOf = (device: DeviceIdentity) => device.spkiSha256.toString('base64url');
const codeOfThrow = (run: () => void) => {
  try {
    run();
  } catch (error) {
    return (error as { code?: string }).code;
  }
  return 'no error';
};

describe('key proofs', () => {
  it('a proof made as one role on one session checks only as that role on that session, for that key', async () => {
    const phone = await loadDeviceIdentity(deviceDir('kp-phone'), 'phone');
    const other = await loadDeviceIdentity(deviceDir('kp-other'), 'other');
    const binding = randomBytes(32);
    const proof = makeKeyProof(phone, { role: 'join', binding });
    expect(() => checkKeyProof(proof, pinOf(phone), { role: 'join', binding })).not.toThrow();
    expect(codeOfThrow(() => checkKeyProof(proof, pinOf(phone), { role: 'offer', binding }))).toBe('lan_key_not_proven');
    expect(codeOfThrow(() => checkKeyProof(proof, pinOf(phone), { role: 'join', binding: randomBytes(32) }))).toBe('lan_key_not_proven');
    expect(codeOfThrow(() => checkKeyProof(proof, pinOf(other), { role: 'join', binding }))).toBe('lan_key_not_proven');
    // The other device's public key with this one's signature: the key matches the pin, the signature not.
    const swapped = { ...proof, publicKey: makeKeyProof(other, { role: 'join', binding }).publicKey };
    expect(codeOfThrow(() => checkKeyProof(swapped, pinOf(other), { role: 'join', binding }))).toBe('lan_key_not_proven');
  });

  it('whatever the other device sends as a proof, the answer is lan_key_not_proven, never another throw', async () => {
    const phone = await loadDeviceIdentity(deviceDir('kp-junk'), 'phone');
    const binding = randomBytes(32);
    const good = makeKeyProof(phone, { role: 'offer', binding });
    const junk: unknown[] = [
      undefined, null, 'proof', 7, [], {}, { publicKey: good.publicKey }, { signature: good.signature },
      { publicKey: 5, signature: good.signature }, { publicKey: good.publicKey, signature: {} },
      { publicKey: 'not-der', signature: good.signature }, { publicKey: good.publicKey, signature: 'AAAA' },
      { publicKey: 'A'.repeat(100_000), signature: good.signature }, { publicKey: good.publicKey, signature: '' },
    ];
    for (const proof of junk) expect(codeOfThrow(() => checkKeyProof(proof, pinOf(phone), { role: 'offer', binding }))).toBe('lan_key_not_proven');
    const missing = (() => {
      try {
        checkKeyProof(undefined, pinOf(phone), { role: 'offer', binding });
      } catch (error) {
        return (error as Error).message;
      }
      return '';
    })();
    expect(missing).toContain('an older pairgate sends no such proof: update it there, then pair again');
  });
});

describe('the offer trusts a joiner only under a device key it proved it holds', () => {
  async function offerOnLoopback() {
    const made = await loopbackOffer();
    offers.push(made.offer);
    return made;
  }
  const options = (label: string): ExchangeOptions => ({ outDir: deviceDir(label), maxPayloadBytes: 1024, timeoutMs: 5000, confirmTrust: true });

  it('a joiner naming another device\'s key, signing with its own: refused, nothing saved', async () => {
    const { offer, dir } = await offerOnLoopback();
    const { channel, socket } = await provenJoiner(offer);
    const liar = await loadDeviceIdentity(deviceDir('liar'), 'phone');
    const victim = await loadDeviceIdentity(deviceDir('victim'), 'victim');
    const lie = exchange(channel, { ...liar, spkiSha256: victim.spkiSha256 }, [], { ...options('liar-out'), proveKey: { role: 'join', binding: channelBinding(socket) } });
    const offered = await failure(offer.result);
    expect(offered.code).toBe('lan_key_not_proven');
    expect(offered.message).toContain('did not prove it holds');
    // The liar hears why.
    const told = await failure(lie);
    expect(told.code).toBe('lan_key_not_proven');
    expect(told.message).toBe('The other device refused: this device did not prove it holds the device key it named.');
    expect(new TrustedPeerStore(dir).list()).toEqual([]);
    socket.destroy();
  });

  it('a joiner that sends no proof (an older pairgate, or one that cannot make it): refused, and told to update', async () => {
    const { offer, dir } = await offerOnLoopback();
    const { channel, socket } = await provenJoiner(offer);
    const old = await loadDeviceIdentity(deviceDir('old'), 'old phone');
    void exchange(channel, old, [], options('old-out')).catch(() => undefined);
    const offered = await failure(offer.result);
    expect(offered.code).toBe('lan_key_not_proven');
    expect(offered.message).toContain('update it there');
    expect(new TrustedPeerStore(dir).list()).toEqual([]);
    socket.destroy();
  });

  it('a signature from another session (replayed) does not prove the key on this one', async () => {
    const { offer, dir } = await offerOnLoopback();
    const { channel, socket } = await provenJoiner(offer);
    const phone = await loadDeviceIdentity(deviceDir('replay'), 'phone');
    // What an eavesdropper of an earlier pairing of "phone" could have kept: its proof on that session.
    const recorded = makeKeyProof(phone, { role: 'join', binding: randomBytes(32) });
    channel.send({ t: 'identity', deviceId: phone.deviceId, name: phone.name, keySha256: pinOf(phone), addresses: [], keyProof: recorded });
    expect((await failure(offer.result)).code).toBe('lan_key_not_proven');
    expect(new TrustedPeerStore(dir).list()).toEqual([]);
    socket.destroy();
  });

  it('a genuine join proves both keys, and each side stores the other\'s device key', async () => {
    const { offer, dir } = await offerOnLoopback();
    const joinDir = deviceDir('genuine');
    const joined = await join(offer.connectionString, { configDir: joinDir, deviceName: 'phone', outDir: joinDir, discovery: false });
    const offered = await offer.result;
    const phone = await loadDeviceIdentity(joinDir);
    const laptop = await loadDeviceIdentity(dir);
    expect(offered.trusted.keySha256).toBe(pinOf(phone));
    expect(joined.trusted.keySha256).toBe(pinOf(laptop));
    expect(new TrustedPeerStore(dir).list().map((p) => p.keySha256)).toEqual([pinOf(phone)]);
  });
});

describe('the joiner trusts an offer only under a device key it proved it holds', () => {
  /**
   * A hand-rolled offer: a TLS listener with its own session key that proves the secret like a
   * real offer, then names `claimed`'s device key while holding `holder`'s.
   */
  async function lyingOffer(holder: DeviceIdentity, claimed: DeviceIdentity) {
    const session = await createTlsIdentity('lying offer', 600);
    const secret = randomBytes(32);
    const server = tls.createServer({ key: session.keyPem, cert: session.certPem }, (socket) => {
      const channel = new FramedChannel(socket);
      void (async () => {
        const hello = await channel.expect('hello', 5000);
        const joinNonce = Buffer.from(String(hello.nonce), 'base64url');
        const offerNonce = newNonce();
        const binding = channelBinding(socket);
        channel.send({ t: 'challenge', nonce: offerNonce.toString('base64url'), proof: secretProof(secret, 'offer', offerNonce, joinNonce, binding).toString('base64url') });
        await channel.expect('proof', 5000);
        channel.send({ t: 'welcome' });
        await exchange(channel, { ...holder, deviceId: claimed.deviceId, spkiSha256: claimed.spkiSha256 }, [], {
          outDir: deviceDir('lying-offer-out'), maxPayloadBytes: 1024, timeoutMs: 5000, confirmTrust: true, proveKey: { role: 'offer', binding },
        });
      })().catch(() => socket.destroy());
    });
    servers.push(server);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const port = (server.address() as { port: number }).port;
    return { addresses: ['127.0.0.1'], port, keySha256: session.spkiSha256, secret, deviceId: claimed.deviceId, name: claimed.name };
  }

  it('an offer naming another device\'s key: the join fails with lan_key_not_proven and trusts no one', async () => {
    const mallory = await loadDeviceIdentity(deviceDir('mallory'), 'mallory');
    const victim = await loadDeviceIdentity(deviceDir('victim-offer'), 'laptop');
    const info = await lyingOffer(mallory, victim);
    const joinDir = deviceDir('fooled');
    const joined = await failure(join(info, { configDir: joinDir, deviceName: 'phone', outDir: joinDir, discovery: false }));
    expect(joined.code).toBe('lan_key_not_proven');
    expect(new TrustedPeerStore(joinDir).list()).toEqual([]);
  });
});
