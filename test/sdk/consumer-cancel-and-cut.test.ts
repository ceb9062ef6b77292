import { createServer as createTcpServer, type Server as TcpServer, type Socket } from 'node:net';
import { createServer, request as httpRequest } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PairgateClient } from '../../src/sdk/index.js';
import { createTestApp, type TestApp } from '../helpers/app.js';
import { listening, rejection } from './consumer-sdk-helpers.js';

describe('SDK consumer: cancelling a call with an AbortSignal', () => {
  let t: TestApp;
  const longPollClosed = new Map<string, number>();
  let silent: { server: TcpServer; url: string };
  const silentSockets: Socket[] = [];
  beforeAll(async () => {
    t = await createTestApp();
    // When the socket of each long-poll on a grant closes, as the server sees it.
    t.app.addHook('onRequest', async (request) => {
      if (request.method === 'GET' && request.routeOptions.url === '/api/v1/grants/:id' && request.url.includes('wait=')) {
        const { id } = request.params as { id: string };
        request.raw.socket.once('close', () => longPollClosed.set(id, Date.now()));
      }
    });
    await t.listen();
    // Accepts connections and never answers.
    silent = await listening(createTcpServer((socket) => silentSockets.push(socket.on('data', () => undefined))));
  });
  afterAll(async () => {
    for (const socket of silentSockets) socket.destroy();
    silent?.server.close();
    await t?.close();
  });

  it('aborting waitForDecision ends it at once with code `aborted`, and the long-poll connection is closed at once', async () => {
    const sdk = new PairgateClient({ baseUrl: t.url });
    const created = await sdk.createGrant({ label: 'cancelled by the integrator' });
    const controller = new AbortController();
    const waiting = sdk.waitForDecision(created.id, { maxSeconds: 30, signal: controller.signal });
    await new Promise((resolve) => setTimeout(resolve, 300)); // the long-poll is held by now
    const abortedAt = Date.now();
    controller.abort();
    const error = await rejection(waiting);
    expect(error).toMatchObject({ code: 'aborted', status: 0 });
    expect(Date.now() - abortedAt).toBeLessThan(200);
    await expect.poll(() => longPollClosed.get(created.id), { timeout: 1_000 }).toBeDefined();
    expect(longPollClosed.get(created.id)! - abortedAt).toBeLessThan(500);
  });

  it('a signal already aborted sends nothing', async () => {
    const sdk = new PairgateClient({ baseUrl: silent.url });
    const before = silentSockets.length;
    const error = await rejection(sdk.health({ signal: AbortSignal.abort() }));
    expect(error.code).toBe('aborted');
    expect(silentSockets.length).toBe(before);
  });

  it('every call takes a signal: against a server that never answers, abort ends each one at once (timeout 15 s)', async () => {
    const sdk = new PairgateClient({ baseUrl: silent.url });
    const calls: Array<(signal: AbortSignal) => Promise<unknown>> = [
      (signal) => sdk.health({ signal }),
      (signal) => sdk.createGrant({ label: 'x' }, { signal }),
      (signal) => sdk.getGrant('0123456789abcdef', { waitSeconds: 30, signal }),
      (signal) => sdk.lookupCode('abcd-efgh-j', { signal }),
      (signal) => sdk.approveCode('abcd-efgh-j', 'ok', { signal }),
      (signal) => sdk.refuseCode('abcd-efgh-j', undefined, { signal }),
      (signal) => sdk.redeem('0123456789abcdef', 'a-secret-of-some-length', { signal }),
      (signal) => sdk.waitForDecision('0123456789abcdef', { signal }),
    ];
    for (const call of calls) {
      const started = Date.now();
      const error = await rejection(call(AbortSignal.timeout(150)));
      expect(error.code).toBe('aborted');
      expect(Date.now() - started).toBeLessThan(1_000);
    }
  });

  it('aborting during the pause after a 503 with Retry-After: 30 ends the wait at once, not after the pause', async () => {
    const created = await new PairgateClient({ baseUrl: t.url }).createGrant({ label: 'server away' });
    // The first read reaches the server; every long-poll after it is a stopping node's 503.
    const away = await listening(
      createServer((request, response) => {
        if (!request.url?.includes('wait=')) {
          const forwarded = httpRequest(new URL(request.url ?? '/', t.url), { headers: request.headers }, (answer) => {
            response.writeHead(answer.statusCode ?? 502, answer.headers);
            answer.pipe(response);
          });
          forwarded.end();
          return;
        }
        response.writeHead(503, { 'content-type': 'application/json', 'retry-after': '30' }).end('{"error":"shutting_down","message":"Stopping."}');
      }),
    );
    try {
      const controller = new AbortController();
      const retries: number[] = [];
      const waiting = new PairgateClient({ baseUrl: away.url }).waitForDecision(created.id, {
        maxSeconds: 60,
        signal: controller.signal,
        onRetry: (error, pauseMs) => retries.push(pauseMs),
      });
      await expect.poll(() => retries).toEqual([30_000]);
      const abortedAt = Date.now();
      controller.abort();
      expect((await rejection(waiting)).code).toBe('aborted');
      expect(Date.now() - abortedAt).toBeLessThan(200);
    } finally {
      away.server.close();
    }
  });
});

