import { createServer as createHttpsServer, request as httpsRequest } from 'node:https';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { BoxIdentity } from '../../src/doors/registry/box-identity.js';
import type { DnsRuntime } from '../../src/doors/dns/dns-door.js';
import { createSelfSigned, type KeyAndCertificate } from '../../src/doors/registry/self-signed.js';
import { DnsUpdateClient } from '../../src/sdk/dns-update.js';
import type { TestApp } from '../helpers/app.js';
import { createDnsApp, newBox, updateClient, ZONE } from '../doors/dns/dns-helpers.js';
import { expectEachAbortedAtOnce, listening, rejection, silentListener, type SilentListener } from './consumer-sdk-helpers.js';

describe('SDK DnsUpdateClient: AbortSignal, answers cut or stalled mid-body, pages', () => {
  let t: TestApp;
  let runtime: DnsRuntime;
  let box: BoxIdentity;
  let silent: SilentListener;
  let proxyKeys: KeyAndCertificate;
  beforeAll(async () => {
    ({ t, runtime } = await createDnsApp());
    box = await newBox('abort');
    silent = await silentListener();
    proxyKeys = await createSelfSigned({ commonName: '127.0.0.1', altNames: ['127.0.0.1'] });
  });
  afterAll(async () => {
    silent?.close();
    await t?.close();
  });

  /** An HTTPS server with the proxy's certificate asking for client certificates, and a client of it as `box`. */
  async function tlsServer(handler: Parameters<typeof createHttpsServer>[1]): Promise<{ close: () => void; client: (timeoutMs?: number) => DnsUpdateClient }> {
    const server = createHttpsServer({ key: proxyKeys.keyPem, cert: proxyKeys.certPem, requestCert: true, rejectUnauthorized: false }, handler);
    const { url } = await listening(server, 'https');
    return {
      close: () => {
        server.closeAllConnections();
        server.close();
      },
      client: (timeoutMs) => new DnsUpdateClient({ baseUrl: url, box, ca: proxyKeys.certPem, ...(timeoutMs ? { timeoutMs } : {}) }),
    };
  }

  it('the real update API still answers through the client, and a signal not aborted changes nothing', async () => {
    const api = updateClient(runtime, box);
    const name = `local.${box.fingerprint}.${ZONE}`;
    expect(await api.set(name, 'A', '192.168.1.40', undefined, { signal: new AbortController().signal })).toMatchObject({ name, type: 'A', value: '192.168.1.40' });
    expect(await api.list(name, { signal: AbortSignal.timeout(5_000) })).toHaveLength(1);
    expect(await api.remove(name, {}, {})).toEqual({ deleted: 1 });
  });

  it('against a server that never answers (no TLS handshake), abort ends each call at once with `aborted` and closes its socket (timeout 15 s)', async () => {
    const api = new DnsUpdateClient({ baseUrl: `https://127.0.0.1:${silent.port}`, box });
    const name = `local.${box.fingerprint}.${ZONE}`;
    await expectEachAbortedAtOnce(silent, [
      ['set', (signal) => api.set(name, 'A', '192.168.1.41', undefined, { signal })],
      ['remove', (signal) => api.remove(name, { type: 'A' }, { signal })],
      ['register', (signal) => api.register({ client: 'c', message: 'm' }, { signal })],
      ['list', (signal) => api.list(name, { signal })],
    ]);
    const before = silent.asked.size;
    expect((await rejection(api.list(name, { signal: AbortSignal.abort() }))).code).toBe('aborted');
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(silent.asked.size).toBe(before);
  });

  it('a proxy cutting the real update API\'s answer halfway: network_error (status 0, retryable), not a resolved `{}` or a hang', async () => {
    const proxy = await tlsServer((request, response) => {
      // Passes the request on to the real update API as the box, and cuts the answer after 5 bytes.
      const forwarded = httpsRequest(new URL(request.url ?? '/', runtime.updateApi!.url), { method: request.method, headers: request.headers, key: box.keyPem, cert: box.certPem, ca: runtime.updateCertPem!, agent: false, checkServerIdentity: () => undefined }, (answer) => {
        response.writeHead(answer.statusCode ?? 502, answer.headers);
        answer.once('data', (chunk: Buffer) => {
          response.write(chunk.subarray(0, 5));
          setTimeout(() => response.destroy(), 20);
        });
      });
      request.pipe(forwarded);
    });
    try {
      const api = proxy.client();
      const name = `local.${box.fingerprint}.${ZONE}`;
      // One call at a time: the second, started before the first was awaited, could fail with no
      // handler yet, an unhandled rejection the runner counts as a failure.
      for (const call of [() => api.set(name, 'A', '192.168.1.42'), () => api.list(name)]) {
        const error = await rejection(call());
        expect(error).toMatchObject({ code: 'network_error', status: 0, retryable: true });
        expect(error.message).toContain('Lost the answer of https://127.0.0.1:');
      }
    } finally {
      proxy.close();
    }
  });

  it('an answer whose body stops coming: network_error naming the timeout, within the timeout', async () => {
    const stalled = await tlsServer((request, response) => {
      response.writeHead(200, { 'content-type': 'application/json' });
      response.write('{"records":');
    });
    try {
      const started = Date.now();
      const error = await rejection(stalled.client(500).list(`x.${ZONE}`));
      expect(error).toMatchObject({ code: 'network_error', status: 0 });
      expect(error.message).toContain('timed out');
      expect(Date.now() - started).toBeLessThan(2_000);
    } finally {
      stalled.close();
    }
  });

  it('a whole 200 that is not JSON: not_pairgate (it resolved `{}`, so `set` "succeeded" with no record)', async () => {
    const page = await tlsServer((request, response) => response.writeHead(200, { 'content-type': 'text/html' }).end('<html>hello</html>'));
    try {
      const error = await rejection(page.client().set(`local.${box.fingerprint}.${ZONE}`, 'A', '192.168.1.43'));
      expect(error).toMatchObject({ code: 'not_pairgate', status: 200, retryable: false });
      expect(error.message).toMatch(/answered POST \/v1\/dns\/.* with text\/html/);
    } finally {
      page.close();
    }
  });
});
