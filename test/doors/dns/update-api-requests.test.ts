import { request } from 'node:https';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { BoxIdentity } from '../../../src/doors/registry/box-identity.js';
import type { DnsRuntime } from '../../../src/doors/dns/dns-door.js';
import type { DnsUpdateClient } from '../../../src/sdk/dns-update.js';
import type { TestApp } from '../../helpers/app.js';
import { createDnsApp, newBox, updateClient, ZONE } from './dns-helpers.js';

/** An answer of the update API: status, content type and the body parsed as JSON. */
interface Answer {
  status: number;
  type: string;
  json: Record<string, unknown>;
}

/** One request to the update API as `box` (its certificate as the TLS client certificate), with the path and body sent as given. */
function send(runtime: DnsRuntime, box: BoxIdentity, method: string, path: string, body?: string | Buffer, headers: Record<string, string> = {}): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = request(`${runtime.updateApi!.url}${path}`, {
      method,
      ca: runtime.updateCertPem!,
      key: box.keyPem,
      cert: box.certPem,
      headers: { ...(body !== undefined ? { 'content-type': 'application/json' } : {}), ...headers },
      agent: false,
    }, (res) => {
      let text = '';
      res.on('data', (chunk: Buffer) => { text += String(chunk); });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, type: String(res.headers['content-type'] ?? ''), json: JSON.parse(text) as Record<string, unknown> }));
    });
    req.on('error', reject);
    req.end(body);
  });
}

describe('update API requests the main server would refuse are refused here too', () => {
  let t: TestApp;
  let runtime: DnsRuntime;
  let box: BoxIdentity;
  let api: DnsUpdateClient;
  /** The API path of `<label>.<fp>.<zone>` (labels reversed). */
  let pathOf: (label: string) => string;
  let base: string;
  beforeAll(async () => {
    ({ t, runtime } = await createDnsApp());
    box = await newBox('requests');
    api = updateClient(runtime, box);
    base = `${box.fingerprint}.${ZONE}`;
    pathOf = (label) => `/v1/dns/${ZONE.split('.').reverse().join('/')}/${box.fingerprint}/${label}`;
  });
  afterAll(() => t.close());

  it('DELETE with a query parameter it does not read is refused naming it, and deletes nothing (a misspelled filter deleted every record at the name)', async () => {
    await api.set(`n1.${base}`, 'A', '192.0.2.1');
    await api.set(`n1.${base}`, 'TXT', 'hello');
    for (const [query, named] of [['Type=TXT', 'Type'], ['type=TXT&valeu=hello', 'valeu'], ['__proto__=x', '__proto__']] as const) {
      const refused = await send(runtime, box, 'DELETE', `${pathOf('n1')}?${query}`);
      expect(refused.status).toBe(400);
      expect(refused.json.error).toBe('validation_failed');
      expect(refused.json.message).toContain(`The query parameter "${named}" is not one the update API reads: DELETE takes type and value (lower case)`);
    }
    expect((await api.list(`n1.${base}`)).map((r) => r.type).sort()).toEqual(['A', 'TXT']);
    // The filter spelled right still works, and leaves the other record.
    expect(await send(runtime, box, 'DELETE', `${pathOf('n1')}?type=TXT`)).toMatchObject({ status: 200, json: { deleted: 1 } });
    expect((await api.list(`n1.${base}`)).map((r) => r.type)).toEqual(['A']);
  });

  it('GET and POST read no query: a parameter sent to them is refused rather than ignored', async () => {
    const listed = await send(runtime, box, 'GET', `${pathOf('n2')}?type=A`);
    expect(listed).toMatchObject({ status: 400, json: { error: 'validation_failed' } });
    expect(listed.json.message).toContain('"type"');
    // A TTL in the query instead of the body was set with the default TTL.
    const set = await send(runtime, box, 'POST', `${pathOf('n2')}?ttl=60`, JSON.stringify({ type: 'A', value: '192.0.2.2' }));
    expect(set).toMatchObject({ status: 400, json: { error: 'validation_failed' } });
    expect(set.json.message).toContain('"ttl"');
    expect(await api.list(`n2.${base}`)).toEqual([]);
    expect(await send(runtime, box, 'POST', pathOf('n2'), JSON.stringify({ type: 'A', value: '192.0.2.2', ttl: 60 }))).toMatchObject({ status: 200, json: { ttl: 60 } });
  });

  it('a body with a "__proto__" key is body_forbidden_key, one that is not UTF-8 body_not_utf8, as on the main server', async () => {
    const poisoned = await send(runtime, box, 'POST', pathOf('n3'), '{"type":"A","value":"192.0.2.3","__proto__":{"admin":true}}');
    expect(poisoned.status).toBe(400);
    expect(poisoned.json).toEqual({ error: 'body_forbidden_key', message: expect.stringContaining('"__proto__"') });
    const latin1 = await send(runtime, box, 'POST', pathOf('n3'), Buffer.from('{"type":"TXT","value":"caf\u00e9"}', 'latin1'));
    expect(latin1).toMatchObject({ status: 400, json: { error: 'body_not_utf8' } });
    // Plain syntax errors are still invalid_json.
    expect(await send(runtime, box, 'POST', pathOf('n3'), '{"type":')).toMatchObject({ status: 400, json: { error: 'invalid_json' } });
    expect(await api.list(`n3.${base}`)).toEqual([]);
  });

  it('a malformed %-escape in the path is 400 bad_url in the {error, message} shape, for a browser too', async () => {
    for (const accept of ['application/json', 'text/html']) {
      const refused = await send(runtime, box, 'GET', `${pathOf('%ZZ')}`, undefined, { accept });
      expect(refused.status).toBe(400);
      expect(refused.type).toMatch(/^application\/json/);
      expect(refused.json).toEqual({ error: 'bad_url', message: 'This address has a malformed %-escape. Check the link.' });
    }
  });
});
