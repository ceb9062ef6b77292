import { describe, expect, it } from 'vitest';
import { MIRROR_REFRESH_MS, MirrorRecords } from '../../../src/doors/dns/mirror-records.js';
import { recorder } from './dns-helpers.js';

const fingerprint = 'h'.repeat(52);
const zone = 'box.example.test';

/**
 * The server removes records not written for PAIRGATE_DNS_RECORD_LIFETIME_DAYS. `box announce`
 * wrote its records once per run and again only when the address changed, so a box whose address
 * held for a month lost its names while it ran. It writes them again every MIRROR_REFRESH_MS (6 h).
 */
describe('MirrorRecords writes an unchanged address again every 6 hours', () => {
  it('nothing within the period; the active mirror and the main name once it has passed, the same name announced', async () => {
    let now = 1_800_000_000_000;
    const client = recorder();
    const mirrors = new MirrorRecords(client, { fingerprint, zone, now: () => now });
    const first = await mirrors.publish('192.168.1.5');
    expect(client.names).toEqual([`a.${fingerprint}.${zone}`, `local.${fingerprint}.${zone}`]);
    client.names.length = 0;

    now += MIRROR_REFRESH_MS - 1;
    expect(await mirrors.publish('192.168.1.5')).toEqual({ name: first.name, changed: false });
    expect(client.names).toEqual([]);

    now += 1;
    expect(await mirrors.publish('192.168.1.5')).toEqual({ name: first.name, changed: false });
    expect(client.names).toEqual([`a.${fingerprint}.${zone}`, `local.${fingerprint}.${zone}`]);
    client.names.length = 0;
    // The period starts over from that write.
    now += MIRROR_REFRESH_MS - 1;
    await mirrors.publish('192.168.1.5');
    expect(client.names).toEqual([]);
  });

  it('a clock stepped back writes them again rather than waiting as long', async () => {
    let now = 1_800_000_000_000;
    const client = recorder();
    const mirrors = new MirrorRecords(client, { fingerprint, zone, now: () => now, refreshMs: 60_000 });
    await mirrors.publish('192.168.1.5');
    client.names.length = 0;
    now -= 3_600_000;
    await mirrors.publish('192.168.1.5');
    expect(client.names).toEqual([`a.${fingerprint}.${zone}`, `local.${fingerprint}.${zone}`]);
  });
});
