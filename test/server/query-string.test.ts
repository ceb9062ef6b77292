import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { useListeningApp } from '../helpers/app.js';
import { DEVICE_ENV } from '../doors/device/device-helpers.js';
import { isQueryNotUtf8, parseQuery, QUERY_NOT_UTF8_MESSAGE } from '../../src/server/query-string.js';

describe('parseQuery', () => {
  it('decodes as the WHATWG URL standard does: + is a space, escapes are UTF-8, a lone % stays, a name twice is a list', () => {
    expect({ ...parseQuery('a=caf%C3%A9&b=1+2&c=100%&d=%zz') }).toEqual({ a: 'café', b: '1 2', c: '100%', d: '%zz' });
    expect({ ...parseQuery('a=1&a=2&a=3') }).toEqual({ a: ['1', '2', '3'] });
    expect({ ...parseQuery('') }).toEqual({});
    expect(isQueryNotUtf8(parseQuery('a=caf%C3%A9'))).toBe(false);
  });

  it('gives no fields for a query whose escapes are not UTF-8, and marks it (it passed on "caf%E9" undecoded)', () => {
    for (const text of ['state=caf%E9', 'a=ok&b=%C3', 'a=%ED%A0%80']) {
      const query = parseQuery(text);
      expect(isQueryNotUtf8(query), text).toBe(true);
      expect(Object.keys(query), text).toEqual([]);
    }
  });

  it('keeps __proto__ as a name like any other', () => {
    const query = parseQuery('__proto__=x&constructor=y');
    expect('toString' in query).toBe(false);
    expect(query.__proto__).toBe('x');
    expect(query.constructor).toBe('y');
  });

  it('never throws, whatever the text (it runs inside the router, outside every error handler)', () => {
    fc.assert(fc.property(fc.string({ unit: fc.constantFrom('%', 'E', '9', 'C', '3', 'A', 'z', '=', '&', '+', 'é', '\uD800') }), (text) => {
      const query = parseQuery(text);
      expect(typeof query).toBe('object');
    }), { numRuns: 2000 });
  });
});

describe('a query string whose percent-escapes are not UTF-8', () => {
  const server = useListeningApp(DEVICE_ENV);

  it('is refused with 400 validation_failed on a JSON route that reads its query, saying what to do', async () => {
    const created = (await (await fetch(`${server.base}/api/v1/grants`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"label":"q"}' })).json()) as { id: string };
    const response = await fetch(`${server.base}/api/v1/grants/${created.id}?wait=0&since=%E9`);
    expect(response.status).toBe(400);
    expect(await response.json()).toEqual({ error: 'validation_failed', message: `querystring ${QUERY_NOT_UTF8_MESSAGE}.` });
    // The same query in UTF-8 is read as before.
    expect((await fetch(`${server.base}/api/v1/grants/${created.id}?wait=0`)).status).toBe(200);
  });

  it('is refused on a page that shows what the query held, where it was shown as the text "caf%E9"', async () => {
    const refused = await fetch(`${server.base}/device?user_code=caf%E9`);
    expect(refused.status).toBe(400);
    expect(await refused.text()).not.toContain('caf%E9');
    // A query in UTF-8 is read decoded (the page fills in only a code that can be one).
    const shown = await fetch(`${server.base}/device?user_code=%42CDF%2DGHJK`);
    expect(shown.status).toBe(200);
    expect(await shown.text()).toContain('value="BCDF-GHJK"');
  });
});
