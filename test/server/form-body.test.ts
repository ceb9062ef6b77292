import { describe, expect, it } from 'vitest';
import { useListeningApp } from '../helpers/app.js';
import { DEVICE_ENV } from '../doors/device/device-helpers.js';

const FORM = { 'content-type': 'application/x-www-form-urlencoded' };
const NOT_UTF8 = 'The form body is not valid UTF-8. Percent-encode the UTF-8 bytes of each field, as browsers do, and send it again.';

/** `label=café` with the é as one Latin-1 byte (0xE9), sent raw: not UTF-8. */
const LATIN1_FORM = Buffer.concat([Buffer.from('label=caf'), Buffer.from([0xe9])]);

describe('a form body whose bytes are not UTF-8', () => {
  const server = useListeningApp(DEVICE_ENV);
  const liveGrants = () => server.t.app.pairgate.stores.grants.countLive('pair', Date.now());

  it('is refused with 400 body_not_utf8 saying what to do, and no grant is made (it was stored with U+FFFD)', async () => {
    const before = await liveGrants();
    for (const contentType of ['application/x-www-form-urlencoded', 'application/x-www-form-urlencoded; charset=iso-8859-1']) {
      const response = await fetch(`${server.base}/api/v1/grants`, { method: 'POST', headers: { 'content-type': contentType }, body: LATIN1_FORM });
      expect(response.status, contentType).toBe(400);
      expect(await response.json(), contentType).toEqual({ error: 'body_not_utf8', message: NOT_UTF8 });
    }
    expect(await liveGrants()).toBe(before);
  });

  it('is refused in OAuth\'s shape on the device door\'s form endpoints', async () => {
    for (const url of ['/oauth/device_authorization', '/oauth/token']) {
      const body = Buffer.concat([Buffer.from('client_id=tv-app&scope=caf'), Buffer.from([0xe9])]);
      const response = await fetch(`${server.base}${url}`, { method: 'POST', headers: FORM, body });
      expect(response.status, url).toBe(400);
      const answer = (await response.json()) as Record<string, unknown>;
      expect(answer.error, url).toBe('invalid_request');
      expect(String(answer.error_description), url).toContain('not valid UTF-8');
    }
  });

  it('keeps every character of a UTF-8 form, sent raw or percent-encoded, and converts its fields to the schema\'s types', async () => {
    const label = 'café ✓ 😀';
    const raw = await fetch(`${server.base}/api/v1/grants`, { method: 'POST', headers: FORM, body: Buffer.from(`label=${label}&ttl=60`, 'utf8') });
    expect(raw.status).toBe(201);
    const made = (await raw.json()) as { label: string; createdAt: string; expiresAt: string };
    expect(made.label).toBe(label);
    // ttl arrived as the text "60" and was taken as the number 60.
    expect(Date.parse(made.expiresAt) - Date.parse(made.createdAt)).toBe(60_000);
    const encoded = await fetch(`${server.base}/api/v1/grants`, { method: 'POST', headers: FORM, body: new URLSearchParams({ label }).toString() });
    expect(encoded.status).toBe(201);
    expect(((await encoded.json()) as { label: string }).label).toBe(label);
  });

  it('is told apart from a form too large for the body limit', async () => {
    const response = await server.t.app.inject({ method: 'POST', url: '/api/v1/grants', headers: FORM, payload: `label=${'a'.repeat(2 * 1024 * 1024)}` });
    expect(response.statusCode).toBe(413);
  });
});
