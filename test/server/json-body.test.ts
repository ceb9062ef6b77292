import { describe, expect, it } from 'vitest';
import { useListeningApp } from '../helpers/app.js';

const FORBIDDEN = 'The JSON body holds a "__proto__" key or a "constructor" object with a "prototype" key, which pairgate refuses (they could alter the objects that read them). Send the body without them.';

describe('a JSON body with a prototype key', () => {
  const server = useListeningApp();
  const inject = (payload: string) => server.t.app.inject({ method: 'POST', url: '/api/v1/grants', headers: { 'content-type': 'application/json' }, payload });

  it('is refused with 400 body_forbidden_key saying why, not "not valid JSON" (which sent people looking for a syntax error)', async () => {
    for (const payload of ['{"label":"a","__proto__":{"admin":true}}', '{"label":"a","data":{"__proto__":{"x":"1"}}}', '{"label":"a","constructor":{"prototype":{"admin":true}}}']) {
      const response = await inject(payload);
      expect(response.statusCode, payload).toBe(400);
      expect(response.json(), payload).toEqual({ error: 'body_forbidden_key', message: FORBIDDEN });
    }
  });

  it('leaves the other refusals and the bodies without such a key as they were', async () => {
    expect((await inject('{"label":')).json()).toMatchObject({ error: 'invalid_json', message: 'The body is not valid JSON.' });
    expect((await inject('{"__proto__":')).json()).toMatchObject({ error: 'invalid_json' });
    expect((await inject('')).json()).toMatchObject({ error: 'invalid_json', message: 'The JSON body is empty.' });
    // A key named constructor is only refused with a prototype in it.
    const fine = await inject('{"label":"constructor","data":{"constructor":"x"}}');
    expect(fine.statusCode, fine.body).toBe(201);
  });

  it('is refused the same way over a real socket', async () => {
    const response = await fetch(`${server.base}/api/v1/grants`, { method: 'POST', headers: { 'content-type': 'application/json; charset=utf-8' }, body: '{"label":"a","__proto__":{}}' });
    expect(response.status).toBe(400);
    expect(await response.json()).toEqual({ error: 'body_forbidden_key', message: FORBIDDEN });
  });
});

describe('a body whose length is not its Content-Length', () => {
  const server = useListeningApp();

  it('is told so with 400 invalid_content_length, not "not valid JSON"', async () => {
    for (const length of ['3', '30']) {
      const response = await server.t.app.inject({ method: 'POST', url: '/api/v1/grants', headers: { 'content-type': 'application/json', 'content-length': length }, payload: '{"label":"abc"}' });
      expect(response.statusCode, length).toBe(400);
      expect(response.json(), length).toEqual({ error: 'invalid_content_length', message: 'The body\'s length is not the one its Content-Length header says. Send the header with the length in bytes of the body as sent, or let the HTTP client set it.' });
    }
  });
});

describe('a JSON body whose bytes are not UTF-8', () => {
  const server = useListeningApp();
  // "café" with the é in Latin-1 (0xE9): not UTF-8.
  const latin1 = Buffer.concat([Buffer.from('{"label":"caf'), Buffer.from([0xe9]), Buffer.from('"}')]);

  it('is refused with 400 body_not_utf8 saying what to do, and no grant is made', async () => {
    const before = await server.t.app.pairgate.stores.grants.countLive('pair', Date.now());
    for (const contentType of ['application/json', 'application/json; charset=iso-8859-1']) {
      const response = await fetch(`${server.base}/api/v1/grants`, { method: 'POST', headers: { 'content-type': contentType }, body: latin1 });
      expect(response.status, contentType).toBe(400);
      expect(await response.json(), contentType).toEqual({ error: 'body_not_utf8', message: 'The JSON body is not valid UTF-8, the encoding JSON is sent in (RFC 8259). Encode the body as UTF-8 and send it again.' });
    }
    expect(await server.t.app.pairgate.stores.grants.countLive('pair', Date.now())).toBe(before);
  });

  it('keeps every character of a UTF-8 body, a replacement character sent on purpose included', async () => {
    const label = 'café ✓ 😀 \uFFFD';
    const response = await fetch(`${server.base}/api/v1/grants`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: Buffer.from(JSON.stringify({ label }), 'utf8') });
    expect(response.status).toBe(201);
    expect(((await response.json()) as { label: string }).label).toBe(label);
  });
});
