import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { useListeningApp } from '../helpers/app.js';
import { DEVICE_ENV } from '../doors/device/device-helpers.js';
import { escapesAreUtf8, parseForm } from '../../src/server/url-encoded.js';

const FORM = { 'content-type': 'application/x-www-form-urlencoded' };
const NOT_UTF8 = 'The form body is not valid UTF-8. Percent-encode the UTF-8 bytes of each field, as browsers do, and send it again.';

/** `label=café` with the é as one Latin-1 byte (0xE9), sent raw: not UTF-8. */
const LATIN1_FORM = Buffer.concat([Buffer.from('label=caf'), Buffer.from([0xe9])]);

describe('a form body whose bytes are not UTF-8', () => {
  const server = useListeningApp(DEVICE_ENV);
  const liveGrants = () => server.t.app.pairgate.stores.grants.countLive('pair', Date.now());

  it('is refused with 400 body_not_utf8 saying what to do, and no grant is made (it was stored with U+FFFD)', async () => {
    const before = await liveGrants();
    const response = await fetch(`${server.base}/api/v1/grants`, { method: 'POST', headers: FORM, body: LATIN1_FORM });
    expect(response.status).toBe(400);
    expect(await response.json()).toEqual({ error: 'body_not_utf8', message: NOT_UTF8 });
    expect(await liveGrants()).toBe(before);
  });

  it('declared in another charset, is 415 unsupported_charset, even when its bytes read as UTF-8; a UTF-8 charset is taken', async () => {
    const before = await liveGrants();
    // A second charset parameter is read too: only the first was, and `utf-8; charset=latin1` was taken.
    for (const charset of ['iso-8859-1', '"windows-1252"', 'utf-8; charset=latin1', 'utf-8;charset="iso-8859-1"']) {
      const contentType = `application/x-www-form-urlencoded; charset=${charset}`;
      const response = await fetch(`${server.base}/api/v1/grants`, { method: 'POST', headers: { 'content-type': contentType }, body: 'label=plain' });
      expect(response.status, contentType).toBe(415);
      expect(await response.json(), contentType).toMatchObject({ error: 'unsupported_charset', message: expect.stringContaining('as UTF-8 only') });
    }
    expect(await liveGrants()).toBe(before);
    const utf8 = await fetch(`${server.base}/api/v1/grants`, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded; charset=UTF-8' }, body: 'label=caf%C3%A9' });
    expect(utf8.status).toBe(201);
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

  it('is refused when its percent-escapes are not UTF-8 (caf%E9, Latin-1, was stored as the text "caf%E9")', async () => {
    const before = await liveGrants();
    for (const body of ['label=caf%E9', 'label=ok%C3', 'label=%C3%A9%FF']) {
      const response = await fetch(`${server.base}/api/v1/grants`, { method: 'POST', headers: FORM, body });
      expect(response.status, body).toBe(400);
      expect(await response.json(), body).toEqual({ error: 'body_not_utf8', message: NOT_UTF8 });
    }
    const oauth = await fetch(`${server.base}/oauth/device_authorization`, { method: 'POST', headers: FORM, body: 'client_id=tv-app&scope=caf%E9' });
    expect(oauth.status).toBe(400);
    expect(((await oauth.json()) as { error: string }).error).toBe('invalid_request');
    expect(await liveGrants()).toBe(before);
  });

  it('keeps a % that starts no escape as it is and decodes the escapes around it (they were all left encoded)', async () => {
    const response = await fetch(`${server.base}/api/v1/grants`, { method: 'POST', headers: FORM, body: 'label=100%25 %zz%C3%A9 100%' });
    expect(response.status).toBe(201);
    expect(await response.json()).toMatchObject({ label: '100% %zzé 100%' });
  });

  it('is told apart from a form too large for the body limit', async () => {
    const response = await server.t.app.inject({ method: 'POST', url: '/api/v1/grants', headers: FORM, payload: `label=${'a'.repeat(2 * 1024 * 1024)}` });
    expect(response.statusCode).toBe(413);
  });
});

describe('escapesAreUtf8', () => {
  it('accepts text without escapes, UTF-8 escapes in any case, and % that starts no escape', () => {
    for (const text of ['', 'a=b', 'a=%C3%A9', 'a=%c3%a9%E2%9C%93', 'a=100%', 'a=%zz', 'a=%4', 'a=%F0%9F%98%80&b=%41']) expect(escapesAreUtf8(text), text).toBe(true);
  });

  it('refuses a run of escapes that is not UTF-8: a Latin-1 byte, a cut character, an overlong form, a surrogate', () => {
    for (const text of ['a=caf%E9', 'a=%C3', 'a=%C3&b=%A9', 'a=%C0%AF', 'a=%ED%A0%80', 'a=ok&b=%FF']) expect(escapesAreUtf8(text), text).toBe(false);
  });
});

describe('parseForm', () => {
  it('parses as the WHATWG standard: + is a space, a name twice is a list, __proto__ is a plain name', () => {
    const fields = parseForm('a=1+2&b=%C3%A9&a=3&a=4&__proto__=x&empty&c=50%');
    expect({ ...fields }).toEqual({ a: ['1 2', '3', '4'], b: 'é', ['__proto__']: 'x', empty: '', c: '50%' });
  });

  it('inherits no name, with or without escapes in the text', () => {
    for (const text of ['', 'a=1', 'a=%41']) {
      const fields = parseForm(text);
      for (const name of ['constructor', 'toString', 'hasOwnProperty', '__proto__']) expect(name in fields, `${name} in ${text}`).toBe(false);
    }
    expect(parseForm('constructor=x&toString=y')).toMatchObject({ constructor: 'x', toString: 'y' });
    // A leading `?` is part of the first name, escapes or not (URLSearchParams' constructor drops it).
    expect({ ...parseForm('?a=1') }).toEqual({ '?a': '1' });
    expect({ ...parseForm('?a=%41') }).toEqual({ '?a': 'A' });
  });

  it('splits text without escapes as URLSearchParams does (the fast path for plain ASCII)', () => {
    const reference = (text: string) => {
      const fields: Record<string, string | string[]> = {};
      // Not a leading `?`, which the constructor drops (a URL's search) and the standard's parser keeps.
      for (const [name, value] of new URLSearchParams(`&${text}`)) {
        const earlier = fields[name];
        fields[name] = earlier === undefined ? value : [earlier, value].flat();
      }
      return fields;
    };
    fc.assert(fc.property(fc.string({ unit: fc.constantFrom('a', 'b', '=', '&', '+', ' ', '_', '-', '~', '.', '?') }), (text) => {
      expect({ ...parseForm(text) }).toEqual(reference(text));
    }), { numRuns: 3000 });
  });
});