describe('SDK consumer: an answer cut off or stalled mid-body is a network failure, not "not pairgate"', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await createTestApp();
    await t.listen();
  });
  afterAll(async () => {
    await t?.close();
  });

  it('a connection closed halfway through a JSON answer: network_error (status 0), worth retrying', async () => {
    const cut = await listening(
      createServer((request, response) => {
        response.writeHead(200, { 'content-type': 'application/json' });
        response.write('{"status":');
        setTimeout(() => response.destroy(), 50);
      }),
    );
    try {
      const error = await rejection(new PairgateClient({ baseUrl: cut.url }).health());
      expect(error).toMatchObject({ code: 'network_error', status: 0 });
      expect(error.message).toContain(cut.url);
    } finally {
      cut.server.close();
    }
  });

  it('an answer whose body stops coming: network_error naming the timeout, within the timeout', async () => {
    const stalled = await listening(
      createServer((request, response) => {
        response.writeHead(200, { 'content-type': 'application/json' });
        response.write('{"status":');
      }),
    );
    try {
      const started = Date.now();
      const error = await rejection(new PairgateClient({ baseUrl: stalled.url, timeoutMs: 500 }).health());
      expect(error).toMatchObject({ code: 'network_error', status: 0 });
      expect(error.message).toContain('timed out');
      expect(Date.now() - started).toBeLessThan(2_000);
    } finally {
      stalled.server.closeAllConnections();
      stalled.server.close();
    }
  });

  it('waitForDecision goes on when a proxy cuts a long-poll answer mid-body, and sees the approval', async () => {
    const sdk = new PairgateClient({ baseUrl: t.url });
    const created = await sdk.createGrant({ label: 'cut once' });
    let cutOne = false;
    // Passes everything on, except that the first long-poll's answer is cut after its first bytes.
    const proxy = await listening(
      createServer((request, response) => {
        const forwarded = httpRequest(new URL(request.url ?? '/', t.url), { method: request.method, headers: request.headers }, (answer) => {
          response.writeHead(answer.statusCode ?? 502, answer.headers);
          if (!cutOne && request.url?.includes('wait=')) {
            cutOne = true;
            answer.once('data', (chunk: Buffer) => {
              response.write(chunk.subarray(0, 5));
              setTimeout(() => response.destroy(), 20);
            });
            return;
          }
          answer.pipe(response);
        });
        request.pipe(forwarded);
      }),
    );
    try {
      const retried: string[] = [];
      const waiting = new PairgateClient({ baseUrl: proxy.url }).waitForDecision(created.id, { maxSeconds: 30, onRetry: (error) => retried.push(error.code) });
      setTimeout(() => void sdk.approveCode(created.code), 300);
      expect(await waiting).toMatchObject({ state: 'approved' });
      expect(retried).toEqual(['network_error']);
    } finally {
      proxy.server.closeAllConnections();
      proxy.server.close();
    }
  });
});
