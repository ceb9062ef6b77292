import { createHash } from 'node:crypto';
import { readdirSync, writeFileSync } from 'node:fs';
import { join as joinPath } from 'node:path';
import tls from 'node:tls';
import { afterEach, describe, expect, it } from 'vitest';
import { proveCodeAsJoiner } from '../../../src/doors/lan/code-pake.js';
import { loadDeviceIdentity } from '../../../src/doors/lan/device-identity.js';
import { FramedChannel, type Frame } from '../../../src/doors/lan/frames.js';
import { makeKeyProof } from '../../../src/doors/lan/key-proof.js';
import type { Offer } from '../../../src/doors/lan/offer.js';
import { parsePairingCode } from '../../../src/doors/lan/pairing-code.js';
import { channelBinding } from '../../../src/doors/lan/secret-proof.js';
import { TRUST_CONFIRMATION } from '../../../src/doors/lan/session.js';
import { TrustedPeerStore } from '../../../src/doors/lan/trusted-peers.js';
import { deviceDir, loopbackOffer } from './lan-fixtures.js';

/**
 * A code joiner proves the code with its TLS key (bound into the PAKE) and then names, in its
 * identity, the key it asks to be trusted under. The offer checked that the two are the same only
 * after the payloads had been swapped: a joiner naming another key had the offer's file, and left
 * its own in the offer's --out. The check now comes before any payload goes either way.
 */

const offers: Offer[] = [];
const sockets: tls.TLSSocket[] = [];
afterEach(async () => {
  for (const socket of sockets.splice(0)) socket.destroy();
  await Promise.all(offers.splice(0).map((offer) => offer.close()));
});

async function codeOf(promise: Promise<unknown>): Promise<string | undefined> {
  try {
    await promise;
    return undefined;
  } catch (error) {
    return (error as { code?: string }).code ?? (error as Error).message;
  }
}

describe('a code joiner that names another key than the one it proved the code with', () => {
  it('is refused before the exchange: the offer sends no file and keeps none in --out', async () => {
    const offerDir = deviceDir('code-keyswap-offer');
    const outDir = deviceDir('code-keyswap-out');
    const offered = joinPath(deviceDir('code-keyswap-file'), 'offered.txt');
    writeFileSync(offered, 'the offer\'s file, for the device that proved the code\n');
    const { offer } = await loopbackOffer({ configDir: offerDir, outDir, payloadPath: offered, code: true, handshakeTimeoutMs: 5000 });
    offers.push(offer);

    // It proves the code with the key of one device it holds...
    const prover = await loadDeviceIdentity(deviceDir('code-keyswap-prover'), 'liar');
    const socket = tls.connect({ host: '127.0.0.1', port: offer.port, rejectUnauthorized: false, key: prover.keyPem, cert: prover.certPem });
    sockets.push(socket);
    socket.on('error', () => undefined);
    await new Promise((resolve) => socket.once('secureConnect', resolve));
    const channel = new FramedChannel(socket);
    await proveCodeAsJoiner(channel, socket, parsePairingCode(offer.code!), prover.spkiSha256, 5000);
    await channel.expect('welcome', 5000);

    // ...and names another one, whose key it holds too and proves (`key-proof.ts`), then sends its
    // file at once, as a joiner that waits for nothing does.
    const named = await loadDeviceIdentity(deviceDir('code-keyswap-named'), 'liar');
    const binding = channelBinding(socket);
    channel.send({
      t: 'identity', deviceId: named.deviceId, name: named.name, keySha256: named.spkiSha256.toString('base64url'), addresses: [],
      trust: TRUST_CONFIRMATION, keyProof: makeKeyProof(named, { role: 'join', binding }),
    });
    const content = Buffer.from('the joiner\'s file, which the offer must not keep\n');
    channel.send({ t: 'payload', name: 'planted.txt', size: content.length });
    await channel.sendData(content);
    channel.send({ t: 'payload-end', sha256: createHash('sha256').update(content).digest('hex') });
    channel.send({ t: 'done' });

    // Everything the offer sends until it closes.
    const frames: Frame[] = [];
    let ended: unknown;
    for (;;) {
      try {
        frames.push(await channel.receive(5000));
      } catch (error) {
        ended = error;
        break;
      }
    }

    expect(await codeOf(offer.result)).toBe('lan_protocol_error');
    // Its identity, then the refusal: no payload header, not a byte of its file.
    expect(frames.filter((frame) => frame.kind === 'data')).toEqual([]);
    expect(frames.map((frame) => (frame.kind === 'json' ? frame.message.t : 'data'))).toEqual(['identity', 'error']);
    expect(frames[1]).toMatchObject({ kind: 'json', message: { code: 'lan_protocol_error' } });
    expect(ended).toBeDefined();
    // Nothing of the joiner's kept in --out, not even a `.partial`; nobody trusted.
    expect(readdirSync(outDir)).toEqual([]);
    expect(new TrustedPeerStore(offerDir).list()).toHaveLength(0);
  });
});
