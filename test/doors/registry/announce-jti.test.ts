import { createHash, createPublicKey } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CompactSign, importPKCS8 } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { initBoxIdentity, type BoxIdentity } from '../../../src/doors/registry/box-identity.js';
import { ANNOUNCE_PURPOSE } from '../../../src/doors/registry/announce-signature.js';
import { createTestApp, type TestApp } from '../../helpers/app.js';
import { httpFrom } from '../../helpers/http-from.js';
import { createTestDatabase, postgresMissing } from '../../helpers/services.js';

const pgSkip = await postgresMissing();

/**
 * A signed announcement's `jti` becomes a key of the ephemeral store (its replay memory). Any
 * string of 16 to 128 characters passed, and PostgreSQL, where the ephemeral store is with
 * PAIRGATE_DATABASE_URL, refuses a NUL in text: the announcement was a 500.
 */
describe.skipIf(Boolean(pgSkip))('a jti that is not visible ASCII is signature_invalid, never a 500 (ephemeral store in PostgreSQL)', () => {
  let t: TestApp;
  let base: string;
  let box: BoxIdentity;
  let drop: () => Promise<void> = async () => {};

  beforeAll(async () => {
    const database = await createTestDatabase();
    drop = () => database.drop();
    t = await createTestApp({ PAIRGATE_DATABASE_URL: database.url, PAIRGATE_RATE_LIMIT_MAX: '10000', PAIRGATE_REGISTRY_REGISTER_PER_MINUTE: '100' });
    base = await t.listen();
    box = await initBoxIdentity(join(mkdtempSync(join(tmpdir(), 'pairgate-reg-jti-')), 'kitchen'), { name: 'kitchen' });
  });
  afterAll(async () => {
    await t?.close();
    await drop();
  });

  async function announceWithJti(jti: string) {
    const raw = JSON.stringify({ client: box.fingerprint, message: 'hello' });
    const claims = { purpose: ANNOUNCE_PURPOSE, sha256: createHash('sha256').update(raw, 'utf8').digest('base64url'), iat: Math.floor(Date.now() / 1000), jti };
    const jwk = createPublicKey(box.keyPem).export({ format: 'jwk' });
    const jws = await new CompactSign(new TextEncoder().encode(JSON.stringify(claims))).setProtectedHeader({ alg: 'ES256', jwk: jwk as never }).sign(await importPKCS8(box.keyPem, 'ES256'));
    return httpFrom('127.0.0.45', `${base}/register`, { method: 'POST', body: raw, headers: { authorization: `JWS ${jws}` } });
  }

  it('refuses a NUL, a control character, a space, a lone surrogate or a letter outside ASCII in the jti', async () => {
    for (const jti of ['abcdefgh\u0000ijklmnop', 'abcdefgh\u0007ijklmnop', 'abcdefgh ijklmnop', '\ud800bcdefghijklmnop', 'abcdefghijklmnopé']) {
      const res = await announceWithJti(jti);
      expect(res.status, `${JSON.stringify(jti)}: ${res.text}`).toBe(401);
      expect(res.json, JSON.stringify(jti)).toMatchObject({ errno: 112, reason: 'signature_invalid' });
    }
    expect((await httpFrom('127.0.0.45', `${base}/ping`)).json).toEqual([]);
  });

  it('takes what boxes send: base64url, and any visible ASCII of 16 to 128 characters', async () => {
    expect((await announceWithJti('Zm9vYmFyYmF6cXV4cXV1eA')).status).toBe(200);
    expect((await announceWithJti('a|b:c/d+e=f~g!h"i{j}')).status).toBe(200);
    expect((await announceWithJti('x'.repeat(128))).status).toBe(200);
    expect((await announceWithJti('x'.repeat(129))).status).toBe(401);
  });
});
