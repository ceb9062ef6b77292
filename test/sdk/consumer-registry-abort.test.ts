import { createServer, request as httpRequest } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createSelfSigned, type KeyAndCertificate } from '../../src/doors/registry/self-signed.js';
import { spkiFingerprint } from '../../src/core/fingerprint.js';
import { X509Certificate } from 'node:crypto';
import { pinnedGet, type Pin } from '../../src/sdk/box-discovery.js';
import { keepAnnouncing, RegistryClient } from '../../src/sdk/registry.js';
import { createTestApp, type TestApp } from '../helpers/app.js';
import { expectEachAbortedAtOnce, listening, rejection, silentListener, type SilentListener } from './consumer-sdk-helpers.js';

describe('SDK RegistryClient and pinnedGet: AbortSignal, answers cut or stalled mid-body, pages', () => {
  let t: TestApp;
  let silent: SilentListener;
  let keys: KeyAndCertificate;
  beforeAll(async () => {
    t = await createTestApp();
    await t.listen();
    silent = await silentListener();
    keys = await createSelfSigned({ commonName: 'box', altNames: ['127.0.0.1'] });
  });
  afterAll(async () => {
    silent?.close();
    await t?.close();
  });

  it('against a server that never answers, abort ends announce, ping and findBoxes at once with `aborted` (timeout 15 s)', async () => {
    const registry = new RegistryClient({ baseUrl: `http://127.0.0.1:${silent.port}` });
    await expectEachAbortedAtOnce(silent, [
      ['announce', (signal) => registry.announce(keys, { client: 'c', message: 'm' }, { signal })],
      ['ping', (signal) => registry.ping({ signal })],
      ['findBoxes', (signal) => registry.findBoxes({ signal })],
    ]);
  });

  it('stopping keepAnnouncing cancels the announcement under way (its connection closed at once), and reports nothing of it', async () => {
    const errors: unknown[] = [];
    const before = silent.asked.size;
    const stop = keepAnnouncing(new RegistryClient({ baseUrl: `http://127.0.0.1:${silent.port}` }), keys, () => ({ client: 'c', message: 'm' }), { onError: (error) => errors.push(error) });
    await expect.poll(() => silent.asked.size).toBeGreaterThan(before);
    stop();
    const open = (): number => [...silent.asked].filter((socket) => !silent.closedAt.has(socket)).length;
    await expect.poll(open, { timeout: 500 }).toBe(0);
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(errors).toEqual([]);
  });

  it('a proxy cutting the real registry\'s answer halfway: network_error, not a SyntaxError; a page is not_pairgate', async () => {
    const proxy = await listening(
      createServer((request, response) => {
        const forwarded = httpRequest(new URL(request.url ?? '/', t.url), { method: request.method, headers: request.headers }, (answer) => {
          response.writeHead(answer.statusCode ?? 502, answer.headers);
          answer.once('data', (chunk: Buffer) => {
            response.write(chunk.subarray(0, 1));
            setTimeout(() => response.destroy(), 20);
          });
        });
        request.pipe(forwarded);
      }),
    );
    try {
      const error = await rejection(new RegistryClient({ baseUrl: proxy.url }).ping());
      expect(error).toMatchObject({ code: 'network_error', status: 0, retryable: true });
      expect(error.message).toContain(`Lost the answer of ${proxy.url} halfway`);
    } finally {
      proxy.server.closeAllConnections();
      proxy.server.close();
    }
    const page = await listening(createServer((request, response) => response.writeHead(200, { 'content-type': 'text/html' }).end('<html></html>')));
    try {
      const error = await rejection(new RegistryClient({ baseUrl: page.url }).ping());
      expect(error).toMatchObject({ code: 'not_pairgate', status: 200 });
      expect(error.message).toContain(`${page.url} answered GET /ping with text/html`);
    } finally {
      page.server.close();
    }
  });

  it('pinnedGet: abort closes the connection at once (`aborted`); an answer cut halfway is network_error, one that stalls ends at its timeout', async () => {
    const pin: Pin = { fingerprint: spkiFingerprint(new X509Certificate(keys.certPem).publicKey.export({ type: 'spki', format: 'der' })), certPem: keys.certPem, firstSeen: new Date().toISOString() };
    const box = await listening(
      createHttpsServer({ key: keys.keyPem, cert: keys.certPem }, (request, response) => {
        response.writeHead(200, { 'content-type': 'application/json' });
        response.write('{"name":');
        if (request.url === '/cut') setTimeout(() => response.destroy(), 20);
      }),
      'https',
    );
    try {
      const controller = new AbortController();
      const asked = pinnedGet(`${box.url}/stall`, pin, 15_000, { signal: controller.signal });
      await new Promise((resolve) => setTimeout(resolve, 200));
      const abortedAt = Date.now();
      controller.abort();
      expect((await rejection(asked)).code).toBe('aborted');
      expect(Date.now() - abortedAt).toBeLessThan(200);
      expect(await rejection(pinnedGet(`${box.url}/cut`, pin))).toMatchObject({ code: 'network_error', status: 0 });
      const started = Date.now();
      const stalled = await pinnedGet(`${box.url}/stall`, pin, 500).then(() => undefined, (error: unknown) => error);
      expect(Date.now() - started).toBeLessThan(2_000);
      expect(stalled).toMatchObject({ code: 'network_error' });
    } finally {
      box.server.closeAllConnections();
      box.server.close();
    }
  });

  it('pinnedGet reads no more than 1 MiB of an answer: an endless one, or one whose length says more, is answer_too_large at once', async () => {
    const pin: Pin = { fingerprint: spkiFingerprint(new X509Certificate(keys.certPem).publicKey.export({ type: 'spki', format: 'der' })), certPem: keys.certPem, firstSeen: new Date().toISOString() };
    const box = await listening(
      createHttpsServer({ key: keys.keyPem, cert: keys.certPem }, (request, response) => {
        if (request.url === '/declared') {
          response.writeHead(200, { 'content-type': 'application/json', 'content-length': String(2 * 1024 * 1024) });
          response.write('{');
          return;
        }
        response.writeHead(200, { 'content-type': 'application/json' });
        const chunk = Buffer.alloc(64 * 1024, 0x20);
        const more = (): void => {
          while (!response.destroyed && response.write(chunk));
          if (!response.destroyed) response.once('drain', more);
        };
        more();
      }),
      'https',
    );
    try {
      for (const path of ['/endless', '/declared']) {
        const started = Date.now();
        expect(await rejection(pinnedGet(`${box.url}${path}`, pin, 10_000)), path).toMatchObject({ code: 'answer_too_large', status: 200, message: expect.stringContaining(`GET ${path} with a body larger than 1 MiB`) });
        expect(Date.now() - started, path).toBeLessThan(5_000);
      }
    } finally {
      box.server.closeAllConnections();
      box.server.close();
    }
  });
});
