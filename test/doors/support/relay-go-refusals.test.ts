import { describe, expect, it } from 'vitest';
import { RELAY_NOT_FOUND } from '../../../src/doors/support/relay-routes.js';
import { useSupportServers } from './helpers.js';

const BROWSER = { accept: 'text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8' };
const LONG = 'a'.repeat(65);
const TOO_LONG = 'This is not a support code: it has 65 characters, and a code has 6 letters and digits. Type the code your supporter gave you on the phone.';

describe('support: refused codes answer programs with a stable code, browsers with a page', () => {
  const servers = useSupportServers();

  it('relay /go: an unknown, malformed or empty code is JSON with its code for a program (no Accept, or one without text/html)', async () => {
    const { relay } = servers;
    for (const headers of [{}, { accept: 'application/json' }, { accept: '*/*' }]) {
      const unknown = await relay.app.inject({ method: 'GET', url: '/go?code=zzzzzz', headers });
      expect(unknown.statusCode).toBe(404);
      expect(unknown.headers['content-type']).toMatch(/^application\/json/);
      expect(unknown.json()).toEqual({ success: false, error: RELAY_NOT_FOUND, code: 'code_not_found' });
    }
    const short = await relay.app.inject({ method: 'GET', url: '/go?code=abc', headers: { accept: 'application/json' } });
    expect(short.statusCode).toBe(400);
    expect(short.json()).toEqual({ success: false, code: 'code_wrong_length', error: 'A code has 6 characters; this one has 3. Check that you typed all of it.' });
    const foreign = await relay.app.inject({ method: 'GET', url: '/go?code=0o0o0o' });
    expect(foreign.statusCode).toBe(400);
    expect(foreign.json()).toMatchObject({ success: false, code: 'code_bad_character' });
    const empty = await relay.app.inject({ method: 'GET', url: '/go?code=' });
    expect(empty.statusCode).toBe(400);
    expect(empty.json()).toMatchObject({ success: false, code: 'code_empty' });
    // What cannot be a code was JSON already (db63044): still so.
    expect((await relay.app.inject({ method: 'GET', url: `/go?code=${LONG}` })).json()).toMatchObject({ success: false, code: 'code_invalid' });
  });

  it('relay /go: a browser keeps the page with its form and the refusal', async () => {
    const { relay } = servers;
    const unknown = await relay.app.inject({ method: 'GET', url: '/go?code=zzzzzz', headers: BROWSER });
    expect(unknown.statusCode).toBe(404);
    expect(unknown.headers['content-type']).toMatch(/^text\/html/);
    expect(unknown.body).toContain('No session has this code');
    expect(unknown.body).toContain('action="/go"');
    const short = await relay.app.inject({ method: 'GET', url: '/go?code=abc', headers: BROWSER });
    expect(short.statusCode).toBe(400);
    expect(short.headers['content-type']).toMatch(/^text\/html/);
    expect(short.body).toContain('action="/go"');
    expect(short.body).toContain('value="abc"');
  });

  it('GET /pairing/<over 64 characters>: code_invalid in words, on the relay and on the origin (JSON and confirm), not validation_failed', async () => {
    const relayAnswer = await servers.relay.app.inject({ method: 'GET', url: `/pairing/${LONG}` });
    expect(relayAnswer.statusCode).toBe(400);
    expect(relayAnswer.json()).toEqual({ success: false, code: 'code_invalid', error: TOO_LONG });

    const originAnswer = await servers.origin.app.inject({ method: 'GET', url: `/pairing/${LONG}`, headers: { accept: 'application/json' } });
    expect(originAnswer.statusCode).toBe(400);
    expect(originAnswer.json()).toEqual({ Error: 'Bad Request', Code: 'code_invalid', Description: TOO_LONG });

    const confirm = await servers.origin.app.inject({ method: 'POST', url: `/pairing/${LONG}/confirm`, headers: { 'content-type': 'application/json' }, payload: { Decision: 'accept' } });
    expect(confirm.statusCode).toBe(400);
    expect(confirm.json()).toEqual({ Error: 'Bad Request', Code: 'code_invalid', Description: TOO_LONG });

    // 64 characters is still a code looked up, refused by its length as any other.
    const sixtyFour = await servers.origin.app.inject({ method: 'GET', url: `/pairing/${'a'.repeat(64)}` });
    expect(sixtyFour.json()).toMatchObject({ Code: 'code_wrong_length' });

    // A browser still gets a page.
    const page = await servers.origin.app.inject({ method: 'GET', url: `/pairing/${LONG}`, headers: BROWSER });
    expect(page.statusCode).toBe(400);
    expect(page.headers['content-type']).toMatch(/^text\/html/);
  });
});
