import { createServer, request as httpRequest } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { confirmPairing, connectAgent, fetchPairingInfo, SupportOriginClient, SupportRelayClient } from '../../src/sdk/support.js';
import { createTestApp, type TestApp } from '../helpers/app.js';
import { ADMIN, RELAY_TEST_ENV, startOrigin, startRelay } from '../doors/support/helpers.js';
import { expectEachAbortedAtOnce, listening, rejection, silentListener, type SilentListener } from './consumer-sdk-helpers.js';

const AVATAR = 'https://avatars.example/thorsten.png';

describe('SDK support clients: every call takes an AbortSignal', () => {
  let relay: TestApp;
  let origin: TestApp;
  let silent: SilentListener;
  const longPollClosed = new Map<string, number>();
  beforeAll(async () => {
    relay = await startRelay();
    origin = await createTestApp({ PLEXUS_AUTH_USER: ADMIN.user, PLEXUS_AUTH_PASS: ADMIN.password, PLEXUS_PAIRING_URL: `${relay.url}/pairing/`, ...RELAY_TEST_ENV });
    // When the socket of each long-poll on a session closes, as the server sees it.
    origin.app.addHook('onRequest', async (request) => {
      if (request.method === 'GET' && request.routeOptions.url === '/session/:id' && request.url.includes('wait=')) {
        const { id } = request.params as { id: string };
        request.raw.socket.once('close', () => longPollClosed.set(id, Date.now()));
      }
    });
    await origin.listen();
    silent = await silentListener();
  });
  afterAll(async () => {
    silent?.close();
    await origin?.close();
    await relay?.close();
  });

  it('aborting waitForState (which waits up to 600 s) ends it at once with code `aborted`, and its long-poll connection is closed at once', async () => {
    const sdk = new SupportOriginClient({ baseUrl: origin.url, ...ADMIN });
    await sdk.createSession({ id: 'abort-wait', supporterName: 'T', supporterAvatar: AVATAR });
    const controller = new AbortController();
    const waiting = sdk.waitForState('abort-wait', ['connected'], { signal: controller.signal });
    await new Promise((resolve) => setTimeout(resolve, 400)); // the long-poll is held by now
    const abortedAt = Date.now();
    controller.abort(new Error('Ctrl-C'));
    const error = await rejection(waiting);
    expect(error).toMatchObject({ code: 'aborted', status: 0, retryable: false });
    expect((error.cause as Error).message).toBe('Ctrl-C');
    expect(Date.now() - abortedAt).toBeLessThan(200);
    await expect.poll(() => longPollClosed.get('abort-wait'), { timeout: 1_000 }).toBeDefined();
    expect(longPollClosed.get('abort-wait')! - abortedAt).toBeLessThan(500);
    // The positional form still works, and a wait not cancelled still ends on its state.
    expect(await sdk.waitForState('abort-wait', ['waiting'], 5)).toMatchObject({ State: 'waiting' });
  });

  it('against a server that never answers, abort ends each call of the origin and relay clients and the agent functions at once (timeouts 15 s)', async () => {
    const base = `http://127.0.0.1:${silent.port}`;
    const sdk = new SupportOriginClient({ baseUrl: base, ...ADMIN });
    const relayClient = new SupportRelayClient(base);
    await expectEachAbortedAtOnce(silent, [
      ['createSession', (signal) => sdk.createSession({ id: 'x' }, { signal })],
      ['createSession multipart', (signal) => sdk.createSession({ id: 'x' }, { encoding: 'multipart', signal })],
      ['newCode', (signal) => sdk.newCode('x', { signal })],
      ['getSession', (signal) => sdk.getSession('x', { waitSeconds: 30, since: 1, signal })],
      ['waitForState', (signal) => sdk.waitForState('x', ['connected'], { signal })],
      ['listSessions', (signal) => sdk.listSessions({ signal })],
      ['deleteSession', (signal) => sdk.deleteSession('x', { signal })],
      ['attach', (signal) => sdk.attach('x', { signal })],
      ['relay publish', (signal) => relayClient.publish('https://origin.example/pairing/x', undefined, { signal })],
      ['relay resolve', (signal) => relayClient.resolve('abc', { signal })],
      ['fetchPairingInfo', (signal) => fetchPairingInfo(`${base}/pairing/x`, undefined, { signal })],
      ['confirmPairing', (signal) => confirmPairing(`${base}/pairing/x`, 'accept', undefined, { signal })],
      ['connectAgent', (signal) => connectAgent(`ws://127.0.0.1:${silent.port}/agent`, 'credential', 'test', { signal })],
    ]);
  });

  it('a signal already aborted sends nothing', async () => {
    const before = silent.asked.size;
    const error = await rejection(new SupportOriginClient({ baseUrl: `http://127.0.0.1:${silent.port}`, ...ADMIN }).listSessions({ signal: AbortSignal.abort() }));
    expect(error.code).toBe('aborted');
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(silent.asked.size).toBe(before);
  });
});

