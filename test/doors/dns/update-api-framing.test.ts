import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { BoxIdentity } from '../../../src/doors/registry/box-identity.js';
import type { DnsRuntime } from '../../../src/doors/dns/dns-door.js';
import type { TestApp } from '../../helpers/app.js';
import { createDnsApp, newBox, parsedAnswer, updateApiExchange, ZONE } from './dns-helpers.js';

/** What the update API sent to `raw`, written at once on a TLS connection as `box`, once it closed the connection. */
async function rawUpdateExchange(runtime: DnsRuntime, box: BoxIdentity, raw: string): Promise<string> {
  return (await updateApiExchange(runtime, box, (write) => write(raw))).received;
}

describe('update API: requests RFC 9112 refuses that Node lets through, as on the main server (real sockets)', () => {
  let t: TestApp;
  let runtime: DnsRuntime;
  let box: BoxIdentity;
  let path: string;
  beforeAll(async () => {
    ({ t, runtime } = await createDnsApp());
    box = await newBox('framing');
    path = `/v1/dns/${ZONE.split('.').reverse().join('/')}/${box.fingerprint}/www`;
  });
  afterAll(() => t.close());

  it('an HTTP/1.1 request without Host: 400 missing_host in the API\'s JSON shape, and the connection closed (Node answered an empty 400)', async () => {
    for (const raw of [`GET ${path} HTTP/1.1\r\nConnection: close\r\n\r\n`, `POST ${path} HTTP/1.1\r\nContent-Type: application/json\r\nContent-Length: 34\r\n\r\n{"type":"A","value":"192.0.2.10"}\n`]) {
      const { status, head, body } = parsedAnswer(await rawUpdateExchange(runtime, box, raw));
      expect(status, raw).toBe(400);
      expect(head, raw).toContain('content-type: application/json');
      expect(JSON.parse(body), raw).toEqual({ error: 'missing_host', message: expect.stringContaining('has no Host header') });
      expect(head, raw).toContain('connection: close');
    }
    // Nothing was written.
    const listed = parsedAnswer(await rawUpdateExchange(runtime, box, `GET ${path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n`));
    expect(listed.status).toBe(200);
    expect(JSON.parse(listed.body)).toEqual({ records: [] });
  });

  it('a request whose connection is gone before its network is first asked (a body sent without a length) logs no error', async () => {
    // Node reads the DELETE without a body, answers the body's bytes as a malformed next request
    // and closes the connection, while the DELETE still waits in its certificate hook: the rate
    // limit then asked for the network of an address the closed socket no longer had (TypeError).
    const raw = `DELETE ${path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n\r\n{"type":"A"}`;
    expect(parsedAnswer(await rawUpdateExchange(runtime, box, raw)).status).toBe(400);
    // The DELETE's hooks finish after the connection closed: give them the time a look-up takes.
    await new Promise((resolve) => setTimeout(resolve, 500));
    expect(t.logs.filter((line) => /"level":50/.test(line))).toEqual([]);
  });

  it('HTTP/1.0 needs no Host', async () => {
    const { status, body } = parsedAnswer(await rawUpdateExchange(runtime, box, `GET ${path} HTTP/1.0\r\n\r\n`));
    expect(status).toBe(200);
    expect(JSON.parse(body)).toEqual({ records: [] });
  });

  it('the target "*" with GET or POST: 400 invalid_request_target; OPTIONS * is not refused for it', async () => {
    for (const method of ['GET', 'POST']) {
      const { status, head, body } = parsedAnswer(await rawUpdateExchange(runtime, box, `${method} * HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 0\r\nConnection: close\r\n\r\n`));
      expect(status, method).toBe(400);
      expect(head, method).toContain('content-type: application/json');
      expect(JSON.parse(body), method).toEqual({ error: 'invalid_request_target', message: `The request target "*" is only for OPTIONS (RFC 9112, section 3.2.4), not ${method}. Send a path, such as "${method} / HTTP/1.1".` });
    }
    const options = parsedAnswer(await rawUpdateExchange(runtime, box, 'OPTIONS * HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n'));
    expect(options.status).not.toBe(400);
  });
});
