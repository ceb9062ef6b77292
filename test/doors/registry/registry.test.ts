import { createPrivateKey, createPublicKey } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CompactSign } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ManualClock } from '../../../src/core/clock.js';
import { initBoxIdentity, type BoxIdentity } from '../../../src/doors/registry/box-identity.js';
import { RegistryClient, signAnnouncement } from '../../../src/sdk/registry.js';
import { PairgateApiError } from '../../../src/sdk/errors.js';
import { createTestApp, type TestApp } from '../../helpers/app.js';
import { httpFrom } from '../../helpers/http-from.js';

/** Two "networks": callers from 127.0.0.1 and from 127.0.0.2 have different public IPs. */
const HOME = '127.0.0.1';
const ELSEWHERE = '127.0.0.2';

async function box(name: string): Promise<BoxIdentity> {
  return initBoxIdentity(join(mkdtempSync(join(tmpdir(), 'pairgate-reg-')), name), { name });
}

describe('registry over real sockets', () => {
  let t: TestApp;
  let base: string;
  let kitchen: BoxIdentity;
  let attic: BoxIdentity;
  const clock = new ManualClock(Date.now());

  async function announce(from: string, identity: BoxIdentity, body: unknown, sign: BoxIdentity = identity, options: { withCertificate?: boolean } = {}) {
    const raw = JSON.stringify(body);
    const authorization = await signAnnouncement(sign, raw, { now: clock.now(), ...options });
    return httpFrom(from, `${base}/register`, { method: 'POST', body: raw, headers: { authorization } });
  }

  beforeAll(async () => {
    t = await createTestApp({ PAIRGATE_REGISTRY_REGISTER_PER_MINUTE: '20', PAIRGATE_RATE_LIMIT_MAX: '10000' }, { clock });
    base = await t.listen();
    [kitchen, attic] = await Promise.all([box('kitchen'), box('attic')]);
  });
  afterAll(() => t.close());

  it('register (Mozilla shape) then ping from the same address lists the box; another address sees nothing', async () => {
    const message = JSON.stringify({ local_origin: 'https://192.168.1.20:4443', tunnel_origin: null });
    const registered = await announce(HOME, kitchen, { client: kitchen.fingerprint, message });
    expect(registered.status, registered.text).toBe(200);
    expect(registered.json).toEqual({ status: 'registered' });

    const home = await httpFrom(HOME, `${base}/ping`);
    expect(home.status).toBe(200);
    expect(home.headers['access-control-allow-origin']).toBe('*');
    expect(home.json).toEqual([{ public_ip: HOME, client: kitchen.fingerprint, message, timestamp: clock.now() }]);

    const other = await httpFrom(ELSEWHERE, `${base}/ping`);
    expect(other.status).toBe(200);
    expect(other.json).toEqual([]);
  });

  it('the structured form, from another address, is listed only there', async () => {
    const res = await announce(ELSEWHERE, attic, { fingerprint: attic.fingerprint, local_origin: 'https://10.0.0.5', name: 'Attic box' });
    expect(res.status, res.text).toBe(200);
    const there = await httpFrom(ELSEWHERE, `${base}/ping`);
    expect(there.json).toHaveLength(1);
    expect(there.json[0].client).toBe(attic.fingerprint);
    expect(JSON.parse(there.json[0].message)).toEqual({ local_origin: 'https://10.0.0.5', tunnel_origin: null, name: 'Attic box' });
    const home = await httpFrom(HOME, `${base}/ping`);
    expect(home.json.map((e: any) => e.client)).toEqual([kitchen.fingerprint]);
  });

  it('a refused body names the field of its own form and what it takes (a bad local_origin was told that client is required)', async () => {
    const refused = async (body: unknown) => {
      // From an address of its own: the other tests spend HOME's announcements per minute.
      const res = await announce('127.0.0.3', kitchen, body);
      expect(res.status, res.text).toBe(400);
      expect(res.json).toMatchObject({ code: 400, errno: 101, reason: 'validation_failed' });
      return (res.json as { message: string }).message;
    };
    expect(await refused({ fingerprint: kitchen.fingerprint, local_origin: 'foo' })).toBe('body.local_origin: "foo" is not an http:// or https:// URL (e.g. https://192.168.1.20:4443).');
    expect(await refused({ fingerprint: kitchen.fingerprint, local_origin: 'https://10.0.0.5', tunnel_origin: 'tunnel' })).toBe('body.tunnel_origin: "tunnel" is not an http:// or https:// URL, or null.');
    expect(await refused({ fingerprint: 'ABC', local_origin: 'https://10.0.0.5' })).toMatch(/^body\.fingerprint: "ABC" is not a box fingerprint: 52 characters a-z and 2-7/);
    expect(await refused({ client: kitchen.fingerprint.slice(1), message: 'x' })).toMatch(/^body\.client: ".{51}" is not a box fingerprint/);
    expect(await refused({ fingerprint: kitchen.fingerprint })).toBe('body: "local_origin" is required.');
    expect(await refused({ client: kitchen.fingerprint, message: 'x', local_origin: 'https://10.0.0.5' })).toBe('body: "local_origin" is not an accepted field of the form {client, message}.');
    expect(await refused({ local_origin: 'https://10.0.0.5' })).toBe('body: give "client" and "message" (Project Link\'s form) or "fingerprint" and "local_origin" (the structured one).');
  });

  it('a box cannot announce a foreign fingerprint, nor without or with a broken signature', async () => {
    const foreign = await announce(HOME, kitchen, { client: attic.fingerprint, message: 'evil' }, kitchen);
    expect(foreign.status).toBe(401);
    expect(foreign.json).toMatchObject({ code: 401, errno: 113, error: 'Unauthorized', reason: 'fingerprint_mismatch' });

    const unsigned = await httpFrom(HOME, `${base}/register`, { method: 'POST', body: JSON.stringify({ client: kitchen.fingerprint, message: 'x' }) });
    expect(unsigned.status).toBe(401);
    expect(unsigned.json.reason).toBe('signature_missing');
    // From an address of their own, so that the announcements of the other tests keep their rate budget.
    const malformedFrom = '127.0.0.9';
    const otherScheme = await httpFrom(malformedFrom, `${base}/register`, { method: 'POST', body: JSON.stringify({ client: kitchen.fingerprint, message: 'x' }), headers: { authorization: 'Bearer abc' } });
    expect(otherScheme.json.reason).toBe('signature_missing');
    // A JWS was sent, but a malformed one: the signature is wrong, not absent.
    for (const authorization of ['JWS ..', 'JWS a.b.', 'JWS', 'JWS a.b.c d']) {
      const malformed = await httpFrom(malformedFrom, `${base}/register`, { method: 'POST', body: JSON.stringify({ client: kitchen.fingerprint, message: 'x' }), headers: { authorization } });
      expect(malformed.status, authorization).toBe(401);
      expect(malformed.json, authorization).toMatchObject({ errno: 112, reason: 'signature_invalid' });
    }
    // Signed rightly by the box, over a payload that is JSON but no object of claims (`null` was a 500).
    const jwk = createPublicKey(kitchen.keyPem).export({ format: 'jwk' });
    for (const payload of ['null', '7', '"claims"', '[]', 'true']) {
      const jws = await new CompactSign(new TextEncoder().encode(payload)).setProtectedHeader({ alg: 'ES256', jwk: jwk as never }).sign(createPrivateKey(kitchen.keyPem));
      const notClaims = await httpFrom(malformedFrom, `${base}/register`, { method: 'POST', body: JSON.stringify({ client: kitchen.fingerprint, message: 'x' }), headers: { authorization: `JWS ${jws}` } });
      expect(notClaims.status, payload).toBe(401);
      expect(notClaims.json, payload).toMatchObject({ reason: 'signature_invalid' });
    }

    // A valid signature over another body (a captured header reused with changed content).
    const authorization = await signAnnouncement(kitchen, JSON.stringify({ client: kitchen.fingerprint, message: 'a' }), { now: clock.now() });
    const swapped = await httpFrom(HOME, `${base}/register`, { method: 'POST', body: JSON.stringify({ client: kitchen.fingerprint, message: 'b' }), headers: { authorization } });
    expect(swapped.status).toBe(401);
    expect(swapped.json.reason).toBe('body_mismatch');

    // The same signed request twice: the second is a replay.
    const raw = JSON.stringify({ client: kitchen.fingerprint, message: 'once' });
    const once = await signAnnouncement(kitchen, raw, { now: clock.now() });
    expect((await httpFrom(HOME, `${base}/register`, { method: 'POST', body: raw, headers: { authorization: once } })).status).toBe(200);
    const replay = await httpFrom(ELSEWHERE, `${base}/register`, { method: 'POST', body: raw, headers: { authorization: once } });
    expect(replay.status).toBe(401);
    expect(replay.json.reason).toBe('signature_replayed');

    // A stale signature.
    const stale = await signAnnouncement(kitchen, raw, { now: clock.now() - 3_600_000 });
    expect((await httpFrom(HOME, `${base}/register`, { method: 'POST', body: raw, headers: { authorization: stale } })).json.reason).toBe('signature_expired');

    // Garbage in the header and in the body: 4xx, never 5xx.
    expect((await httpFrom(HOME, `${base}/register`, { method: 'POST', body: raw, headers: { authorization: 'JWS a.b.c' } })).status).toBe(401);
    const badJson = await httpFrom(HOME, `${base}/register`, { method: 'POST', body: '{"client":', headers: { authorization: once } });
    expect(badJson.status).toBe(400);
    expect(badJson.json).toMatchObject({ code: 400, errno: 102, reason: 'invalid_json' });
    // A body poisoning a prototype: refused as everywhere in pairgate, in the registry's shape.
    const poisoned = await httpFrom(HOME, `${base}/register`, { method: 'POST', body: '{"client":"x","message":"m","__proto__":{"admin":true}}', headers: { authorization: once } });
    expect(poisoned.status).toBe(400);
    expect(poisoned.json).toMatchObject({ code: 400, reason: 'body_forbidden_key' });
    const empty = await httpFrom(HOME, `${base}/register`, { method: 'POST', body: '', headers: { authorization: once, 'content-type': 'application/json' } });
    expect(empty.status).toBe(400);
    const badFp = await announce(HOME, kitchen, { client: 'NOT-A-FINGERPRINT', message: 'x' });
    expect(badFp.status).toBe(400);
    expect(badFp.json.code).toBe(400);
  });

  it('legacy SHA-1 fingerprints are refused unless configured', async () => {
    const res = await announce(HOME, kitchen, { client: kitchen.legacyFingerprint, message: 'legacy' }, kitchen, { withCertificate: true });
    expect(res.status).toBe(400);
    expect(res.json.reason).toBe('legacy_fingerprint_disabled');
  });

  it('announcements expire after 120 s; re-announcing keeps a box listed', async () => {
    clock.advance(61_000);
    const again = await announce(HOME, kitchen, { client: kitchen.fingerprint, message: 'refreshed' });
    expect(again.status).toBe(200);
    clock.advance(61_000); // the attic box announced 122 s ago, the kitchen 61 s ago
    expect((await httpFrom(ELSEWHERE, `${base}/ping`)).json).toEqual([]);
    expect((await httpFrom(HOME, `${base}/ping`)).json.map((e: any) => e.message)).toEqual(['refreshed']);
    clock.advance(60_000);
    expect((await httpFrom(HOME, `${base}/ping`)).json).toEqual([]);
  });

  it('the boxes page lists the boxes behind the visitor with safe links only', async () => {
    const evil = await box('evil');
    await announce(HOME, kitchen, { client: kitchen.fingerprint, message: JSON.stringify({ local_origin: 'https://192.168.1.20', name: '<b>Kitchen</b>' }) });
    await announce(HOME, evil, { client: evil.fingerprint, message: JSON.stringify({ local_origin: 'javascript:alert(1)', name: 'Evil' }) });
    const page = await httpFrom(HOME, `${base}/boxes`);
    expect(page.status).toBe(200);
    expect(page.headers['content-type']).toMatch(/text\/html/);
    expect(page.text).toContain('href="https://192.168.1.20/"');
    expect(page.text).toContain('&lt;b&gt;Kitchen&lt;/b&gt;');
    expect(page.text).not.toContain('javascript:');
    // Each box's fingerprint shown in words beside its name, with why it matters (a name can be copied).
    expect(page.text).toContain(`<span class="muted">Fingerprint</span> <code>${kitchen.fingerprint}</code>`);
    expect(page.text).toContain('check that it is the one your box shows');
    expect(page.text).not.toMatch(/<script(?![^>]*src="\/static\/)/); // only the pages' own scripts, none from the boxes' data
    const other = await httpFrom(ELSEWHERE, `${base}/boxes`);
    expect(other.text).not.toContain(kitchen.fingerprint);
  });

  it('the SDK client announces and finds boxes, and reports refusals with the machine code', async () => {
    // The SDK signs with the wall clock; the test clock ran ahead by about three minutes, within the accepted skew.
    expect(Math.abs(clock.now() - Date.now())).toBeLessThan(280_000);
    const client = new RegistryClient({ baseUrl: base });
    const b = await box('sdk');
    await client.announce(b, { fingerprint: b.fingerprint, local_origin: 'https://192.168.3.3:8443', name: 'SDK box' });
    const found = (await client.findBoxes()).find((f) => f.client === b.fingerprint);
    expect(found).toMatchObject({ localOrigin: 'https://192.168.3.3:8443', tunnelOrigin: null, name: 'SDK box', public_ip: HOME });
    const error = await client.announce(kitchen, { client: b.fingerprint, message: 'x' }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(PairgateApiError);
    expect(error).toMatchObject({ status: 401, code: 'fingerprint_mismatch' });
  });

  it('the registry is rate limited per address', async () => {
    let limited: any;
    for (let i = 0; i < 25 && !limited; i++) {
      const res = await announce(ELSEWHERE, attic, { client: attic.fingerprint, message: `n${i}` });
      if (res.status === 429) limited = res;
    }
    expect(limited, 'no 429 within 25 announcements').toBeDefined();
    expect(limited.json).toMatchObject({ code: 429, errno: 130, reason: 'rate_limited' });
    expect(limited.headers['retry-after']).toBeDefined();
  });

  it('a web page on the network cannot spend its boxes\' announcements: requests without Authorization count apart', async () => {
    // What any page a person on the network opens may send cross-site without a preflight: a
    // text/plain or form POST, never an Authorization header. The suite allows 20 a minute.
    const page = '127.0.0.7';
    for (let i = 0; i < 10; i++) {
      expect((await httpFrom(page, `${base}/register`, { method: 'POST', body: 'x', headers: { 'content-type': 'text/plain' } })).status).toBe(415);
      const form = await httpFrom(page, `${base}/register`, { method: 'POST', body: `client=${kitchen.fingerprint}&message=x`, headers: { 'content-type': 'application/x-www-form-urlencoded' } });
      expect(form.status).not.toBe(429);
    }
    expect((await httpFrom(page, `${base}/register`, { method: 'POST', body: 'x', headers: { 'content-type': 'text/plain' } })).json).toMatchObject({ reason: 'rate_limited' });
    // The box behind the same address still announces.
    const res = await announce(page, kitchen, { client: kitchen.fingerprint, message: 'still here' });
    expect(res.status, res.text).toBe(200);
  });
});

describe('registry behind a trusted proxy and in privacy mode', () => {
  let t: TestApp;
  let base: string;
  beforeAll(async () => {
    t = await createTestApp({ PAIRGATE_TRUST_PROXY: '127.0.0.1', PAIRGATE_REGISTRY_PRIVATE: 'true', PAIRGATE_DNS_ZONE: 'box.example.test', PAIRGATE_DNS_PORT: '0', PAIRGATE_DNS_UPDATE_PORT: '-1', PAIRGATE_REGISTRY_LEGACY_FINGERPRINT: 'true' });
    base = await t.listen();
  });
  afterAll(() => t.close());

  it('X-Forwarded-For counts from the trusted proxy only; privacy mode keeps no local address', async () => {
    const b = await box('proxied');
    const raw = JSON.stringify({ client: b.fingerprint, message: JSON.stringify({ local_origin: 'https://192.168.7.7' }) });
    const authorization = await signAnnouncement(b, raw);
    const res = await httpFrom(HOME, `${base}/register`, { method: 'POST', body: raw, headers: { authorization, 'x-forwarded-for': '203.0.113.9' } });
    expect(res.status, res.text).toBe(200);
    const viaProxy = await httpFrom(HOME, `${base}/ping`, { headers: { 'x-forwarded-for': '203.0.113.9' } });
    expect(viaProxy.json).toHaveLength(1);
    expect(viaProxy.json[0].public_ip).toBe('203.0.113.9');
    // The box published no record, so local.<fp>.<zone> does not resolve: no origin rather than a dead name
    // (registry-private-origin.test.ts has the box that does).
    expect(JSON.parse(viaProxy.json[0].message)).toEqual({ private: true, origin: null });
    expect(viaProxy.text).not.toContain('192.168.7.7');
    // The proxy's own address and an untrusted caller claiming the IP see nothing.
    expect((await httpFrom(HOME, `${base}/ping`)).json).toEqual([]);
    expect((await httpFrom(ELSEWHERE, `${base}/ping`, { headers: { 'x-forwarded-for': '203.0.113.9' } })).json).toEqual([]);
  });

  it('accepts a legacy fingerprint with the certificate when configured', async () => {
    const b = await box('legacy');
    const raw = JSON.stringify({ client: b.legacyFingerprint, message: 'old box' });
    const withCert = await signAnnouncement(b, raw, { withCertificate: true });
    expect((await httpFrom(ELSEWHERE, `${base}/register`, { method: 'POST', body: raw, headers: { authorization: withCert } })).status).toBe(200);
    const raw2 = JSON.stringify({ client: b.legacyFingerprint, message: 'old box 2' });
    const withoutCert = await signAnnouncement(b, raw2);
    const refused = await httpFrom(ELSEWHERE, `${base}/register`, { method: 'POST', body: raw2, headers: { authorization: withoutCert } });
    expect(refused.status).toBe(401);
  });
});

/**
 * An announcement names the registry it is for (`aud`): one captured on its way and replayed to
 * another registry, whose jti memory never saw it, is refused there when that registry knows its
 * own origin (PAIRGATE_PUBLIC_URL).
 */
describe('registry: announcements bound to their registry (aud)', () => {
  let t: TestApp;
  let base: string;
  let cellar: BoxIdentity;
  beforeAll(async () => {
    t = await createTestApp({ PAIRGATE_PUBLIC_URL: 'https://pair.example.com', PAIRGATE_REGISTRY_ORIGINS: 'https://registry.example.com, https://boxes.example.net:8443/', PAIRGATE_REGISTRY_REGISTER_PER_MINUTE: '100', PAIRGATE_RATE_LIMIT_MAX: '10000' });
    base = await t.listen();
    cellar = await box('cellar');
  });
  afterAll(() => t.close());

  const send = async (audience: string | undefined) => {
    const raw = JSON.stringify({ client: cellar.fingerprint, message: 'aud' });
    const authorization = await signAnnouncement(cellar, raw, audience === undefined ? {} : { audience });
    return httpFrom(HOME, `${base}/register`, { method: 'POST', body: raw, headers: { authorization } });
  };

  it('this registry\'s origin is accepted; another registry\'s is refused 401 wrong_audience (errno 119); none is the earlier form, accepted', async () => {
    expect((await send('https://pair.example.com')).status).toBe(200);
    // Its other names (PAIRGATE_REGISTRY_ORIGINS), by origin.
    expect((await send('https://registry.example.com')).status).toBe(200);
    expect((await send('https://boxes.example.net:8443')).status).toBe(200);
    const elsewhere = await send('https://other-registry.example');
    expect(elsewhere.status).toBe(401);
    expect(elsewhere.json).toMatchObject({ code: 401, errno: 119, reason: 'wrong_audience', message: expect.stringContaining('https://other-registry.example') });
    expect((await send(undefined)).status).toBe(200);
  });

  it('an origin in PAIRGATE_REGISTRY_ORIGINS that is no http(s) URL stops start-up naming the key', async () => {
    await expect(createTestApp({ PAIRGATE_PUBLIC_URL: 'https://pair.example.com', PAIRGATE_REGISTRY_ORIGINS: 'registry.example.com' })).rejects.toThrow(/PAIRGATE_REGISTRY_ORIGINS/);
  });

  it('RegistryClient signs the origin it announces to', async () => {
    const seen: string[] = [];
    const client = new RegistryClient({
      baseUrl: `${base}/`,
      fetch: (input, init) => {
        const authorization = new Headers(init?.headers).get('authorization');
        if (authorization) seen.push(authorization);
        return fetch(input, init);
      },
    });
    await client.announce(cellar, { client: cellar.fingerprint, message: 'from the client' }).catch(() => undefined);
    const payload = JSON.parse(Buffer.from(seen[0]!.split('.')[1]!, 'base64url').toString('utf8')) as { aud?: string };
    expect(payload.aud).toBe(new URL(base).origin);
  });
});
