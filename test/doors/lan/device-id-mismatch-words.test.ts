import { randomBytes } from 'node:crypto';
import { afterEach, describe, expect, it } from 'vitest';
import { decodeConnectionString } from '../../../src/doors/lan/connection-string.js';
import { OTHER_DEVICE_NAMED, remoteError } from '../../../src/doors/lan/frames.js';
import { join } from '../../../src/doors/lan/join.js';
import { DEVICE_ID_MISMATCH_REASON, DeviceIdMismatchError, PROTOCOL_REFUSED_STEP, withNextStep } from '../../../src/doors/lan/lan-errors.js';
import type { Offer } from '../../../src/doors/lan/offer.js';
import { noticeForPeer } from '../../../src/doors/lan/peer-failure.js';
import { deviceDir, loopbackOffer } from './lan-fixtures.js';

/**
 * A joiner refuses an offer whose device id is not the one its connection string (or the code's
 * announcement) names. The offer read that as every `lan_protocol_error` refusal: "Both ends run
 * pairgate, but maybe versions that cannot talk to each other: update pairgate ...", advice that
 * fixes nothing here. It is told why now (`reason` beside the code, which stays
 * `lan_protocol_error`: the lan codes are a closed list each pairgate knows by name), and says it.
 */
const offers: Offer[] = [];
afterEach(async () => {
  await Promise.all(offers.splice(0).map((o) => o.close()));
});

/** The error as the CLI prints it: with its next step, if any. */
const shown = (error: unknown) => withNextStep(error) as Error & { code?: string };

describe('a device refused for its id is told so, not to update pairgate', () => {
  it('the offer a mistyped device id reaches says the string named another device and what to do', async () => {
    const { offer } = await loopbackOffer();
    offers.push(offer);
    const offerResult = offer.result.catch((error: unknown) => error);
    const info = decodeConnectionString(offer.connectionString);
    const mistyped = { ...info, deviceId: randomBytes(16).toString('base64url') };
    const joinDir = deviceDir('id-words-join');
    const joined = shown(await join(mistyped, { configDir: joinDir, deviceName: 'phone', outDir: joinDir, discovery: false }).catch((error: unknown) => error));
    expect(joined.code).toBe('lan_protocol_error');
    expect(joined.message).toMatch(/another id than the connection string names/);
    expect(joined.message).not.toContain(PROTOCOL_REFUSED_STEP);

    const offered = shown(await offerResult);
    expect(offered.code).toBe('lan_protocol_error');
    expect(offered.message).toBe(OTHER_DEVICE_NAMED);
    expect(offered.message).not.toMatch(/update pairgate|versions/);
  });

  it('reads `reason` only from an authenticated end, and only under lan_protocol_error', () => {
    const message = { t: 'error', code: 'lan_protocol_error', message: 'anything', reason: DEVICE_ID_MISMATCH_REASON };
    expect(remoteError(message).message).toBe(OTHER_DEVICE_NAMED);
    expect(shown(remoteError({ ...message, reason: undefined })).message).toContain(PROTOCOL_REFUSED_STEP);
    // Before the other end proved the secret or code, nothing it says is taken but its code.
    expect(remoteError(message, false).message).not.toBe(OTHER_DEVICE_NAMED);
    expect(remoteError({ ...message, code: 'lan_wrong_secret' }).message).not.toBe(OTHER_DEVICE_NAMED);
  });

  it('the refusing side sends the reason beside the unchanged code', () => {
    expect(noticeForPeer(new DeviceIdMismatchError('The device has another id.'))).toEqual({
      code: 'lan_protocol_error', message: 'The device has another id.', reason: DEVICE_ID_MISMATCH_REASON,
    });
  });
});
