import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TestApp } from '../../helpers/app.js';
import { ADMIN_AUTH, basicAuth, json, startRelay, useSupportServers } from './helpers.js';

const AVATAR = 'https://avatars.example/thorsten.png';

/**
 * What a page of another site makes a supporter's browser send: a form post (urlencoded or
 * multipart needs no CORS preflight), with the Basic credentials the browser keeps for this server
 * attached, and the browser's word on where it comes from.
 */
const FOREIGN: Record<string, string>[] = [
  { 'sec-fetch-site': 'cross-site', origin: 'https://evil.example' },
  { 'sec-fetch-site': 'same-site', origin: 'https://evil.support.example.com' },
  // A browser without Fetch Metadata (plain http to another host): Origin alone.
  { origin: 'https://evil.example' },
];

function formPost(url: string, fields: Record<string, string>, headers: Record<string, string>): Promise<Response> {
  return fetch(url, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded', authorization: ADMIN_AUTH, ...headers }, body: new URLSearchParams(fields).toString() });
}

describe('support origin: the supporter\'s Basic credentials do not work from pages of other sites', () => {
  const servers = useSupportServers();

  it('POST /session from another site is 403 origin_not_allowed, and no session is made', async () => {
    for (const [index, headers] of FOREIGN.entries()) {
      // The page picks the session's own login: with it, it could read the session and take its codes.
      const answer = await formPost(`${servers.origin.url}/session`, { id: `csrf-${index}`, supporter_name: 'Thorsten', supporter_avatar: AVATAR, username: 'mallory', password: 'chosen-by-mallory' }, headers);
      expect(answer.status, JSON.stringify(headers)).toBe(403);
      expect(await answer.json()).toEqual({ Error: 'Forbidden', Description: expect.stringContaining('another site'), Code: 'origin_not_allowed' });
      // Made, its login would take a code the person would read as the company's own.
      const taken = await fetch(`${servers.origin.url}/session/csrf-${index}/code`, { method: 'POST', headers: { authorization: basicAuth('mallory', 'chosen-by-mallory') } });
      expect(taken.status).toBe(401);
      const read = await fetch(`${servers.origin.url}/session/csrf-${index}`, { headers: { authorization: ADMIN_AUTH } });
      expect(read.status).toBe(404);
    }
  });

  it('POST /session/:id/code and DELETE /session/:id from another site are refused; the session and its code stay', async () => {
    const created = await servers.sdk.createSession({ id: 'csrf-code', supporterName: 'Thorsten', supporterAvatar: AVATAR });
    for (const headers of FOREIGN) {
      const newCode = await formPost(`${servers.origin.url}/session/csrf-code/code`, {}, headers);
      expect(newCode.status, JSON.stringify(headers)).toBe(403);
      expect(await json(newCode)).toMatchObject({ Code: 'origin_not_allowed' });
      const deleted = await fetch(`${servers.origin.url}/session/csrf-code`, { method: 'DELETE', headers: { authorization: ADMIN_AUTH, ...headers } });
      expect(deleted.status, JSON.stringify(headers)).toBe(403);
    }
    // The code read out still works.
    const info = await fetch(`${servers.origin.url}/pairing/${created.PairingCode}`, { headers: { accept: 'application/json' } });
    expect(info.status).toBe(200);
  });

  it('programs (no Origin, no Sec-Fetch-Site), the server\'s own pages, and a person typing the address still get in', async () => {
    const own = await formPost(`${servers.origin.url}/session`, { id: 'csrf-own', supporter_name: 'Thorsten', supporter_avatar: AVATAR }, { 'sec-fetch-site': 'same-origin', origin: servers.origin.url });
    expect(own.status).toBe(201);
    const typed = await formPost(`${servers.origin.url}/session/csrf-own/code`, {}, { 'sec-fetch-site': 'none' });
    expect(typed.status).toBe(201);
    const program = await fetch(`${servers.origin.url}/session/csrf-own`, { method: 'DELETE', headers: { authorization: ADMIN_AUTH } });
    expect(program.status).toBe(204);
    // Reads change nothing (and another site cannot read the answer): a link from elsewhere still opens one.
    const read = await fetch(`${servers.origin.url}/session`, { headers: { authorization: ADMIN_AUTH, 'sec-fetch-site': 'cross-site' } });
    expect(read.status).toBe(200);
  });
});

describe('support relay: codes are not published from pages of other sites', () => {
  const servers = useSupportServers();

  it('POST /pairing from another site\'s page is 403 cross_site_request; a program publishes as ever', async () => {
    const publish = (headers: Record<string, string>) => fetch(`${servers.relay.url}/pairing`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', ...headers },
      body: new URLSearchParams({ url: 'https://support.example.com/pairing' }).toString(),
    });
    for (const headers of FOREIGN) {
      const answer = await publish(headers);
      expect(answer.status, JSON.stringify(headers)).toBe(403);
      expect(await json(answer)).toMatchObject({ code: 'cross_site_request' });
    }
    const fromProgram = await publish({});
    expect(fromProgram.status).toBe(200);
    expect(await json(fromProgram)).toMatchObject({ success: true, code: expect.any(String) });
  });
});

describe('support relay: a cross-site publication spends none of the address\'s creation rate', () => {
  let relay: TestApp;
  beforeAll(async () => {
    relay = await startRelay({ PAIRGATE_RELAY_CREATE_MAX: '2', PAIRGATE_RELAY_CREATE_WINDOW_SECONDS: '600' });
  });
  afterAll(async () => {
    await relay?.close();
  });

  it('refused before the route\'s rate limit: after many cross-site posts, the address still publishes its two', async () => {
    const publish = (headers: Record<string, string>) => fetch(`${relay.url}/pairing`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', ...headers },
      body: new URLSearchParams({ url: 'https://support.example.com/pairing' }).toString(),
    });
    // A page of another site posted by each visitor's browser, again and again: each is refused as
    // what it is, never as a 429 that the visitor's own publishing would then get too.
    for (let i = 0; i < 3; i++) {
      for (const headers of FOREIGN) {
        const answer = await publish(headers);
        expect(answer.status, JSON.stringify(headers)).toBe(403);
        expect(await json(answer)).toMatchObject({ code: 'cross_site_request' });
      }
    }
    expect((await publish({})).status).toBe(200);
    expect((await publish({})).status).toBe(200);
    // The budget is the route's still: the third from the address is over it.
    expect((await publish({})).status).toBe(429);
  });
});
