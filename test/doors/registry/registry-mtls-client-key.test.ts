import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DnsRuntime } from '../../../src/doors/dns/dns-door.js';
import type { TestApp } from '../../helpers/app.js';
import { createDnsApp, newBox } from '../dns/dns-helpers.js';
import { clientCert, postJsonWithCert, type ClientCert } from './client-certificates.js';

/**
 * The registry's mutual-TLS `POST /register` takes the keys an announcement can be signed with,
 * as the update API on the same listener does for records: the TLS handshake takes any key
 * OpenSSL does, and an RSA-1024 box (whose JWS the other route refuses) was listed here.
 */
describe('the mutual-TLS announcement\'s client certificate keys', () => {
  let t: TestApp;
  let runtime: DnsRuntime;
  beforeAll(async () => {
    ({ t, runtime } = await createDnsApp({ PAIRGATE_REGISTRY_REGISTER_PER_MINUTE: '100', PAIRGATE_RATE_LIMIT_MAX: '10000' }));
  });
  afterAll(async () => {
    await t.close();
  });

  /** `POST /register` on the update listener, over a real TLS connection presenting `client`. */
  function announce(client: ClientCert, name = 'Kitchen'): Promise<{ status: number; json: any }> {
    return postJsonWithCert(`${runtime.updateApi!.url}/register`, client, runtime.updateCertPem, { fingerprint: client.fingerprint, local_origin: 'https://192.168.1.20:4443', name });
  }

  /** Whether `client` is listed for the loopback network the requests come from. */
  async function listed(client: ClientCert): Promise<boolean> {
    const ping = await t.app.inject({ method: 'GET', url: '/ping', remoteAddress: '127.0.0.1' });
    return (ping.json() as { client: string }[]).some((entry) => entry.client === client.fingerprint);
  }

  it('refuses an RSA-1024 client certificate: 401 client_key_too_weak (errno 160) in the registry\'s shape, saying what key to use', async () => {
    const weak = await clientCert({ name: 'RSASSA-PKCS1-v1_5', modulusLength: 1024 });
    const answer = await announce(weak);
    expect(answer.status).toBe(401);
    expect(answer.json).toMatchObject({ code: 401, errno: 160, error: 'Unauthorized', reason: 'client_key_too_weak' });
    expect(answer.json.message).toContain('1024 bits');
    expect(answer.json.message).toContain('P-256');
    expect(answer.json.message).toContain('2048');
    expect(await listed(weak)).toBe(false);
  });

  it('refuses a key on another curve (P-521) and an RSA-PSS key: 401 client_key_unsupported (errno 161)', async () => {
    const p521 = await clientCert({ name: 'ECDSA', namedCurve: 'P-521' });
    const onCurve = await announce(p521);
    expect(onCurve.status).toBe(401);
    expect(onCurve.json).toMatchObject({ code: 401, errno: 161, reason: 'client_key_unsupported' });
    expect(onCurve.json.message).toContain('secp521r1');
    // RSA-PSS of 2048 bits: strong enough, but it can sign no announcement (jose takes no such JWK).
    const pss = await clientCert({ name: 'RSA-PSS', modulusLength: 2048 });
    const restricted = await announce(pss);
    expect(restricted.status).toBe(401);
    expect(restricted.json).toMatchObject({ code: 401, errno: 161, reason: 'client_key_unsupported' });
    expect(restricted.json.message).toContain('RSA-PSS');
    expect(restricted.json.message).toContain('P-256');
    expect(await listed(p521)).toBe(false);
    expect(await listed(pss)).toBe(false);
  });

  it('lists a box whose certificate is RSA-2048 or P-384, as the JWS route would', async () => {
    for (const kind of [{ name: 'RSASSA-PKCS1-v1_5', modulusLength: 2048 }, { name: 'ECDSA', namedCurve: 'P-384' }] as const) {
      const box = await clientCert(kind);
      const answer = await announce(box);
      expect(answer.status, JSON.stringify(answer.json)).toBe(200);
      expect(answer.json).toEqual({ status: 'registered' });
      expect(await listed(box)).toBe(true);
    }
  });

  it('refuses a name with invisible characters here too, in the registry\'s shape (the same check as the JWS route)', async () => {
    const box = await newBox('kitchen');
    const answer = await announce(box, 'Kitc\u200bhen');
    expect(answer.status).toBe(400);
    expect(answer.json).toMatchObject({ code: 400, errno: 101, reason: 'validation_failed' });
    expect(answer.json.message).toMatch(/^body\.name must not contain control, invisible or text-direction characters/);
    expect(await listed(box)).toBe(false);
    expect((await announce(box, 'Küche 台所')).status).toBe(200);
  });
});
