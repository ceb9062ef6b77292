import { request } from 'node:https';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { BoxIdentity } from '../../../src/doors/registry/box-identity.js';
import type { DnsRuntime } from '../../../src/doors/dns/dns-door.js';
import { dnsPath } from '../../../src/sdk/dns-update.js';
import type { TestApp } from '../../helpers/app.js';
import { createDnsApp, newBox, ZONE } from './dns-helpers.js';

/**
 * Records are durable and box keys cost nothing: with only a cap per box, one address made a
 * fresh key for every 64 records and filled the database for good (120 writes a minute, none
 * ever expiring). The records written from one network (IPv4 address, IPv6 /64) are capped too.
 */
describe('DNS update API: records written from one network are capped', () => {
  let t: TestApp;
  let runtime: DnsRuntime;
  beforeAll(async () => {
    ({ t, runtime } = await createDnsApp({ PAIRGATE_DNS_MAX_RECORDS_PER_BOX: '4', PAIRGATE_DNS_MAX_RECORDS_PER_IP: '6' }));
  });
  afterAll(() => t.close());

  /** Sets a record as `box`, connecting from `localAddress`; the status and error code. */
  const set = (box: BoxIdentity, localAddress: string, label: string, value: string) =>
    new Promise<{ status: number; code: string | undefined }>((resolve, reject) => {
      const body = JSON.stringify({ type: 'A', value });
      const req = request(`${runtime.updateApi!.url}/v1/dns/${dnsPath(`${label}.${box.fingerprint}.${ZONE}`)}`, {
        method: 'POST', key: box.keyPem, cert: box.certPem, ca: runtime.updateCertPem, agent: false, localAddress,
        headers: { 'content-type': 'application/json' },
      }, (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => (text += chunk));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, code: res.statusCode === 200 ? undefined : (JSON.parse(text) as { error: string }).error }));
      });
      req.on('error', reject);
      req.end(body);
    });

  it('fresh keys do not buy more records from the same address; another address still writes; replacing a record is always allowed', async () => {
    const boxes = await Promise.all([newBox('n1'), newBox('n2'), newBox('n3')]);
    const results = [];
    for (const box of boxes) for (const label of ['a', 'b', 'c']) results.push(await set(box, '127.0.0.1', label, '10.0.0.1'));
    expect(results.slice(0, 6).every((r) => r.status === 200)).toBe(true);
    expect(results.slice(6)).toEqual([
      { status: 400, code: 'too_many_records_from_network' },
      { status: 400, code: 'too_many_records_from_network' },
      { status: 400, code: 'too_many_records_from_network' },
    ]);
    // A box whose records are there may still change them (a new address replaces the old one).
    expect(await set(boxes[0]!, '127.0.0.1', 'a', '10.0.0.2')).toEqual({ status: 200, code: undefined });
    // Another network is not held back by this one.
    expect(await set(boxes[2]!, '127.0.0.2', 'a', '10.0.0.3')).toEqual({ status: 200, code: undefined });
  });
});
