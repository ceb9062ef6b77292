import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DnsRuntime } from '../../../src/doors/dns/dns-door.js';
import { dnsPath } from '../../../src/sdk/dns-update.js';
import type { TestApp } from '../../helpers/app.js';
import { createDnsApp, ZONE } from './dns-helpers.js';
import { clientCert, postJsonWithCert, type ClientCert } from '../registry/client-certificates.js';

/** POST an A record at local.<fp>.<zone> over a real TLS connection presenting `client`. */
function postRecord(runtime: DnsRuntime, client: ClientCert): Promise<{ status: number; json: any }> {
  return postJsonWithCert(`${runtime.updateApi!.url}/v1/dns/${dnsPath(`local.${client.fingerprint}.${ZONE}`)}`, client, runtime.updateCertPem, { type: 'A', value: '192.0.2.7' });
}

describe('the update API\'s client certificate keys', () => {
  let t: TestApp;
  let runtime: DnsRuntime;
  beforeAll(async () => {
    ({ t, runtime } = await createDnsApp());
  });
  afterAll(async () => {
    await t.close();
  });

  it('refuses an RSA-1024 client certificate with 401 client_key_too_weak, saying what key to use', async () => {
    const weak = await clientCert({ name: 'RSASSA-PKCS1-v1_5', modulusLength: 1024 });
    const answer = await postRecord(runtime, weak);
    expect(answer.status).toBe(401);
    expect(answer.json.error).toBe('client_key_too_weak');
    expect(answer.json.message).toContain('1024 bits');
    expect(answer.json.message).toContain('P-256');
    expect(answer.json.message).toContain('2048');
    expect(await runtime.records.ofOwner(weak.fingerprint)).toEqual([]);
  });

  it('refuses an EC key on a curve the registry does not take (P-521) with 401 client_key_unsupported', async () => {
    const answer = await postRecord(runtime, await clientCert({ name: 'ECDSA', namedCurve: 'P-521' }));
    expect(answer.status).toBe(401);
    expect(answer.json.error).toBe('client_key_unsupported');
    expect(answer.json.message).toContain('secp521r1');
    expect(answer.json.message).toContain('P-256');
  });

  it('refuses an RSA-PSS key (id-RSASSA-PSS) with 401 client_key_unsupported: it can sign no announcement, so the registry takes none', async () => {
    const pss = await clientCert({ name: 'RSA-PSS', modulusLength: 2048 });
    const answer = await postRecord(runtime, pss);
    expect(answer.status).toBe(401);
    expect(answer.json.error).toBe('client_key_unsupported');
    expect(answer.json.message).toContain('RSA-PSS');
    expect(answer.json.message).toContain('P-256');
    expect(await runtime.records.ofOwner(pss.fingerprint)).toEqual([]);
  });

  it('takes RSA-2048 and P-384 keys, as the registry does', async () => {
    for (const algorithm of [{ name: 'RSASSA-PKCS1-v1_5', modulusLength: 2048 }, { name: 'ECDSA', namedCurve: 'P-384' }] as const) {
      const answer = await postRecord(runtime, await clientCert(algorithm));
      expect(answer.status, algorithm.name).toBe(200);
      expect(answer.json).toMatchObject({ type: 'A', value: '192.0.2.7' });
    }
  });
});
