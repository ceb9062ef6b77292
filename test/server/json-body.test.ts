import { describe, expect, it } from 'vitest';
import { useListeningApp } from '../helpers/app.js';

const NOT_UTF8 = 'The JSON body is not valid UTF-8, the encoding JSON is sent in (RFC 8259); UTF-16 and UTF-32 are not accepted. Encode the body as UTF-8 and send it again.';
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

  it('an empty body labelled JSON, on a route whose body may be left out, is read as none; where a body is needed, still refused', async () => {
    const created = await inject('{"label":"empty body"}');
    const { code } = created.json() as { code: string };
    const approved = await server.t.app.inject({ method: 'POST', url: `/api/v1/codes/${code}/approve`, headers: { 'content-type': 'application/json' }, payload: '' });
    expect(approved.statusCode).toBe(200);
    expect(approved.json()).toMatchObject({ state: 'approved' });
    expect((await inject('')).json()).toMatchObject({ error: 'invalid_json', message: 'The JSON body is empty.' });
  });

  it('a body sent compressed (Content-Encoding other than identity) is 415 unsupported_content_encoding, JSON and forms alike', async () => {
    const gzipped = await server.t.app.inject({ method: 'POST', url: '/api/v1/grants', headers: { 'content-type': 'application/json', 'content-encoding': 'gzip' }, payload: '{"label":"x"}' });
    expect(gzipped.statusCode).toBe(415);
    expect(gzipped.json()).toMatchObject({ error: 'unsupported_content_encoding', message: expect.stringContaining('without a Content-Encoding header') });
    const form = await server.t.app.inject({ method: 'POST', url: '/account/signin', headers: { 'content-type': 'application/x-www-form-urlencoded', 'content-encoding': 'br', accept: 'application/json' }, payload: 'login=a&password=b' });
    expect(form.statusCode).toBe(415);
    const identity = await server.t.app.inject({ method: 'POST', url: '/api/v1/grants', headers: { 'content-type': 'application/json', 'content-encoding': 'identity' }, payload: '{"label":"x"}' });
    expect(identity.statusCode).toBe(201);
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
    const response = await fetch(`${server.base}/api/v1/grants`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: latin1 });
    expect(response.status).toBe(400);
    expect(await response.json()).toEqual({ error: 'body_not_utf8', message: NOT_UTF8 });
    expect(await server.t.app.pairgate.stores.grants.countLive('pair', Date.now())).toBe(before);
  });

  it('a body declared in another charset is 415 unsupported_charset, even when its bytes read as UTF-8; UTF-8 declared in any spelling is taken', async () => {
    const before = await server.t.app.pairgate.stores.grants.countLive('pair', Date.now());
    // The Latin-1 bytes of "cafÃ©" are the UTF-8 of "café": read as UTF-8, the label would change.
    const readableAsUtf8 = Buffer.from('{"label":"caf\u00c3\u00a9"}', 'latin1');
    for (const charset of ['iso-8859-1', 'latin1', 'utf-16', '"UTF-16"', 'windows-1252', '']) {
      const contentType = `application/json; charset=${charset}`;
      const response = await fetch(`${server.base}/api/v1/grants`, { method: 'POST', headers: { 'content-type': contentType }, body: charset === 'utf-16' ? Buffer.from('{"label":"x"}', 'utf16le') : readableAsUtf8 });
      expect(response.status, contentType).toBe(415);
      expect(await response.json(), contentType).toEqual({ error: 'unsupported_charset', message: `This server reads request bodies as UTF-8 only, not "${charset.replaceAll('"', '')}": encode the body as UTF-8 and send it with "charset=utf-8" or no charset parameter.` });
    }
    expect(await server.t.app.pairgate.stores.grants.countLive('pair', Date.now())).toBe(before);
    for (const charset of ['utf-8', 'UTF-8', '"utf-8"', 'utf8']) {
      const response = await fetch(`${server.base}/api/v1/grants`, { method: 'POST', headers: { 'content-type': `application/json; charset=${charset}` }, body: '{"label":"caf\u00e9"}' });
      expect(response.status, charset).toBe(201);
    }
  });

  it('refuses UTF-16 and UTF-32 the same way, with or without a byte order mark, not as malformed JSON', async () => {
    const text = '{"label":"caf\u00e9"}';
    const utf16le = Buffer.from(text, 'utf16le');
    const utf16be = Buffer.from(utf16le).swap16();
    const utf32le = Buffer.alloc(text.length * 4);
    for (let i = 0; i < text.length; i++) utf32le.writeUInt32LE(text.charCodeAt(i), i * 4);
    const bodies = {
      'UTF-16LE': utf16le,
      'UTF-16BE': utf16be,
      'UTF-16LE with BOM': Buffer.concat([Buffer.from([0xff, 0xfe]), utf16le]),
      'UTF-16BE with BOM': Buffer.concat([Buffer.from([0xfe, 0xff]), utf16be]),
      'UTF-32LE': utf32le,
    };
    const before = await server.t.app.pairgate.stores.grants.countLive('pair', Date.now());
    for (const [name, body] of Object.entries(bodies)) {
      const response = await fetch(`${server.base}/api/v1/grants`, { method: 'POST', headers: { 'content-type': 'application/json' }, body });
      expect(response.status, name).toBe(400);
      expect(await response.json(), name).toEqual({ error: 'body_not_utf8', message: NOT_UTF8 });
    }
    expect(await server.t.app.pairgate.stores.grants.countLive('pair', Date.now())).toBe(before);
  });

  it('still reads a one-character body and answers a NUL later in the text as malformed JSON', async () => {
    const one = await server.t.app.inject({ method: 'POST', url: '/api/v1/grants', headers: { 'content-type': 'application/json' }, payload: '1' });
    expect(one.json()).toMatchObject({ error: 'validation_failed' });
    const nul = await server.t.app.inject({ method: 'POST', url: '/api/v1/grants', headers: { 'content-type': 'application/json' }, payload: '{"label":"a\u0000"}' });
    expect(nul.json()).toMatchObject({ error: 'invalid_json' });
  });

  it('keeps every character of a UTF-8 body, a replacement character sent on purpose included', async () => {
    const label = 'café ✓ 😀 \uFFFD';
    const response = await fetch(`${server.base}/api/v1/grants`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: Buffer.from(JSON.stringify({ label }), 'utf8') });
    expect(response.status).toBe(201);
    expect(((await response.json()) as { label: string }).label).toBe(label);
  });
});

