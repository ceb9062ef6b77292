import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DnsRuntime } from '../../../src/doors/dns/dns-door.js';
import type { TestApp } from '../../helpers/app.js';
import { createDnsApp, newBox, updateRequest, ZONE } from './dns-helpers.js';

/**
 * A record rewritten from another network moves to it (its row keeps where it was last written
 * from): that network's cap counts it. Exempt as a "replacement", two addresses held any number of
 * records: one wrote up to the cap, the other rewrote them all (taking them over unchecked), and the
 * first had its whole cap again, as often as the rate limit allowed.
 */
describe('DNS update API: the cap per network holds when records are rewritten from another network', () => {
  let t: TestApp;
  let runtime: DnsRuntime;
  beforeAll(async () => {
    ({ t, runtime } = await createDnsApp({ PAIRGATE_DNS_MAX_RECORDS_PER_IP: '2' }));
  });
  afterAll(() => t.close());

  it('a network takes over only as many records as its cap; the one they were written from may always rewrite them', async () => {
    const box = await newBox('mover');
    const name = (label: string) => `${label}.${box.fingerprint}.${ZONE}`;
    const write = async (localAddress: string, label: string, type: 'A' | 'TXT', value: string) => {
      const answer = await updateRequest(runtime, box, 'POST', name(label), { body: { type, value }, localAddress });
      return answer.status === 200 ? 'written' : (answer.json as { error: string }).error;
    };
    // 127.0.0.2 fills its cap; 127.0.0.3 takes both records over (its cap: 2).
    expect([await write('127.0.0.2', 'a', 'A', '10.0.0.1'), await write('127.0.0.2', 'b', 'TXT', 'one')]).toEqual(['written', 'written']);
    expect([await write('127.0.0.3', 'a', 'A', '10.0.0.2'), await write('127.0.0.3', 'b', 'TXT', 'one')]).toEqual(['written', 'written']);
    // 127.0.0.2 holds none now, so it writes two more.
    expect([await write('127.0.0.2', 'c', 'A', '10.0.0.3'), await write('127.0.0.2', 'd', 'TXT', 'two')]).toEqual(['written', 'written']);
    // 127.0.0.3 holds its two: taking over more is refused, an A or a TXT value alike.
    expect(await write('127.0.0.3', 'c', 'A', '10.0.0.4')).toBe('too_many_records_from_network');
    expect(await write('127.0.0.3', 'd', 'TXT', 'two')).toBe('too_many_records_from_network');
    // Each network may still rewrite the records it holds.
    expect(await write('127.0.0.3', 'a', 'A', '10.0.0.5')).toBe('written');
    expect(await write('127.0.0.3', 'b', 'TXT', 'one')).toBe('written');
    expect(await write('127.0.0.2', 'c', 'A', '10.0.0.6')).toBe('written');
    expect(await write('127.0.0.2', 'd', 'TXT', 'two')).toBe('written');
    const listed = await updateRequest(runtime, box, 'GET', `${box.fingerprint}.${ZONE}`, { localAddress: '127.0.0.2' });
    expect((listed.json as { records: unknown[] }).records).toHaveLength(4);
  });
});
