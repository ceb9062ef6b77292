import { request } from 'node:https';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { BoxIdentity } from '../../../src/doors/registry/box-identity.js';
import type { DnsRuntime } from '../../../src/doors/dns/dns-door.js';
import type { TestApp } from '../../helpers/app.js';
import { createDnsApp, newBox } from './dns-helpers.js';

/** POST /register on the update API with `authorization`, with or without the box certificate. */
function register(runtime: DnsRuntime, box: BoxIdentity, authorization: string, withCertificate: boolean): Promise<{ status: number; json: Record<string, unknown> }> {
  const body = JSON.stringify({ fingerprint: box.fingerprint, local_origin: 'https://192.168.1.45' });
  return new Promise((resolve, reject) => {
    const req = request(`${runtime.updateApi!.url}/register`, {
      method: 'POST',
      ca: runtime.updateCertPem!,
      ...(withCertificate ? { key: box.keyPem, cert: box.certPem } : {}),
      headers: { 'content-type': 'application/json', authorization },
      agent: false,
    }, (res) => {
      let text = '';
      res.on('data', (chunk: Buffer) => { text += String(chunk); });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, json: JSON.parse(text) as Record<string, unknown> }));
    });
    req.on('error', reject);
    req.end(body);
  });
}

describe('the update API\'s POST /register and an Authorization: JWS header', () => {
  let t: TestApp;
  let runtime: DnsRuntime;
  let box: BoxIdentity;
  beforeAll(async () => {
    ({ t, runtime } = await createDnsApp());
    box = await newBox('jws');
  });
  afterAll(() => t.close());

  it('is proved by the client certificate alone: a JWS with empty parts is neither signature_missing nor signature_invalid', async () => {
    // With the certificate: registered, whatever the header (the JWS is the main listener's proof, not this one's).
    const withCertificate = await register(runtime, box, 'JWS ..', true);
    expect(withCertificate).toEqual({ status: 200, json: { status: 'registered' } });
    // Without it: the certificate is what is missing, and said so.
    const without = await register(runtime, box, 'JWS ..', false);
    expect(without.status).toBe(401);
    expect(without.json).toMatchObject({ code: 401, reason: 'client_certificate_required' });
  });
});
