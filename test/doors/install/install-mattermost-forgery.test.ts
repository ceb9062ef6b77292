import { createHmac } from 'node:crypto';
import { request as httpRequest } from 'node:http';
import { SignJWT } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ManualClock } from '../../../src/core/clock.js';
import { createTestApp, type TestApp } from '../../helpers/app.js';
import { callRequest, FakeMattermost, INSTALL_ENV, installConnector, Member, mattermostId, mattermostJwt, type Answer, type MattermostUser } from './install-helpers.js';

const b64 = (value: unknown): string => Buffer.from(typeof value === 'string' ? value : JSON.stringify(value)).toString('base64url');

/** A compact JWS with this header and payload, its signature HMAC-SHA256 under `key` (none when `key` is null). */
function handMade(header: Record<string, unknown>, payload: Record<string, unknown>, key: string | Buffer | null): string {
  const input = `${b64(header)}.${b64(payload)}`;
  return `${input}.${key === null ? '' : createHmac('sha256', key).update(input).digest('base64url')}`;
}

/**
 * Forged Mattermost call tokens: unsigned, other algorithms, keys anyone knows, another
 * installation's secret, times far off, oversized or repeated headers. Each is refused with 401 and
 * its code, and changes nothing. Real sockets, a manual clock.
 */
describe('install door: forged Mattermost call tokens (real sockets, manual clock)', () => {
  let t: TestApp;
  let base: string;
  let clock: ManualClock;
  let admin: Member;
  let mm: FakeMattermost;
  let orgA: string;
  let instA: { id: string; secret: string };
  let instB: { id: string; secret: string };
  let hook: { id: string; secret: string };
  const user: MattermostUser = { id: mattermostId('forgeduser'), username: 'fran' };

  beforeAll(async () => {
    clock = new ManualClock(Date.now());
    t = await createTestApp(INSTALL_ENV, { clock });
    base = await t.listen();
    mm = new FakeMattermost(base, clock);
    admin = await Member.create(base, 'forge-admin');
    orgA = await admin.createOrg('Forged A');
    instA = await installConnector(base, admin, orgA, 'mattermost', clock);
    instB = await installConnector(base, admin, await admin.createOrg('Forged B'), 'mattermost', clock);
    hook = await installConnector(base, admin, await admin.createOrg('Forged hook'), 'webhook', clock);
    // The user is linked at A: an unlink that gets through would show.
    const token = (await admin.linkToken(orgA)).body.token as string;
    expect((await mm.call(instA.id, 'link', instA.secret, user, { values: { token } })).body.data.linked).toBe(true);
  });
  afterAll(() => t.close());

  const now = () => Math.floor(clock.now() / 1000);
  /** What Mattermost signs: acting_user_id and exp 15 minutes ahead. */
  const claims = (extra: Record<string, unknown> = {}) => ({ acting_user_id: user.id, exp: now() + 900, ...extra });
  /** `call` of installation `id` with header value `authorization` (the whole value). */
  const call = async (id: string, name: string, authorization: string): Promise<Answer> => {
    const response = await fetch(`${base}/mattermost/${id}/${name}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'mattermost-app-authorization': authorization },
      body: JSON.stringify(callRequest(`/mattermost/${id}/${name}`, user)),
    });
    return { status: response.status, body: await response.json(), headers: response.headers };
  };
  const refused = async (id: string, token: string, code: string, name = 'unlink') => {
    const answer = await call(id, name, `Bearer ${token}`);
    expect(answer.status, `${code}: ${token.slice(0, 60)}`).toBe(401);
    expect(answer.body.type).toBe('error');
    expect(answer.body.data.error, token.slice(0, 60)).toBe(code);
  };
  /** The user is still linked at A: nothing forged got through. */
  const stillLinked = async () => expect((await mm.call(instA.id, 'status', instA.secret, user)).body.data.linked).toBe(true);

  it('an unsigned token (alg none, in any case) is refused before any signature is looked at', async () => {
    for (const alg of ['none', 'None', 'NONE', 'nOnE']) {
      await refused(instA.id, handMade({ alg, typ: 'JWT' }, claims(), null), 'jwt_algorithm_not_allowed');
    }
    // No alg at all, or one that is not a string.
    await refused(instA.id, handMade({ typ: 'JWT' }, claims(), instA.secret), 'jwt_invalid');
    await refused(instA.id, handMade({ alg: ['HS256'] }, claims(), instA.secret), 'jwt_invalid');
    // HS256 named, signature left out.
    await refused(instA.id, handMade({ alg: 'HS256' }, claims(), null), 'jwt_signature_invalid');
    await stillLinked();
  });

  it('no algorithm but HS256 passes, whatever key signed it: asymmetric names, other HMACs, spellings of HS256', async () => {
    for (const alg of ['RS256', 'ES256', 'PS256', 'EdDSA', 'HS384', 'HS512', 'hs256', 'HS256 ', 'HS-256']) {
      // Signed with the right secret, as an algorithm-confusion forger would (an HMAC where a public key is expected).
      await refused(instA.id, handMade({ alg, typ: 'JWT' }, claims(), instA.secret), 'jwt_algorithm_not_allowed');
    }
    await stillLinked();
  });

  it('keys anyone can know do not sign a call: empty, the installation id, the manifest link, the app id, the public URL', async () => {
    const manifest = `${base}/mattermost/${instA.id}/manifest.json`;
    for (const key of ['', instA.id, manifest, 'pairgate', base, Buffer.alloc(32)]) {
      await refused(instA.id, handMade({ alg: 'HS256', typ: 'JWT' }, claims(), key), 'jwt_signature_invalid');
    }
    await stillLinked();
  });

  it('a token signed with another installation\'s secret is refused, whatever its header names', async () => {
    const ofB = await mattermostJwt(instB.secret, user.id, clock);
    await refused(instA.id, ofB, 'jwt_signature_invalid');
    // A header naming B (kid, jku, an embedded jwk) chooses nothing: the path's installation decides.
    await refused(instA.id, handMade({ alg: 'HS256', kid: instB.id }, claims(), instB.secret), 'jwt_signature_invalid');
    await refused(instA.id, handMade({ alg: 'HS256', jku: `${base}/mattermost/${instB.id}/manifest.json` }, claims(), instB.secret), 'jwt_signature_invalid');
    await refused(instA.id, handMade({ alg: 'HS256', jwk: { kty: 'oct', k: b64(instB.secret) } }, claims(), instB.secret), 'jwt_signature_invalid');
    // Claims naming B are only claims.
    await refused(instA.id, handMade({ alg: 'HS256' }, claims({ iss: instB.id, installation_id: instB.id, aud: 'pairgate' }), instB.secret), 'jwt_signature_invalid');
    await stillLinked();
    // A's own secret, for all that, still works at A: the refusals were for the key.
    expect((await call(instA.id, 'status', `Bearer ${await mattermostJwt(instA.secret, user.id, clock)}`)).status).toBe(200);
  });

  it('a signed webhook\'s secret signs no Mattermost call: its installation id is not one under /mattermost', async () => {
    const answer = await call(hook.id, 'status', `Bearer ${await mattermostJwt(hook.secret, user.id, clock)}`);
    expect(answer.status).toBe(404);
    expect(answer.body.data.error).toBe('installation_not_found');
  });

  it('times far off are refused: a 10-year or unbounded exp, exp of another type, expired, not yet valid, issued in the future or long ago', async () => {
    const sign = (payload: Record<string, unknown>) => handMade({ alg: 'HS256', typ: 'JWT' }, payload, instA.secret);
    await refused(instA.id, sign(claims({ exp: now() + 10 * 365 * 86400 })), 'jwt_lifetime_too_long');
    await refused(instA.id, sign(claims({ exp: 1e300 })), 'jwt_lifetime_too_long');
    await refused(instA.id, sign(claims({ exp: now() + 900 + 31 })), 'jwt_lifetime_too_long');
    await refused(instA.id, sign(claims({ exp: String(now() + 900) })), 'jwt_invalid');
    await refused(instA.id, sign(claims({ exp: null })), 'jwt_invalid');
    await refused(instA.id, sign({ acting_user_id: user.id }), 'jwt_invalid');
    await refused(instA.id, sign(claims({ exp: 0 })), 'jwt_expired');
    await refused(instA.id, sign(claims({ exp: -1 })), 'jwt_expired');
    await refused(instA.id, sign(claims({ exp: now() - 31 })), 'jwt_expired');
    await refused(instA.id, sign(claims({ nbf: now() + 120 })), 'jwt_not_yet_valid');
    await refused(instA.id, sign(claims({ iat: now() + 120 })), 'jwt_not_yet_valid');
    await refused(instA.id, sign(claims({ iat: now() - 3600 })), 'jwt_too_old');
    await refused(instA.id, sign(claims({ iat: String(now()) })), 'jwt_invalid');
    await stillLinked();
  });

  it('a payload that is not a JWT claims set, or an unencoded payload (b64: false), is refused', async () => {
    const input = (header: Record<string, unknown>, payload: string) => `${b64(header)}.${b64(payload)}`;
    const signed = (text: string) => `${text}.${createHmac('sha256', instA.secret).update(text).digest('base64url')}`;
    await refused(instA.id, signed(input({ alg: 'HS256' }, '[1,2]')), 'jwt_invalid');
    await refused(instA.id, signed(input({ alg: 'HS256' }, 'not json')), 'jwt_invalid');
    await refused(instA.id, signed(input({ alg: 'HS256', b64: false, crit: ['b64'] }, JSON.stringify(claims()))), 'jwt_invalid');
    await refused(instA.id, signed(input({ alg: 'HS256', crit: ['exp'] }, JSON.stringify(claims()))), 'jwt_invalid');
    await stillLinked();
  });

  it('a token meant for another recipient (aud) is refused even when it is signed with the installation\'s secret', async () => {
    const token = await new SignJWT(claims()).setProtectedHeader({ alg: 'HS256' }).setAudience('https://other.example').sign(new TextEncoder().encode(instA.secret));
    await refused(instA.id, token, 'jwt_audience_invalid');
    await stillLinked();
  });

  it('malformed, oversized and JSON-serialised tokens are refused as malformed, before any parsing; headers too large for the server are 431', async () => {
    const good = await mattermostJwt(instA.secret, user.id, clock);
    for (const header of [good, `Basic ${good}`, `Bearer ${good}.extra`, `Bearer ${good.split('.').slice(0, 2).join('.')}`, `Bearer ${JSON.stringify({ protected: 'x', payload: 'y', signature: 'z' })}`, 'Bearer ', `Bearer  ${good} x`]) {
      const answer = await call(instA.id, 'unlink', header);
      expect(answer.status, header.slice(0, 40)).toBe(401);
      expect(answer.body.data.error, header.slice(0, 40)).toBe('jwt_malformed');
    }
    // A token signed rightly but padded past 8 KiB with claims Mattermost never sends.
    const big = handMade({ alg: 'HS256' }, claims({ padding: 'x'.repeat(8192) }), instA.secret);
    const oversized = await call(instA.id, 'unlink', `Bearer ${big}`);
    expect(oversized.status).toBe(401);
    expect(oversized.body.data.error).toBe('jwt_malformed');
    // Past the server's header limit (16 KiB), Node refuses it before any route.
    const huge = handMade({ alg: 'HS256' }, claims({ padding: 'x'.repeat(20_000) }), instA.secret);
    expect((await call(instA.id, 'unlink', `Bearer ${huge}`)).status).toBe(431);
    await stillLinked();
  });

  it('the header sent twice is refused as malformed, even when both carry a good token', async () => {
    const good = await mattermostJwt(instA.secret, user.id, clock);
    const body = JSON.stringify(callRequest(`/mattermost/${instA.id}/unlink`, user));
    const { hostname, port } = new URL(base);
    const answer = await new Promise<{ status: number; body: any }>((resolve, reject) => {
      const headers = [['host', `${hostname}:${port}`], ['content-type', 'application/json'], ['content-length', String(Buffer.byteLength(body))], ['mattermost-app-authorization', `Bearer ${good}`], ['mattermost-app-authorization', `Bearer ${good}`]];
      const outgoing = httpRequest({ hostname, port, method: 'POST', path: `/mattermost/${instA.id}/unlink`, headers: headers.flat() }, (response) => {
        let text = '';
        response.setEncoding('utf8');
        response.on('data', (chunk: string) => { text += chunk; });
        response.on('end', () => resolve({ status: response.statusCode!, body: JSON.parse(text) }));
      });
      outgoing.on('error', reject);
      outgoing.end(body);
    });
    expect(answer.status).toBe(401);
    expect(answer.body.data.error).toBe('jwt_malformed');
    await stillLinked();
  });

  it('the acting user comes from the signed token: a good token with another user in the body is refused', async () => {
    const other = { id: mattermostId('someoneelse'), username: 'eve' };
    const answer = await mm.call(instA.id, 'unlink', instA.secret, user, { context: { acting_user: { id: other.id, username: other.username } } });
    expect(answer.status).toBe(401);
    expect(answer.body.data.error).toBe('acting_user_mismatch');
    // A token naming no one cannot act for the body's user either.
    const anonymous = await mattermostJwt(instA.secret, undefined, clock);
    expect((await call(instA.id, 'unlink', `Bearer ${anonymous}`)).body.data.error).toBe('acting_user_mismatch');
    await stillLinked();
  });
});
