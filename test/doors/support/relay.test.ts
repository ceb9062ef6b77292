import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ManualClock } from '../../../src/core/clock.js';
import { ALPHABETS } from '../../../src/core/codes.js';
import { supportRelayDoor } from '../../../src/doors/support/relay-door.js';
import { loadConfig } from '../../../src/server/config.js';
import { checkConfig } from '../../../src/server/start.js';
import type { TestApp } from '../../helpers/app.js';
import { json, postJson, RELAY_TEST_ENV, requestFrom, startRelay } from './helpers.js';

const ORIGIN = 'https://origin.example/pairing';
const RELAY34 = new RegExp(`^[${ALPHABETS.relay34.symbols}]{6}$`);

describe('support relay over real sockets', () => {
  let relay: TestApp;
  let strict: TestApp;
  beforeAll(async () => {
    relay = await startRelay();
    // Defaults except for the creation limit: https only, one code per 5 s, no allow-list.
    strict = await startRelay({ PAIRGATE_RELAY_ALLOW_HTTP: 'false', PAIRGATE_RELAY_CREATE_MAX: '1000' });
  });
  afterAll(async () => {
    await relay?.close();
    await strict?.close();
  });

  it('publishes an origin: {success, code, pairing_url, redirect_url}, and the pairing URL answers 302', async () => {
    const response = await postJson(`${relay.url}/pairing/`, { url: ORIGIN });
    expect(response.status).toBe(200);
    const body = await json(response);
    expect(Object.keys(body).sort()).toEqual(['code', 'expires_in', 'pairing_url', 'redirect_url', 'success']);
    // Added to the original answer: seconds (not a time, which needs the two clocks to agree).
    expect(body.expires_in).toBe(600);
    expect(body.success).toBe(true);
    expect(body.code).toMatch(RELAY34);
    expect(body.pairing_url).toBe(`${relay.url}/pairing/${body.code}`);
    expect(body.redirect_url).toBe(`${ORIGIN}/${body.code}`);
    const redirect = await fetch(body.pairing_url, { redirect: 'manual' });
    expect(redirect.status).toBe(302);
    expect(redirect.headers.get('location')).toBe(body.redirect_url);
    // Case-insensitive after normalising: what a person types on a phone keyboard still works.
    const typed = await fetch(`${relay.url}/pairing/${body.code.toUpperCase()}`, { redirect: 'manual' });
    expect(typed.status).toBe(302);
    expect(typed.headers.get('location')).toBe(body.redirect_url);
  });

  it('accepts a form body and the path without the trailing slash', async () => {
    const response = await fetch(`${relay.url}/pairing`, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: new URLSearchParams({ url: 'http://127.0.0.1:9/pairing/' }).toString() });
    expect(response.status).toBe(200);
    const body = await json(response);
    expect(body.redirect_url).toBe(`http://127.0.0.1:9/pairing/${body.code}`);
  });

  it('answers an unknown code with the 404 body of the original; a malformed one with a 400', async () => {
    const missing = await fetch(`${relay.url}/pairing/zzzzzz`, { redirect: 'manual' });
    expect(missing.status).toBe(404);
    expect(await missing.json()).toEqual({ success: false, error: 'no session with this code or session has expired', code: 'code_not_found' });
    const malformed = await fetch(`${relay.url}/pairing/0o0o0o`, { redirect: 'manual' });
    expect(malformed.status).toBe(400);
    expect(await malformed.json()).toMatchObject({ success: false, code: 'code_bad_character' });
  });

  it('refuses bad origin URLs with clear 4xx', async () => {
    const cases: [unknown, number, string][] = [
      [{}, 400, 'url_missing'],
      [{ url: '' }, 400, 'url_missing'],
      [{ url: 'pairing' }, 400, 'url_invalid'],
      [{ url: '/pairing' }, 400, 'url_invalid'],
      [{ url: 'javascript:alert(1)' }, 400, 'url_scheme'],
      [{ url: 'ftp://origin.example/pairing' }, 400, 'url_scheme'],
      [{ url: 'data:text/html,hi' }, 400, 'url_scheme'],
      [{ url: 'http://origin.example/pairing' }, 400, 'url_not_https'],
      [{ url: 'https://user:pw@origin.example/pairing' }, 400, 'url_credentials'],
      [{ url: 'https://origin.example/pairing?next=evil' }, 400, 'url_query'],
      [{ url: 'https://origin.example/pairing#x' }, 400, 'url_query'],
      [{ url: `https://origin.example/${'a'.repeat(2100)}` }, 400, 'url_too_long'],
      [{ url: 42 }, 400, 'validation_failed'], // a JSON number is not a URL, nor converted to "42"
    ];
    for (const [body, status, code] of cases) {
      const response = await postJson(`${strict.url}/pairing/`, body);
      expect(response.status, JSON.stringify(body).slice(0, 80)).toBe(status);
      const answer = await json(response);
      expect(answer, JSON.stringify(body).slice(0, 80)).toMatchObject({ success: false, code });
      expect(typeof answer.error).toBe('string');
    }
    // The refusal of an http origin names the key that allows it, which the origin's 502 passes on.
    expect((await json(postJson(`${strict.url}/pairing/`, { url: 'http://origin.example/pairing' }))).error).toContain('PAIRGATE_RELAY_ALLOW_HTTP=true');
  });

  it('refuses over-long bodies (413), bad JSON (400) and a body that is not JSON or a form (415)', async () => {
    const big = await postJson(`${strict.url}/pairing/`, { url: ORIGIN, padding: 'x'.repeat(10_000) });
    expect(big.status).toBe(413);
    expect(await big.json()).toMatchObject({ success: false, code: 'payload_too_large' });
    const bad = await fetch(`${strict.url}/pairing/`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"url": "https://origin.example/pairing"' });
    expect(bad.status).toBe(400);
    expect(await bad.json()).toMatchObject({ success: false, code: 'invalid_json' });
    const text = await fetch(`${strict.url}/pairing/`, { method: 'POST', headers: { 'content-type': 'text/plain' }, body: ORIGIN });
    expect(text.status).toBe(415);
    expect(await text.json()).toMatchObject({ success: false, code: 'unsupported_media_type' });
    const xml = await fetch(`${strict.url}/pairing/`, { method: 'POST', headers: { 'content-type': 'application/xml' }, body: '<url/>' });
    expect(xml.status).toBe(415);
    expect(await xml.json()).toMatchObject({ success: false, code: 'unsupported_media_type' });
  });

  it('serves the page where a person types the code, and its form redirects to the origin', async () => {
    const page = await fetch(`${relay.url}/`);
    expect(page.status).toBe(200);
    const html = await page.text();
    expect(html).toContain('action="/go"');
    // `pairgate join` alone asks a relay on 127.0.0.1: the page says which relay to name.
    // One line that scrolls sideways when longer than the card: a keyboard reaches it (tabindex) to scroll it.
    expect(html).toContain(`<code id="join-command" tabindex="0">pairgate join --relay ${relay.url}</code>`);
    expect(page.headers.get('content-security-policy')).toMatch(/form-action 'self' https: http:/);
    const { code, redirect_url } = await json(postJson(`${relay.url}/pairing/`, { url: ORIGIN }));
    const go = await fetch(`${relay.url}/go?code=${code.toUpperCase()}`, { redirect: 'manual' });
    expect(go.status).toBe(302);
    expect(go.headers.get('location')).toBe(redirect_url);
    // A browser's refusals are the page again (a program's are JSON: relay-go-refusals.test.ts).
    const wrong = await fetch(`${relay.url}/go?code=zzzzzz`, { redirect: 'manual', headers: { accept: 'text/html' } });
    expect(wrong.status).toBe(404);
    const wrongPage = await wrong.text();
    expect(wrongPage).toContain('No session has this code');
    expect(wrongPage).toContain(`pairgate join --relay ${relay.url}</code>`);
    const escaped = await fetch(`${relay.url}/go?code=${encodeURIComponent('<script>')}`, { redirect: 'manual', headers: { accept: 'text/html' } });
    expect(escaped.status).toBe(400);
    const body = await escaped.text();
    expect(body).not.toContain('<script>');
    expect(body).toContain('&lt;script&gt;');
  });

  it('/go with what cannot be a code (over 64 characters, or code given twice): code_invalid in words for a program, the form again for a browser', async () => {
    const long = 'a'.repeat(65);
    const tooLong = await fetch(`${relay.url}/go?code=${long}`, { redirect: 'manual' });
    expect(tooLong.status).toBe(400);
    expect(await tooLong.json()).toEqual({
      success: false,
      code: 'code_invalid',
      error: 'This is not a support code: it has 65 characters, and a code has 6 letters and digits. Type the code your supporter gave you on the phone.',
    });
    const twice = await fetch(`${relay.url}/go?code=abcdef&code=ghijkl`, { redirect: 'manual', headers: { accept: 'application/json' } });
    expect(twice.status).toBe(400);
    expect(await twice.json()).toEqual({
      success: false,
      code: 'code_invalid',
      error: 'This is not a support code: the address gives "code" more than once. Type the 6-character code your supporter gave you on the phone.',
    });
    const page = await fetch(`${relay.url}/go?code=${long}`, { redirect: 'manual', headers: { accept: 'text/html' } });
    expect(page.status).toBe(400);
    const html = await page.text();
    expect(html).toContain('This is not a code: a code has six letters and digits.');
    expect(html).toContain('action="/go"');
    // The field is empty again (the language links keep the address, escaped).
    expect(html).toContain('name="code" type="text" class="code" value=""');
    // 64 characters is still a typed code, looked up (and unknown).
    expect((await fetch(`${relay.url}/go?code=${'a'.repeat(64)}`, { headers: { accept: 'text/html' } })).status).toBe(400);
  });

  it('keeps codes out of the logs', async () => {
    const { code } = await json(postJson(`${relay.url}/pairing/`, { url: ORIGIN }));
    await fetch(`${relay.url}/pairing/${code}`, { redirect: 'manual' });
    expect(relay.logs.join('')).not.toContain(code);
  });
});

