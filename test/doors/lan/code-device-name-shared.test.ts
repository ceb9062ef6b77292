import { afterEach, describe, expect, it } from 'vitest';
import { joinWithCode } from '../../../src/doors/lan/code-join.js';
import { startAnnouncer } from '../../../src/doors/lan/discovery.js';
import type { Offer } from '../../../src/doors/lan/offer.js';
import { deviceDir, loopbackOffer } from './lan-fixtures.js';
import { freePort } from '../../helpers/ports.js';

/**
 * `lan join --code --device NAME` when two devices offering a code share that name (two
 * "laptop"s, or someone announcing a name they heard): the join used to take the first one heard,
 * prove the code meant for the other to it (a failed attempt counted on someone else's offer) and
 * fail with "wrong code", however carefully the code was typed. A name names one device or is
 * refused, naming the devices by id, as `peers` refuses a name two peers share.
 */
const loopback = { interfaceAddress: '127.0.0.1', port: await freePort(), intervalMs: 100 };
const aside = await freePort();

const offers: Offer[] = [];
const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  await Promise.all(offers.splice(0).map((o) => o.close()));
  for (const cleanup of cleanups.splice(0)) await cleanup();
});

async function codeOffer(name: string, discovery: typeof loopback) {
  const made = await loopbackOffer({ code: true, deviceName: name, configDir: deviceDir(`shared-${name}`), handshakeTimeoutMs: 5000, discovery });
  offers.push(made.offer);
  return made.offer;
}

describe('lan join --code --device NAME, the name shared by two code offers', () => {
  it('is refused as ambiguous, naming both ids, and proves the code to neither', async () => {
    const first = await codeOffer('attic', loopback);
    // The second offer announces where the joiner does not listen; it is announced by hand on the
    // joiner's port once the join has started, so the first is always the one heard first.
    const second = await codeOffer('attic', { ...loopback, port: aside });
    const secondId = second.description.deviceId;
    const joinDir = deviceDir('shared-join');
    const joining = joinWithCode(second.code!, { configDir: joinDir, outDir: joinDir, device: 'attic', discovery: loopback, discoveryTimeoutMs: 5000 })
      .then(() => undefined, (error: unknown) => error);
    await new Promise((resolve) => setTimeout(resolve, 300));
    const announcer = await startAnnouncer({ ...loopback, announcement: { deviceId: secondId, port: second.port, name: 'attic', code: true } });
    cleanups.push(() => announcer.stop());

    const failure = await joining;
    expect(failure).toMatchObject({ code: 'lan_ambiguous_device' });
    const message = (failure as Error).message;
    expect(message).toContain(first.description.deviceId);
    expect(message).toContain(secondId);
    expect(message).toContain('--device');
    expect(first.failures()).toBe(0);
    expect(second.failures()).toBe(0);
  }, 20_000);

  it('the id of one of them pairs with that one', async () => {
    await codeOffer('attic', loopback);
    const second = await codeOffer('attic', loopback);
    const joinDir = deviceDir('shared-join-id');
    const joined = await joinWithCode(second.code!, { configDir: joinDir, outDir: joinDir, device: second.description.deviceId, discovery: loopback, discoveryTimeoutMs: 5000 });
    expect(joined.peer.deviceId).toBe(second.description.deviceId);
    await second.result;
  }, 20_000);
});
