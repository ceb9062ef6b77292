import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { initBoxIdentity, type BoxIdentity } from '../../../src/doors/registry/box-identity.js';
import { signAnnouncement } from '../../../src/sdk/registry.js';
import { createTestApp, type TestApp } from '../../helpers/app.js';
import { httpFrom } from '../../helpers/http-from.js';

/**
 * A structured announcement refused for a field that has no worded rule of its own (a `name` over
 * 100 characters or not a string, an origin that is a number or over 500 characters) was told
 * `body: "client" is required.`, the first failure of the other form, about a field it had no
 * reason to send; a `local_origin` over 500 characters was told it is no URL. Real sockets, signed
 * announcements, as `pairgate box announce` sends them.
 */
describe('a refused announcement names its own field and what it takes', () => {
  let t: TestApp;
  let base: string;
  let box: BoxIdentity;

  beforeAll(async () => {
    t = await createTestApp({ PAIRGATE_REGISTRY_REGISTER_PER_MINUTE: '1000', PAIRGATE_RATE_LIMIT_MAX: '10000' });
    base = await t.listen();
    box = await initBoxIdentity(join(mkdtempSync(join(tmpdir(), 'pairgate-words-')), 'box'));
  });
  afterAll(() => t.close());

  async function refusal(body: Record<string, unknown>): Promise<string> {
    const raw = JSON.stringify(body);
    const res = await httpFrom('127.0.0.1', `${base}/register`, { method: 'POST', body: raw, headers: { authorization: await signAnnouncement(box, raw) } });
    expect(res.status, res.text).toBe(400);
    expect(res.json).toMatchObject({ code: 400, errno: 101, reason: 'validation_failed' });
    return (res.json as { message: string }).message;
  }

  it('a name too long or not a string', async () => {
    const structured = { fingerprint: box.fingerprint, local_origin: 'https://192.168.1.20:4443' };
    expect(await refusal({ ...structured, name: 'K'.repeat(101) })).toBe('body.name is longer than 100 characters (it has 101).');
    expect(await refusal({ ...structured, name: null })).toBe('body.name must be a string (a name people recognise), or left out.');
    expect(await refusal({ ...structured, name: 7 })).toBe('body.name must be a string (a name people recognise), or left out.');
  });

  it('an origin too long or not a string', async () => {
    const long = `https://192.168.1.20/${'a'.repeat(500)}`;
    expect(await refusal({ fingerprint: box.fingerprint, local_origin: long })).toBe(`body.local_origin is longer than 500 characters (it has ${long.length}).`);
    expect(await refusal({ fingerprint: box.fingerprint, local_origin: 5 })).toBe('body.local_origin must be a string: an http:// or https:// URL (e.g. https://192.168.1.20:4443).');
    expect(await refusal({ fingerprint: box.fingerprint, local_origin: 'https://10.0.0.5', tunnel_origin: 5 })).toBe('body.tunnel_origin must be a string: an http:// or https:// URL, or null.');
    expect(await refusal({ fingerprint: 5, local_origin: 'https://10.0.0.5' })).toBe('body.fingerprint must be a string: the box fingerprint (what `pairgate box id` prints).');
  });

  it('an origin the scheme pattern let through that is no URL: a port past 65535, an IPv6 zone, a broken bracket', async () => {
    // Each was registered and listed: an address nobody reading /ping could open.
    expect(await refusal({ fingerprint: box.fingerprint, local_origin: 'https://192.168.1.20:99999' })).toBe('body.local_origin: "https://192.168.1.20:99999" is not an http:// or https:// URL (e.g. https://192.168.1.20:4443).');
    expect(await refusal({ fingerprint: box.fingerprint, local_origin: 'https://[fe80::1%25eth0]:4443' })).toMatch(/^body\.local_origin: "https:\/\/\[fe80::1%25eth0\]:4443" is not an http/);
    expect(await refusal({ fingerprint: box.fingerprint, local_origin: 'https://10.0.0.5', tunnel_origin: 'https://[2001:db8::1' })).toBe('body.tunnel_origin: "https://[2001:db8::1" is not an http:// or https:// URL, or null.');
    // What parses still passes: an IPv6 address with a port, a name.
    const raw = JSON.stringify({ fingerprint: box.fingerprint, local_origin: 'https://[2001:db8::1]:4443', tunnel_origin: 'https://kitchen.example' });
    expect((await httpFrom('127.0.0.1', `${base}/register`, { method: 'POST', body: raw, headers: { authorization: await signAnnouncement(box, raw) } })).status).toBe(200);
  });

  it('Mozilla\'s message too long or not a string', async () => {
    expect(await refusal({ client: box.fingerprint, message: 'm'.repeat(2001) })).toBe('body.message is longer than 2000 characters (it has 2001).');
    expect(await refusal({ client: box.fingerprint, message: { local_origin: 'https://10.0.0.5' } })).toBe('body.message must be a string (usually JSON text, such as {"local_origin": "https://192.168.1.20:4443"}).');
  });
});
