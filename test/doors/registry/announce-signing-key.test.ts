import { constants, createHash, generateKeyPairSync, randomBytes, sign, type KeyObject } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spkiFingerprint } from '../../../src/core/fingerprint.js';
import { ANNOUNCE_PURPOSE } from '../../../src/doors/registry/announce-signature.js';
import { PairgateApiError } from '../../../src/sdk/errors.js';
import { RegistryClient, signAnnouncement } from '../../../src/sdk/registry.js';
import { createTestApp, type TestApp } from '../../helpers/app.js';

/**
 * The JWS route's refusal of a key boxes may not have: an announcement signed (rightly) with an
 * RSA-1024, P-521 or Ed448 key got `signature_invalid`, as a wrong signature does, while the
 * mutual-TLS route says `client_key_too_weak` (errno 160) / `client_key_unsupported` (161) and
 * what key to use. jose refuses to sign with such keys, so these JWSs are made with Node.
 */

const b64 = (value: string | Buffer): string => Buffer.from(value).toString('base64url');

/** How each test key signs: the JWS alg and Node's digest and options. */
const SIGNERS: Readonly<Record<string, { digest: string | null; options: Record<string, unknown> }>> = {
  RS256: { digest: 'sha256', options: { padding: constants.RSA_PKCS1_PADDING } },
  ES256: { digest: 'sha256', options: { dsaEncoding: 'ieee-p1363' } },
  ES512: { digest: 'sha512', options: { dsaEncoding: 'ieee-p1363' } },
  EdDSA: { digest: null, options: {} },
};

interface Key { privateKey: KeyObject; publicKey: KeyObject }

/** A compact JWS over an announcement of `raw` by `signer`, embedding `embedded`'s public key. */
function jwsOf(raw: string, alg: string, signer: Key, embedded: Key = signer): string {
  const header = b64(JSON.stringify({ alg, jwk: embedded.publicKey.export({ format: 'jwk' }) }));
  const claims = { purpose: ANNOUNCE_PURPOSE, sha256: createHash('sha256').update(raw, 'utf8').digest('base64url'), iat: Math.floor(Date.now() / 1000), jti: randomBytes(16).toString('base64url') };
  const payload = b64(JSON.stringify(claims));
  const { digest, options } = SIGNERS[alg]!;
  const signature = sign(digest, Buffer.from(`${header}.${payload}`), { key: signer.privateKey, ...options });
  return `${header}.${payload}.${b64(signature)}`;
}

const fingerprintOf = (key: Key): string => spkiFingerprint(key.publicKey.export({ type: 'spki', format: 'der' }));

