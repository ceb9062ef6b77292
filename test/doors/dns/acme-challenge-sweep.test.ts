import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ManualClock } from '../../../src/core/clock.js';
import { dnsRuntimeOf, type DnsRuntime } from '../../../src/doors/dns/dns-door.js';
import { ACME_CHALLENGE_LIFETIME_MS } from '../../../src/doors/dns/dns-records.js';
import { createTestApp, type TestApp } from '../../helpers/app.js';
import { newBox, resolverFor, ZONE } from './dns-helpers.js';

/**
 * ACME challenges a client never removed (it crashed between setting and cleaning up) go after an
 * hour, swept by the running server; the box's other records, and fresh challenges, stay.
 */
describe('the DNS door sweeps ACME challenges left behind', () => {
  const clock = new ManualClock(Date.now());
  let t: TestApp;
  let runtime: DnsRuntime;
  beforeAll(async () => {
    t = await createTestApp({ PAIRGATE_DNS_ZONE: ZONE, PAIRGATE_DNS_PORT: '0', PAIRGATE_DNS_UPDATE_PORT: '0', PAIRGATE_SWEEP_SECONDS: '1' }, { clock });
    runtime = dnsRuntimeOf(t.app.pairgate)!;
  });
  afterAll(() => t.close());

  it('an hour-old challenge is gone within a sweep; a fresh one and other TXT records stay', async () => {
    const box = await newBox();
    const owner = box.fingerprint;
    const base = `${owner}.${ZONE}`;
    const put = (name: string, value: string, at: number) => runtime.records.put({ name, type: 'TXT', value, ttl: 60, owner, network: '127.0.0.1' }, at);
    await put(`_acme-challenge.${base}`, 'left-behind', clock.now() - ACME_CHALLENGE_LIFETIME_MS - 1_000);
    await put(`_acme-challenge.www.${base}`, 'left-behind-too', clock.now() - ACME_CHALLENGE_LIFETIME_MS - 1_000);
    await put(`_acme-challenge.${base}`, 'in-progress', clock.now() - 60_000);
    await put(`notes.${base}`, 'old but not a challenge', clock.now() - 10 * ACME_CHALLENGE_LIFETIME_MS);
    await put(`xacme-challenge.${base}`, 'a look-alike label', clock.now() - 10 * ACME_CHALLENGE_LIFETIME_MS);

    const resolver = resolverFor(runtime.dns.port);
    const txt = async (name: string) => (await resolver.resolveTxt(name).catch(() => [])).map((chunks) => chunks.join(''));
    for (let i = 0; i < 40 && (await txt(`_acme-challenge.www.${base}`)).length > 0; i++) await new Promise((resolve) => setTimeout(resolve, 100));
    expect(await txt(`_acme-challenge.www.${base}`)).toEqual([]);
    expect(await txt(`_acme-challenge.${base}`)).toEqual(['in-progress']);
    expect(await txt(`notes.${base}`)).toEqual(['old but not a challenge']);
    expect(await txt(`xacme-challenge.${base}`)).toEqual(['a look-alike label']);
  });
});