describe('support relay limits', () => {
  it('rate limits creation per IP (one per 5 s by default): 429 {success, message, wait_seconds} with Retry-After', async () => {
    const relay = await startRelay({ PAIRGATE_RELAY_CREATE_MAX: '1', PAIRGATE_RELAY_CREATE_WINDOW_SECONDS: '5' });
    try {
      expect((await postJson(`${relay.url}/pairing/`, { url: ORIGIN })).status).toBe(200);
      const limited = await postJson(`${relay.url}/pairing/`, { url: ORIGIN });
      expect(limited.status).toBe(429);
      const body = await json(limited);
      expect(body).toMatchObject({ success: false, code: 'rate_limited' });
      expect(typeof body.message).toBe('string');
      expect(body.wait_seconds).toBeGreaterThanOrEqual(1);
      expect(body.wait_seconds).toBeLessThanOrEqual(5);
      expect(limited.headers.get('retry-after')).toBe(String(body.wait_seconds));
    } finally {
      await relay.close();
    }
  });

  it('rate limits look-ups per IP and refuses an address after its misses', async () => {
    const relay = await startRelay({ PAIRGATE_CODE_MISSES_PER_HOUR: '3', PAIRGATE_BRUTE_FORCE_BUDGET: '1' });
    try {
      const { code } = await json(postJson(`${relay.url}/pairing/`, { url: ORIGIN }));
      for (let i = 0; i < 3; i++) expect((await fetch(`${relay.url}/pairing/zzzzz${i + 1}`, { redirect: 'manual' })).status).toBe(404);
      // The budget is spent: even a live code is refused to this address now.
      const refused = await fetch(`${relay.url}/pairing/${code}`, { redirect: 'manual' });
      expect(refused.status).toBe(429);
      expect(Number(refused.headers.get('retry-after'))).toBeGreaterThan(3000);
      expect(await refused.json()).toMatchObject({ success: false, code: 'rate_limited' });
    } finally {
      await relay.close();
    }
    const limited = await startRelay({ PAIRGATE_CODE_LOOKUPS_PER_MINUTE: '2', PAIRGATE_BRUTE_FORCE_BUDGET: '1' });
    try {
      const statuses = [];
      for (let i = 0; i < 3; i++) statuses.push((await fetch(`${limited.url}/pairing/abcdef`, { redirect: 'manual' })).status);
      expect(statuses).toEqual([404, 404, 429]);
    } finally {
      await limited.close();
    }
  });

  it('codes expire after PAIRGATE_RELAY_CODE_TTL', async () => {
    const clock = new ManualClock(Date.now());
    const { createTestApp } = await import('../../helpers/app.js');
    const relay = await createTestApp({ PAIRGATE_RELAY_ONLY: 'true', PAIRGATE_RELAY_ALLOW_HTTP: 'true', PAIRGATE_RELAY_CODE_TTL: '60' }, { doors: [supportRelayDoor], clock });
    await relay.listen();
    try {
      const { code } = await json(postJson(`${relay.url}/pairing/`, { url: ORIGIN }));
      clock.advance(59_000);
      expect((await fetch(`${relay.url}/pairing/${code}`, { redirect: 'manual' })).status).toBe(302);
      clock.advance(2_000);
      expect((await fetch(`${relay.url}/pairing/${code}`, { redirect: 'manual' })).status).toBe(404);
    } finally {
      await relay.close();
    }
  });

  it('at most PAIRGATE_RELAY_MAX_LIVE_CODES live codes: 429 {success, message, wait_seconds} beyond, free again when one expires', async () => {
    const clock = new ManualClock(Date.now());
    const { createTestApp } = await import('../../helpers/app.js');
    const relay = await createTestApp({ ...RELAY_TEST_ENV, PAIRGATE_RELAY_ONLY: 'true', PAIRGATE_RELAY_MAX_LIVE_CODES: '3', PAIRGATE_RELAY_CODE_TTL: '60' }, { doors: [supportRelayDoor], clock });
    await relay.listen();
    try {
      for (let i = 0; i < 3; i++) expect((await postJson(`${relay.url}/pairing/`, { url: ORIGIN })).status).toBe(200);
      // From another address too: the relay as a whole is full.
      const full = await requestFrom('127.0.0.2', `${relay.url}/pairing/`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ url: ORIGIN }) });
      expect(full.status).toBe(429);
      // The wait is until the first live code expires.
      expect(full.headers['retry-after']).toBe('60');
      expect(JSON.parse(full.body)).toEqual({ success: false, message: expect.stringContaining('Too many codes are live'), wait_seconds: 60, code: 'rate_limited' });
      clock.advance(61_000);
      expect((await postJson(`${relay.url}/pairing/`, { url: ORIGIN })).status).toBe(200);
    } finally {
      await relay.close();
    }
  });

  it('the relay\'s cap holds for a burst: 12 publishes at once from 12 addresses, cap 3: exactly 3 codes', async () => {
    const { createTestApp } = await import('../../helpers/app.js');
    const relay = await createTestApp({ ...RELAY_TEST_ENV, PAIRGATE_RELAY_ONLY: 'true', PAIRGATE_RELAY_MAX_LIVE_CODES: '3', PAIRGATE_RELAY_CODE_TTL: '60' }, { doors: [supportRelayDoor] });
    await relay.listen();
    try {
      const statuses = await Promise.all(Array.from({ length: 12 }, (_, i) =>
        requestFrom(`127.0.1.${i + 1}`, `${relay.url}/pairing/`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ url: ORIGIN }) }).then((r) => r.status)));
      expect(statuses.filter((status) => status === 200)).toHaveLength(3);
      expect(statuses.filter((status) => status === 429)).toHaveLength(9);
    } finally {
      await relay.close();
    }
  });

  it('one address holds at most PAIRGATE_RELAY_MAX_LIVE_CODES_PER_IP live codes; other addresses are not affected', async () => {
    const clock = new ManualClock(Date.now());
    const { createTestApp } = await import('../../helpers/app.js');
    const relay = await createTestApp({ ...RELAY_TEST_ENV, PAIRGATE_RELAY_ONLY: 'true', PAIRGATE_RELAY_MAX_LIVE_CODES_PER_IP: '2', PAIRGATE_RELAY_CODE_TTL: '600' }, { doors: [supportRelayDoor], clock });
    await relay.listen();
    const publishFrom = (address: string) => requestFrom(address, `${relay.url}/pairing/`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ url: ORIGIN }) });
    try {
      expect((await publishFrom('127.0.0.2')).status).toBe(200);
      clock.advance(100_000);
      expect((await publishFrom('127.0.0.2')).status).toBe(200);
      const capped = await publishFrom('127.0.0.2');
      expect(capped.status).toBe(429);
      // The wait is until the address's oldest code expires (600 s after it was made, 100 s ago).
      expect(capped.headers['retry-after']).toBe('500');
      expect(JSON.parse(capped.body)).toEqual({ success: false, message: expect.stringContaining('holds 2 live codes'), wait_seconds: 500, code: 'too_many_live_codes' });
      expect((await publishFrom('127.0.0.3')).status).toBe(200);
      clock.advance(501_000);
      expect((await publishFrom('127.0.0.2')).status).toBe(200);
      expect((await publishFrom('127.0.0.2')).status).toBe(429);
    } finally {
      await relay.close();
    }
  });

  it('a publisher holding an API key is not capped per address (one origin publishes every session from one address); the relay\'s own cap holds', async () => {
    const { createTestApp } = await import('../../helpers/app.js');
    const relay = await createTestApp({ ...RELAY_TEST_ENV, PAIRGATE_RELAY_ONLY: 'true', PAIRGATE_RELAY_MAX_LIVE_CODES_PER_IP: '2', PAIRGATE_RELAY_MAX_LIVE_CODES: '4', PAIRGATE_RELAY_API_KEYS: 'k-origin', PAIRGATE_RELAY_CODE_TTL: '600' }, { doors: [supportRelayDoor] });
    await relay.listen();
    const publish = (key: string) => requestFrom('127.0.0.2', `${relay.url}/pairing/`, { method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${key}` }, body: JSON.stringify({ url: ORIGIN }) });
    try {
      for (let i = 0; i < 4; i++) expect((await publish('k-origin')).status, `code ${i + 1}`).toBe(200);
      const full = await publish('k-origin');
      expect(full.status).toBe(429);
      expect(JSON.parse(full.body)).toMatchObject({ code: 'rate_limited', message: expect.stringContaining('Too many codes are live on this relay') });
    } finally {
      await relay.close();
    }
  });

  it('an allow-list of origin hosts and API keys, when configured', async () => {
    const relay = await startRelay({ PAIRGATE_RELAY_ALLOWED_HOSTS: 'origin.example, 127.0.0.1:9', PAIRGATE_RELAY_API_KEYS: 'k-one,k-two' });
    try {
      expect((await postJson(`${relay.url}/pairing/`, { url: ORIGIN })).status).toBe(401);
      expect(await json(postJson(`${relay.url}/pairing/`, { url: ORIGIN }, { authorization: 'Bearer nope' }))).toMatchObject({ success: false, code: 'api_key_required' });
      expect((await postJson(`${relay.url}/pairing/`, { url: ORIGIN }, { authorization: 'Bearer k-two' })).status).toBe(200);
      expect((await postJson(`${relay.url}/pairing/`, { url: 'http://127.0.0.1:9/pairing' }, { 'x-api-key': 'k-one' })).status).toBe(200);
      const foreign = await postJson(`${relay.url}/pairing/`, { url: 'https://evil.example/pairing' }, { 'x-api-key': 'k-one' });
      expect(foreign.status).toBe(403);
      expect(await foreign.json()).toMatchObject({ success: false, code: 'origin_not_allowed' });
      // A host listed without a port is allowed on its scheme's default port only; listed with one, on that port only.
      expect((await postJson(`${relay.url}/pairing/`, { url: 'https://origin.example:443/pairing' }, { 'x-api-key': 'k-one' })).status).toBe(200);
      const otherPort = await postJson(`${relay.url}/pairing/`, { url: 'https://origin.example:8443/pairing' }, { 'x-api-key': 'k-one' });
      expect(otherPort.status).toBe(403);
      expect(await otherPort.json()).toMatchObject({ success: false, code: 'origin_not_allowed', error: expect.stringContaining('add "origin.example:8443" to PAIRGATE_RELAY_ALLOWED_HOSTS') });
      expect((await postJson(`${relay.url}/pairing/`, { url: 'http://127.0.0.1:10/pairing' }, { 'x-api-key': 'k-one' })).status).toBe(403);
    } finally {
      await relay.close();
    }
  });

  it('refuses at start-up a configuration whose codes an attacker could guess', () => {
    const sections = [supportRelayDoor.configSchema!];
    expect(() => checkConfig(loadConfig(sections, { env: {} }), [supportRelayDoor])).not.toThrow();
    expect(() => checkConfig(loadConfig(sections, { env: { PAIRGATE_RELAY_MAX_LIVE_CODES: '100000' } }), [supportRelayDoor])).toThrow(/PAIRGATE_RELAY_MAX_LIVE_CODES: codes of 30\.5 bits/);
    expect(() => checkConfig(loadConfig(sections, { env: { PAIRGATE_RELAY_CODE_TTL: '86400' } }), [supportRelayDoor])).toThrow(/above the budget/);
  });
});