describe('SDK support clients: an answer cut or stalled mid-body is a network failure, a page is not pairgate', () => {
  let relay: TestApp;
  let origin: TestApp;
  beforeAll(async () => {
    relay = await startRelay();
    origin = await startOrigin(relay.url);
  });
  afterAll(async () => {
    await origin?.close();
    await relay?.close();
  });

  it('a proxy cutting the real origin\'s answer halfway: network_error (status 0, retryable) naming the origin, not a SyntaxError', async () => {
    await new SupportOriginClient({ baseUrl: origin.url, ...ADMIN }).createSession({ id: 'cut-read', supporterName: 'T', supporterAvatar: AVATAR });
    // Passes requests on to the real origin and cuts every answer after its first 5 bytes.
    const proxy = await listening(
      createServer((request, response) => {
        const forwarded = httpRequest(new URL(request.url ?? '/', origin.url), { method: request.method, headers: request.headers }, (answer) => {
          response.writeHead(answer.statusCode ?? 502, answer.headers);
          answer.once('data', (chunk: Buffer) => {
            response.write(chunk.subarray(0, 5));
            setTimeout(() => response.destroy(), 20);
          });
        });
        request.pipe(forwarded);
      }),
    );
    try {
      const sdk = new SupportOriginClient({ baseUrl: proxy.url, ...ADMIN });
      // One call at a time: a later one, started before the first was awaited, could fail with no
      // handler yet, an unhandled rejection the runner counts as a failure.
      for (const call of [() => sdk.getSession('cut-read'), () => sdk.listSessions(), () => sdk.newCode('cut-read')]) {
        const error = await rejection(call());
        expect(error).toMatchObject({ code: 'network_error', status: 0, retryable: true });
        expect(error.message).toContain(`Lost the answer of ${proxy.url} halfway`);
      }
    } finally {
      proxy.server.closeAllConnections();
      proxy.server.close();
    }
  });

  it('an answer whose body stops coming: network_error naming the timeout, within the timeout', async () => {
    const stalled = await listening(
      createServer((request, response) => {
        response.writeHead(200, { 'content-type': 'application/json' });
        response.write('{"ID":');
      }),
    );
    try {
      const started = Date.now();
      const error = await rejection(new SupportOriginClient({ baseUrl: stalled.url, ...ADMIN, timeoutMs: 500 }).getSession('x'));
      expect(error).toMatchObject({ code: 'network_error', status: 0 });
      expect(error.message).toContain('timed out');
      expect(Date.now() - started).toBeLessThan(2_000);
    } finally {
      stalled.server.closeAllConnections();
      stalled.server.close();
    }
  });

  it('a whole 200 that is not JSON (a web server\'s page): not_pairgate, naming the URL', async () => {
    const page = await listening(createServer((request, response) => response.writeHead(200, { 'content-type': 'text/html' }).end('<html>hello</html>')));
    try {
      const error = await rejection(new SupportOriginClient({ baseUrl: page.url, ...ADMIN }).getSession('x'));
      expect(error).toMatchObject({ code: 'not_pairgate', status: 200, retryable: false });
      expect(error.message).toContain(`${page.url} answered GET /session/x with text/html`);
    } finally {
      page.server.close();
    }
  });
});
