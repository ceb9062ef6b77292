import { connect } from 'node:tls';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { BoxIdentity } from '../../../src/doors/registry/box-identity.js';
import type { DnsRuntime } from '../../../src/doors/dns/dns-door.js';
import type { TestApp } from '../../helpers/app.js';
import { createDnsApp, newBox, ZONE } from './dns-helpers.js';

/** The status, lower-cased head and body of a raw answer. */
function parsed(answer: string): { status: number; head: string; body: string } {
  const split = answer.indexOf('\r\n\r\n');
  return { status: Number(answer.slice(9, 12)), head: answer.slice(0, split).toLowerCase(), body: answer.slice(split + 4) };
}

/**
 * Writes `raw` on a new TLS connection to the update API, as `box` (its certificate as the client
 * certificate); resolves with everything the server sent once it closes the connection, and
 * rejects when it keeps it open for 5 s.
 */
function rawUpdateExchange(runtime: DnsRuntime, box: BoxIdentity, raw: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host: '127.0.0.1', port: runtime.updateApi!.port, ca: runtime.updateCertPem!, key: box.keyPem, cert: box.certPem, servername: 'localhost', checkServerIdentity: () => undefined });
    let received = '';
    socket.setEncoding('utf8');
    socket.on('data', (chunk: string) => {
      received += chunk;
    });
    socket.on('error', reject);
    socket.on('close', () => resolve(received));
    socket.setTimeout(5_000, () => {
      socket.destroy();
      reject(new Error(`the update API kept the connection open; it sent: ${received}`));
    });
    socket.once('secureConnect', () => socket.write(raw));
  });
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
      const { status, head, body } = parsed(await rawUpdateExchange(runtime, box, raw));
      expect(status, raw).toBe(400);
      expect(head, raw).toContain('content-type: application/json');
      expect(JSON.parse(body), raw).toEqual({ error: 'missing_host', message: expect.stringContaining('has no Host header') });
      expect(head, raw).toContain('connection: close');
    }
    // Nothing was written.
    const listed = parsed(await rawUpdateExchange(runtime, box, `GET ${path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n`));
    expect(listed.status).toBe(200);
    expect(JSON.parse(listed.body)).toEqual({ records: [] });
  });

  it('HTTP/1.0 needs no Host', async () => {
    const { status, body } = parsed(await rawUpdateExchange(runtime, box, `GET ${path} HTTP/1.0\r\n\r\n`));
    expect(status).toBe(200);
    expect(JSON.parse(body)).toEqual({ records: [] });
  });

  it('the target "*" with GET or POST: 400 invalid_request_target; OPTIONS * is not refused for it', async () => {
    for (const method of ['GET', 'POST']) {
      const { status, head, body } = parsed(await rawUpdateExchange(runtime, box, `${method} * HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 0\r\nConnection: close\r\n\r\n`));
      expect(status, method).toBe(400);
      expect(head, method).toContain('content-type: application/json');
      expect(JSON.parse(body), method).toEqual({ error: 'invalid_request_target', message: `The request target "*" is only for OPTIONS (RFC 9112, section 3.2.4), not ${method}. Send a path, such as "${method} / HTTP/1.1".` });
    }
    const options = parsed(await rawUpdateExchange(runtime, box, 'OPTIONS * HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n'));
    expect(options.status).not.toBe(400);
  });
});