describe('the JWS announcement of a key boxes may not have', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await createTestApp({ PAIRGATE_REGISTRY_REGISTER_PER_MINUTE: '100', PAIRGATE_RATE_LIMIT_MAX: '10000' });
  });
  afterAll(() => t.close());

  /** POST /register of a structured announcement for `client`, signed as `jws` makes it. */
  async function announce(client: string, jws: (raw: string) => string) {
    const raw = JSON.stringify({ fingerprint: client, local_origin: 'https://192.168.1.20:4443', name: 'Kitchen' });
    const res = await t.app.inject({ method: 'POST', url: '/register', remoteAddress: '127.0.0.1', headers: { 'content-type': 'application/json', authorization: `JWS ${jws(raw)}` }, payload: raw });
    return { status: res.statusCode, json: res.json() as { errno: number; reason: string; message: string } };
  }

  async function listed(client: string): Promise<boolean> {
    const ping = await t.app.inject({ method: 'GET', url: '/ping', remoteAddress: '127.0.0.1' });
    return (ping.json() as { client: string }[]).some((entry) => entry.client === client);
  }

  it('RSA-1024: 401 client_key_too_weak (errno 160), saying the size and what key to use', async () => {
    const weak = generateKeyPairSync('rsa', { modulusLength: 1024 });
    const answer = await announce(fingerprintOf(weak), (raw) => jwsOf(raw, 'RS256', weak));
    expect(answer.status).toBe(401);
    expect(answer.json).toMatchObject({ errno: 160, reason: 'client_key_too_weak' });
    expect(answer.json.message).toMatch(/^The announcement is signed with a key that is RSA of 1024 bits, too weak, which box identities may not use: Give the box a key that is ECDSA P-256 \(what pairgate box init makes.*RSA of at least 2048 bits\.$/);
    expect(await listed(fingerprintOf(weak))).toBe(false);
  });

  it('P-521 and Ed448: 401 client_key_unsupported (errno 161), naming the curve or type', async () => {
    const p521 = generateKeyPairSync('ec', { namedCurve: 'P-521' });
    const onCurve = await announce(fingerprintOf(p521), (raw) => jwsOf(raw, 'ES512', p521));
    expect(onCurve.status).toBe(401);
    expect(onCurve.json).toMatchObject({ errno: 161, reason: 'client_key_unsupported' });
    expect(onCurve.json.message).toMatch(/signed with a key on the curve secp521r1, which box identities may not use: .*P-256/);
    const ed448 = generateKeyPairSync('ed448');
    const edwards = await announce(fingerprintOf(ed448), (raw) => jwsOf(raw, 'EdDSA', ed448));
    expect(edwards.json).toMatchObject({ errno: 161, reason: 'client_key_unsupported' });
    expect(edwards.json.message).toMatch(/signed with a key of type ed448/);
  });

  it('a wrong signature stays signature_invalid (errno 112), whatever the key: the key is said only when it made the signature', async () => {
    const weak = generateKeyPairSync('rsa', { modulusLength: 1024 });
    const other = generateKeyPairSync('rsa', { modulusLength: 1024 });
    // Signed by another key than the one embedded.
    const forged = await announce(fingerprintOf(weak), (raw) => jwsOf(raw, 'RS256', other, weak));
    expect(forged.status).toBe(401);
    expect(forged.json).toMatchObject({ errno: 112, reason: 'signature_invalid' });
    // Its signature's bytes changed.
    const changed = await announce(fingerprintOf(weak), (raw) => {
      const [header, payload, signature] = jwsOf(raw, 'RS256', weak).split('.');
      const bytes = Buffer.from(signature!, 'base64url');
      bytes[0] = bytes[0]! ^ 1;
      return `${header}.${payload}.${b64(bytes)}`;
    });
    expect(changed.json).toMatchObject({ errno: 112, reason: 'signature_invalid' });
    // An alg that is not the key's (ES512 named over an RSA signature).
    const p521 = generateKeyPairSync('ec', { namedCurve: 'P-521' });
    const mislabelled = await announce(fingerprintOf(p521), (raw) => {
      const [, payload, signature] = jwsOf(raw, 'ES512', p521).split('.');
      return `${b64(JSON.stringify({ alg: 'RS256', jwk: p521.publicKey.export({ format: 'jwk' }) }))}.${payload}.${signature}`;
    });
    expect(mislabelled.json).toMatchObject({ errno: 112, reason: 'signature_invalid' });
  });

  it('a key boxes may have (P-256) signed the same way is listed: the route is not refusing Node\'s JWSs', async () => {
    const good = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    const answer = await announce(fingerprintOf(good), (raw) => jwsOf(raw, 'ES256', good));
    expect(answer.status, JSON.stringify(answer.json)).toBe(200);
    expect(await listed(fingerprintOf(good))).toBe(true);
  });
});

describe('the SDK with a box key no registry takes', () => {
  const pem = (key: Key): string => key.privateKey.export({ type: 'pkcs8', format: 'pem' }) as string;

  it('signAnnouncement refuses it with the registry\'s code and words (jose said "Named curve mismatch")', async () => {
    const weak = generateKeyPairSync('rsa', { modulusLength: 1024 });
    const p521 = generateKeyPairSync('ec', { namedCurve: 'P-521' });
    await expect(signAnnouncement({ keyPem: pem(weak), certPem: '' }, '{}')).rejects.toMatchObject({ status: 401, code: 'client_key_too_weak', message: expect.stringMatching(/^The box has a key that is RSA of 1024 bits, too weak, which box identities may not use: .*P-256/) });
    await expect(signAnnouncement({ keyPem: pem(p521), certPem: '' }, '{}')).rejects.toMatchObject({ status: 401, code: 'client_key_unsupported', message: expect.stringMatching(/^The box has a key on the curve secp521r1/) });
  });

  it('RegistryClient.announce sends nothing with such a key', async () => {
    const p521 = generateKeyPairSync('ec', { namedCurve: 'P-521' });
    const calls: string[] = [];
    const client = new RegistryClient({ baseUrl: 'https://registry.example', fetch: (async (url: string) => { calls.push(url); return new Response('{}'); }) as unknown as typeof fetch });
    const announced = client.announce({ keyPem: pem(p521), certPem: '' }, { fingerprint: fingerprintOf(p521), local_origin: 'https://192.168.1.20:4443' });
    await expect(announced).rejects.toBeInstanceOf(PairgateApiError);
    await expect(announced).rejects.toMatchObject({ code: 'client_key_unsupported' });
    expect(calls).toEqual([]);
  });
});