describe('a JSON body with half a surrogate pair on its own (a \\u escape)', () => {
  const server = useListeningApp();
  const post = (body: string): Promise<Response> => fetch(`${server.base}/api/v1/grants`, { method: 'POST', headers: { 'content-type': 'application/json' }, body });

  it('is refused with 400 body_not_utf8 saying so, in a value, a key or deep inside, and no grant is made', async () => {
    const before = await server.t.app.pairgate.stores.grants.countLive('pair', Date.now());
    const bodies = {
      'a high half alone': '{"label":"caf\\ud800e"}',
      'a low half alone': '{"label":"\\udc00"}',
      'the halves swapped': '{"label":"\\ude00\\ud83d"}',
      'in a key': '{"label":"x","data":{"\\ud800":"v"}}',
      'in a list, deep': `{"label":"x","data":${'['.repeat(2000)}"\\udfff"${']'.repeat(2000)}}`,
    };
    for (const [name, body] of Object.entries(bodies)) {
      const response = await post(body);
      expect(response.status, name).toBe(400);
      const answer = (await response.json()) as { error: string; message: string };
      expect(answer.error, name).toBe('body_not_utf8');
      expect(answer.message, name).toMatch(/half a surrogate pair on its own/);
    }
    expect(await server.t.app.pairgate.stores.grants.countLive('pair', Date.now())).toBe(before);
  });

  it('keeps a whole pair sent as two escapes, and a backslash-u that is text, as they were sent', async () => {
    const pair = await post('{"label":"smile \\ud83d\\ude00"}');
    expect(pair.status).toBe(201);
    expect(((await pair.json()) as { label: string }).label).toBe('smile 😀');
    const text = await post(JSON.stringify({ label: 'C:\\users\\u' }));
    expect(text.status).toBe(201);
    expect(((await text.json()) as { label: string }).label).toBe('C:\\users\\u');
  });
});

describe('a JSON body with a \\u escape and a list of hundreds of thousands of items (a body limit raised to megabytes)', () => {
  const server = useListeningApp({ PAIRGATE_BODY_LIMIT: '2000000' });

  it('is walked whole for lone surrogates and refused for its shape (the walk overflowed the stack, and the body was refused as holding a prototype key)', async () => {
    const body = `{"label":"\\u0041","data":[${Array(300_000).fill('1').join(',')}]}`;
    const response = await fetch(`${server.base}/api/v1/grants`, { method: 'POST', headers: { 'content-type': 'application/json' }, body });
    expect(response.status).toBe(400);
    expect(((await response.json()) as { error: string }).error).toBe('validation_failed');
  });
});
