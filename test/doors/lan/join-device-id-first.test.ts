import { randomBytes } from 'node:crypto';
import { readdirSync, writeFileSync } from 'node:fs';
import { join as joinPath } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { decodeConnectionString } from '../../../src/doors/lan/connection-string.js';
import { join } from '../../../src/doors/lan/join.js';
import type { Offer } from '../../../src/doors/lan/offer.js';
import { TrustedPeerStore } from '../../../src/doors/lan/trusted-peers.js';
import { deviceDir, loopbackOffer } from './lan-fixtures.js';

/**
 * A connection string whose device id was mistyped (its key and secret right): the joiner refuses
 * the offer as another device than the string names. It did so only after the exchange, so both
 * files had gone across and stayed in each --out folder while both sides said nothing was saved.
 */
const offers: Offer[] = [];
afterEach(async () => {
  await Promise.all(offers.splice(0).map((o) => o.close()));
});

describe('join checks the device id before any payload', () => {
  it('refuses an offer with another id than the string names, with no file sent or received on either side', async () => {
    const files = deviceDir('id-first-files');
    const offerFile = joinPath(files, 'wifi.conf');
    const joinFile = joinPath(files, 'notes.txt');
    writeFileSync(offerFile, randomBytes(4096));
    writeFileSync(joinFile, randomBytes(4096));
    const offerOut = deviceDir('id-first-offer-out');
    const { offer, dir: offerDir } = await loopbackOffer({ payloadPath: offerFile, outDir: offerOut });
    offers.push(offer);
    const offerResult = offer.result.catch((error: unknown) => error);

    const info = decodeConnectionString(offer.connectionString);
    const mistyped = { ...info, deviceId: randomBytes(16).toString('base64url') };
    const joinDir = deviceDir('id-first-join');
    const failure = await join(mistyped, { configDir: joinDir, deviceName: 'phone', outDir: joinDir, payloadPath: joinFile, discovery: false })
      .catch((error: unknown) => error);
    expect((failure as { code?: string }).code).toBe('lan_protocol_error');
    expect((failure as Error).message).toMatch(/another id than the connection string names/);

    const offered = await offerResult;
    expect(offered).toBeInstanceOf(Error);
    // Neither file went across: nothing in either --out folder but what was there before.
    expect(readdirSync(joinDir).filter((name) => !/^(device|peers)\.json/.test(name))).toEqual([]);
    expect(readdirSync(offerOut)).toEqual([]);
    // And neither side trusts the other.
    expect(new TrustedPeerStore(joinDir).list()).toEqual([]);
    expect(new TrustedPeerStore(offerDir).list()).toEqual([]);
  });
});
