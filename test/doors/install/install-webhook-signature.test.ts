import { request as httpRequest } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ManualClock } from '../../../src/core/clock.js';
import { MAX_SKEW_SECONDS, signWebhook } from '../../../src/doors/install/webhook/webhook-signature.js';
import { createTestApp, type TestApp } from '../../helpers/app.js';
import { INSTALL_ENV, installConnector, Member } from './install-helpers.js';

/**
 * Attacks on the signed webhook's HMAC: the exact bytes, the timestamp window and the memory of
 * signatures at its edge, another installation's secret, spellings of the signature, repeated
 * headers, a signed body taken to another call. Real sockets, a manual clock.
 */
describe('install door: forged and replayed signed webhook calls (real sockets, manual clock)', () => {
  let t: TestApp;
  let base: string;
  let clock: ManualClock;
  let admin: Member;
  let hookA: { id: string; secret: string };
  let hookB: { id: string; secret: string };

  beforeAll(async () => {
    clock = new ManualClock(Date.now());
    t = await createTestApp(INSTALL_ENV, { clock });
    base = await t.listen();
    admin = await Member.create(base, 'sig-admin');
    hookA = await installConnector(base, admin, await admin.createOrg('Signed A'), 'webhook', clock);
    hookB = await installConnector(base, admin, await admin.createOrg('Signed B'), 'webhook', clock);
  });
  afterAll(() => t.close());

  /** POSTs `raw` to `/webhook/<id>/<call>` with the given timestamp and signature headers. */
  const send = async (id: string, call: string, raw: string, timestamp: string, signature: string) => {
    const response = await fetch(`${base}/webhook/${id}/${call}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-pairgate-timestamp': timestamp, 'x-pairgate-signature': signature },
      body: raw,
    });
    return { status: response.status, body: (await response.json()) as { ok: boolean; error?: string } };
  };
  const nowSeconds = () => Math.floor(clock.now() / 1000);
  /** A second passes between the cases, so no two sign the same bytes at the same time by accident. */
  const tick = () => clock.advance(1000);

  it('a signature is remembered for as long as its timestamp passes: played again in the last second it passes, it is refused', async () => {
    // On a whole second, sign 5 minutes ahead, the furthest the window takes: the timestamp then
    // passes until the end of the second 10 minutes from now (the check rounds the clock down).
    clock.advance(1000 - (clock.now() % 1000));
    const ahead = String(nowSeconds() + MAX_SKEW_SECONDS);
    const raw = JSON.stringify({ user_id: 'edge', text: 'status' });
    const signature = signWebhook(hookA.secret, ahead, raw);
    expect((await send(hookA.id, 'command', raw, ahead, signature)).status).toBe(200);
    // Half a second into that last second: the timestamp still passes, so only the memory refuses it.
    clock.advance(2 * MAX_SKEW_SECONDS * 1000 + 500);
    expect(await send(hookA.id, 'command', raw, ahead, signature)).toEqual({ status: 409, body: { ok: false, error: 'signature_replayed', text: expect.any(String) } });
    // A second later the timestamp itself is refused: the memory is no longer needed.
    clock.advance(1000);
    expect((await send(hookA.id, 'command', raw, ahead, signature)).body.error).toBe('signature_expired');
  });

  it('the memory of a signature lives as long as its timestamp passes and a second more, however far its timestamp is from the clock', async () => {
    for (const offset of [-MAX_SKEW_SECONDS, 0, MAX_SKEW_SECONDS]) {
      tick();
      const timestamp = String(nowSeconds() + offset);
      const raw = JSON.stringify({ user_id: `memory${offset + MAX_SKEW_SECONDS}`, text: 'status' });
      const signature = signWebhook(hookA.secret, timestamp, raw);
      expect((await send(hookA.id, 'command', raw, timestamp, signature)).status).toBe(200);
      const entries = await t.app.pairgate.stores.ephemeral.list(`webhook-seen:${hookA.id}:`, clock.now());
      expect(entries.map((entry) => entry.expiresAt), `offset ${offset}`).toContain((Number(timestamp) + MAX_SKEW_SECONDS + 2) * 1000);
      // Nothing of the signature itself is kept in clear.
      expect(JSON.stringify(entries)).not.toContain(signature.slice(3));
    }
  });

  it('the signature covers the exact bytes received, not the JSON they parse to', async () => {
    tick();
    const at = String(nowSeconds());
    const spaced = '{ "user_id" : "bytes",\n  "text": "status" }';
    // Signed over the bytes sent, spaces and all: accepted.
    expect((await send(hookA.id, 'command', spaced, at, signWebhook(hookA.secret, at, spaced))).status).toBe(200);
    // Signed over the same JSON written another way: the bytes differ, so the signature does.
    const compact = JSON.stringify(JSON.parse(spaced));
    tick();
    const later = String(nowSeconds());
    expect((await send(hookA.id, 'command', spaced, later, signWebhook(hookA.secret, later, compact))).body.error).toBe('signature_invalid');
    // A byte appended after a signed body (white space JSON ignores) breaks it too.
    const signature = signWebhook(hookA.secret, later, compact);
    expect((await send(hookA.id, 'command', `${compact} `, later, signature)).body.error).toBe('signature_invalid');
    // The signature covers the timestamp: the same signature under the next second is refused.
    expect((await send(hookA.id, 'command', compact, String(Number(later) + 1), signature)).body.error).toBe('signature_invalid');
  });

  it('a call signed with another installation\'s secret is refused, and one installation\'s signed call does nothing at the other', async () => {
    tick();
    const at = String(nowSeconds());
    const raw = JSON.stringify({ user_id: 'cross', text: 'unlink' });
    // B's secret at A's URL: refused, whatever A would have done.
    expect(await send(hookA.id, 'command', raw, at, signWebhook(hookB.secret, at, raw))).toEqual({ status: 401, body: { ok: false, error: 'signature_invalid', text: expect.any(String) } });
    // A genuine call of B, captured and sent to A: the same bytes, timestamp and signature, refused.
    const ofB = signWebhook(hookB.secret, at, raw);
    expect((await send(hookB.id, 'command', raw, at, ofB)).status).toBe(200);
    expect((await send(hookA.id, 'command', raw, at, ofB)).body.error).toBe('signature_invalid');
    expect((await send(hookA.id, 'uninstall', '{}', at, signWebhook(hookB.secret, at, '{}'))).body.error).toBe('signature_invalid');
    // A is still installed: a call signed with its own secret is answered.
    expect((await send(hookA.id, 'command', raw, at, signWebhook(hookA.secret, at, raw))).status).toBe(200);
  });

  it('only the exact spelling of the signature passes: upper-case hex, another version, a prefix, white space or an empty value are refused', async () => {
    tick();
    const at = String(nowSeconds());
    const raw = JSON.stringify({ user_id: 'spelling', text: 'status' });
    const right = signWebhook(hookA.secret, at, raw);
    const hex = right.slice(3);
    const wrong = [`v1=${hex.toUpperCase()}`, `v0=${hex}`, `V1=${hex}`, hex, `v1=${hex.slice(0, 32)}`, `v1=${hex}0`, `v1=${hex},v1=${hex}`, 'v1=', `v1=${Buffer.from(hex, 'hex').toString('base64')}`];
    for (const signature of wrong) {
      const answer = await send(hookA.id, 'command', raw, at, signature);
      expect(answer.status, signature).toBe(401);
      expect(answer.body.error, signature).toBe('signature_invalid');
    }
    // None of them spent the right one.
    expect((await send(hookA.id, 'command', raw, at, right)).status).toBe(200);
  });

  it('timestamps other than plain Unix seconds are refused before the signature is computed', async () => {
    tick();
    const raw = JSON.stringify({ user_id: 'stamps', text: 'status' });
    const now = nowSeconds();
    for (const timestamp of [`+${now}`, `${now}.0`, `${now / 1000}e3`, `0x${now.toString(16)}`, `-${now}`, '', `${now}0000000`]) {
      const answer = await send(hookA.id, 'command', raw, timestamp, signWebhook(hookA.secret, timestamp, raw));
      expect(answer.status, timestamp).toBe(401);
      expect(['signature_malformed', 'signature_missing', 'signature_expired'], timestamp).toContain(answer.body.error);
    }
  });

  it('a signature or a timestamp header sent twice is refused with 401, never read as one of them', async () => {
    tick();
    const at = String(nowSeconds());
    const raw = JSON.stringify({ user_id: 'twice', text: 'status' });
    const signature = signWebhook(hookA.secret, at, raw);
    /** A request over a raw socket with the headers exactly as listed (node:http keeps repeats). */
    const rawRequest = (headers: [string, string][]) => new Promise<{ status: number; body: { error?: string } }>((resolve, reject) => {
      const { hostname, port } = new URL(base);
      const outgoing = httpRequest({ hostname, port, method: 'POST', path: `/webhook/${hookA.id}/command`, headers: [['host', `${hostname}:${port}`], ['content-type', 'application/json'], ['content-length', String(Buffer.byteLength(raw))], ...headers].flat() }, (response) => {
        let text = '';
        response.setEncoding('utf8');
        response.on('data', (chunk: string) => { text += chunk; });
        response.on('end', () => resolve({ status: response.statusCode!, body: JSON.parse(text) as { error?: string } }));
      });
      outgoing.on('error', reject);
      outgoing.end(raw);
    });
    const twiceSigned = await rawRequest([['x-pairgate-timestamp', at], ['x-pairgate-signature', signature], ['x-pairgate-signature', signature]]);
    expect(twiceSigned).toEqual({ status: 401, body: expect.objectContaining({ error: 'signature_invalid' }) });
    const wrongThenRight = await rawRequest([['x-pairgate-timestamp', at], ['x-pairgate-signature', 'v1=00'], ['x-pairgate-signature', signature]]);
    expect(wrongThenRight.body.error).toBe('signature_invalid');
    const twiceStamped = await rawRequest([['x-pairgate-timestamp', at], ['x-pairgate-timestamp', at], ['x-pairgate-signature', signature]]);
    expect(twiceStamped).toEqual({ status: 401, body: expect.objectContaining({ error: 'signature_malformed' }) });
    // Sent once each, the same headers pass: the refusals were for the repeats.
    expect((await rawRequest([['x-pairgate-timestamp', at], ['x-pairgate-signature', signature]])).status).toBe(200);
  });

  it('a signed call taken to another call of the same installation is refused by that call\'s body, and stays usable where it belongs', async () => {
    tick();
    const at = String(nowSeconds());
    const command = JSON.stringify({ user_id: 'routes', text: 'status' });
    const signature = signWebhook(hookA.secret, at, command);
    expect((await send(hookA.id, 'uninstall', command, at, signature)).status).toBe(400);
    expect((await send(hookA.id, 'install', command, at, signature)).status).toBe(400);
    expect((await send(hookA.id, 'command', command, at, signature)).status).toBe(200);
    // The signed `{}` of an uninstall is no command either.
    const uninstall = signWebhook(hookA.secret, at, '{}');
    expect((await send(hookA.id, 'command', '{}', at, uninstall)).status).toBe(400);
    expect((await send(hookA.id, 'install', '{}', at, uninstall)).status).toBe(400);
  });
});
