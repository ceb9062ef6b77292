import { describe, expect, it } from 'vitest';
import { useListeningApp } from '../../helpers/app.js';
import { supportRelayDoor } from '../../../src/doors/support/relay-door.js';
import { RELAY_TEST_ENV, selfRelayingOriginEnv } from './helpers.js';

const JSON_ACCEPT = { accept: 'application/json' };
const PLEXUS = { Error: expect.any(String), Description: expect.any(String), Code: expect.any(String) };

/** Status and JSON body of `method path` on `base`. */
async function answer(base: string, path: string, method = 'GET', headers: Record<string, string> = JSON_ACCEPT): Promise<{ status: number; body: Record<string, unknown> }> {
  const response = await fetch(`${base}${path}`, { method, headers, redirect: 'manual' });
  return { status: response.status, body: (await response.json()) as Record<string, unknown> };
}

/**
 * What the router refuses before any route (a method a path does not take, an unknown path, a bad
 * %-escape, a parameter too long) under the door's API paths is said in the door's shape, as its
 * routes' own refusals are, not in pairgate's `{error, message}`.
 */
describe('support door: refusals no route gives, in the door\'s shapes', () => {
  const server = useListeningApp((url) => selfRelayingOriginEnv(url));

  it('under the origin\'s /session, /pairing, /config and /agent: the Plexus shape', async () => {
    const cases: [string, string, number, string][] = [
      ['PUT', '/session', 405, 'method_not_allowed'],
      ['GET', '/session/a/b/c', 404, 'route_not_found'],
      ['GET', '/pairing/abc/def/ghi', 404, 'route_not_found'],
      ['GET', '/config/%zz', 400, 'bad_url'],
      ['GET', '/agent', 404, 'route_not_found'],
      ['GET', `/session/${'a'.repeat(600)}`, 414, 'uri_too_long'],
    ];
    for (const [method, path, status, code] of cases) {
      const got = await answer(server.base, path, method);
      expect({ path: path.slice(0, 40), status: got.status }).toEqual({ path: path.slice(0, 40), status });
      expect(got.body, path.slice(0, 40)).toEqual({ ...PLEXUS, Code: code });
    }
  });

  it('under the relay\'s /relay/pairing: the relay\'s shape; GET /relay/pairing/ says a code is needed', async () => {
    const put = await answer(server.base, '/relay/pairing/', 'PUT');
    expect(put.status).toBe(405);
    expect(put.body).toMatchObject({ success: false, code: 'method_not_allowed' });
    const bad = await answer(server.base, '/relay/pairing/%zz/x');
    expect(bad.body).toMatchObject({ success: false, code: expect.any(String) });
    for (const path of ['/relay/pairing/', '/relay/pairing']) {
      const empty = await answer(server.base, path);
      expect(empty.status, path).toBe(400);
      expect(empty.body, path).toEqual({ success: false, code: 'code_empty', error: expect.stringMatching(/^This address has no code: ask for .*\/relay\/pairing\/<code>, with the 6-character code/) });
      expect(String(empty.body.error)).not.toMatch(/params/);
    }
    // A person's browser is sent to the page where a code is typed.
    const browser = await fetch(`${server.base}/relay/pairing/`, { headers: { accept: 'text/html' }, redirect: 'manual' });
    expect(browser.status).toBe(303);
    expect(browser.headers.get('location')).toBe('/relay/');
  });

  it('a browser following a broken pairing link (the relay sends it to /pairing/<code>) gets the error page, not JSON', async () => {
    for (const path of ['/relay/pairing/abcdef/', '/relay/pairing/abcdef%E2%80', '/pairing/abcdef/extra', '/pairing/%ZZ']) {
      const page = await fetch(`${server.base}${path}`, { headers: { accept: 'text/html,application/xhtml+xml' }, redirect: 'manual' });
      expect(page.status, path).toBeGreaterThanOrEqual(400);
      expect(page.headers.get('content-type'), path).toMatch(/^text\/html/);
    }
    // Not the session API's paths: those are a program's.
    expect((await fetch(`${server.base}/session/a/b/c`, { headers: { accept: 'text/html' } })).headers.get('content-type')).toMatch(/json/);
  });

  it('elsewhere, pairgate\'s own shape as before', async () => {
    const elsewhere = await answer(server.base, '/nothing-here');
    expect(elsewhere.status).toBe(404);
    expect(elsewhere.body).toMatchObject({ error: 'route_not_found' });
  });
});

describe('a relay alone at /: its /pairing speaks the relay\'s shape', () => {
  const relay = useListeningApp({ ...RELAY_TEST_ENV, PAIRGATE_RELAY_ONLY: 'true' }, { doors: [supportRelayDoor] });

  it('405 and unknown paths under /pairing in its shape; GET /pairing/ says a code is needed', async () => {
    const put = await answer(relay.base, '/pairing/', 'PUT');
    expect(put).toEqual({ status: 405, body: expect.objectContaining({ success: false, code: 'method_not_allowed' }) });
    const deep = await answer(relay.base, '/pairing/abc/def');
    expect(deep).toEqual({ status: 404, body: expect.objectContaining({ success: false, code: 'route_not_found' }) });
    expect(await answer(relay.base, '/pairing/')).toEqual({ status: 400, body: expect.objectContaining({ success: false, code: 'code_empty' }) });
    expect((await answer(relay.base, '/nothing-here')).body).toMatchObject({ error: 'route_not_found' });
  });
});
