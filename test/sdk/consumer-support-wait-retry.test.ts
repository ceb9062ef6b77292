import { createServer, request as httpRequest, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { confirmPairing, SupportOriginClient, type PairgateApiError } from '../../src/sdk/index.js';
import { ADMIN, useSupportServers } from '../doors/support/helpers.js';
import { listening } from './consumer-sdk-helpers.js';

const AVATAR = 'https://avatars.example/thorsten.png';

/** How the proxy answers one long-poll: passed on, a stopping node's 503 (with a Retry-After in s), or the connection cut unanswered. */
type Failure = { kind: 'unavailable'; retryAfter?: number } | { kind: 'cut' };

/** `call`, with whether it has settled yet (a wait that failed early is then reported as it failed, not as a poll's timeout). */
function watched<T>(call: Promise<T>): { outcome: Promise<T | unknown>; settled: () => boolean } {
  let done = false;
  const outcome = call.then(
    (value) => value,
    (error: unknown) => error,
  ).finally(() => {
    done = true;
  });
  return { outcome, settled: () => done };
}

/** One passing failure as `onRetry` was told of it. */
interface Retried {
  status: number;
  code: string;
  pauseMs: number;
}

describe('SDK waitForState rides out a server restarting (503s, cut connections) as waitForDecision does', () => {
  const servers = useSupportServers();
  /** What the next long-polls (`?wait=`) meet, in order; once empty, they are passed on. */
  let failures: Failure[] = [];
  let passedLongPolls = 0;
  let proxy: Awaited<ReturnType<typeof listening<Server>>>;

  /** Passes a request on to the real origin and its answer back. */
  function passOn(request: IncomingMessage, response: ServerResponse): void {
    const forwarded = httpRequest(new URL(request.url ?? '/', servers.origin.url), { method: request.method, headers: request.headers }, (answer) => {
      response.writeHead(answer.statusCode ?? 502, answer.headers);
      answer.pipe(response);
    });
    forwarded.on('error', () => response.destroy());
    request.pipe(forwarded);
  }

  beforeAll(async () => {
    // The first read of each wait always reaches the origin; the long-polls after it meet `failures`.
    proxy = await listening(
      createServer((request, response) => {
        const failure = request.url?.includes('wait=') ? failures.shift() : undefined;
        if (!failure) {
          if (request.url?.includes('wait=')) passedLongPolls += 1;
          passOn(request, response);
        } else if (failure.kind === 'cut') {
          request.socket.destroy();
        } else {
          const retryAfter = failure.retryAfter === undefined ? {} : { 'retry-after': String(failure.retryAfter) };
          response.writeHead(503, { 'content-type': 'application/json', ...retryAfter }).end('{"error":"shutting_down","message":"The server is stopping."}');
        }
      }),
    );
  });
  afterAll(() => {
    proxy?.server.closeAllConnections();
    proxy?.server.close();
  });
  beforeEach(() => {
    failures = [];
    passedLongPolls = 0;
  });

  /** A client of the origin through the proxy, and the `onRetry` that records what it is told. */
  function proxiedClient(): { sdk: SupportOriginClient; retried: Retried[]; onRetry: (error: PairgateApiError, pauseMs: number) => void } {
    const retried: Retried[] = [];
    return { sdk: new SupportOriginClient({ baseUrl: proxy.url, ...ADMIN }), retried, onRetry: (error, pauseMs) => retried.push({ status: error.status, code: error.code, pauseMs }) };
  }

  it('503s and cut connections while waiting are asked again after pauses (the option\'s, doubling), and the wait resolves once the person confirms', async () => {
    const created = await servers.sdk.createSession({ id: 'retry-confirmed', supporterName: 'T', supporterAvatar: AVATAR });
    failures = [{ kind: 'unavailable' }, { kind: 'cut' }, { kind: 'unavailable' }, { kind: 'cut' }];
    const { sdk, retried, onRetry } = proxiedClient();
    const { outcome, settled } = watched(sdk.waitForState('retry-confirmed', ['confirmed'], { maxSeconds: 60, onRetry, firstRetryPauseMs: 10 }));
    // The server is back: the long-poll after the failures reaches it and is held there.
    await expect.poll(() => passedLongPolls === 1 || settled()).toBe(true);
    await confirmPairing(`${servers.origin.url}/pairing/${created.PairingCode}`, 'accept');
    expect(await outcome).toMatchObject({ ID: 'retry-confirmed', State: 'confirmed' });
    expect(retried).toEqual([
      { status: 503, code: 'shutting_down', pauseMs: 10 },
      { status: 0, code: 'network_error', pauseMs: 20 },
      { status: 503, code: 'shutting_down', pauseMs: 40 },
      { status: 0, code: 'network_error', pauseMs: 80 },
    ]);
  });

  it('503s saying Retry-After: 0 again and again are asked again after the doubling pauses, not at once', async () => {
    const created = await servers.sdk.createSession({ id: 'retry-after-zero', supporterName: 'T', supporterAvatar: AVATAR });
    failures = [{ kind: 'unavailable', retryAfter: 0 }, { kind: 'unavailable', retryAfter: 0 }, { kind: 'unavailable', retryAfter: 0 }];
    const { sdk, retried, onRetry } = proxiedClient();
    const { outcome, settled } = watched(sdk.waitForState('retry-after-zero', ['confirmed'], { maxSeconds: 60, onRetry, firstRetryPauseMs: 10 }));
    await expect.poll(() => passedLongPolls === 1 || settled()).toBe(true);
    await confirmPairing(`${servers.origin.url}/pairing/${created.PairingCode}`, 'accept');
    expect(await outcome).toMatchObject({ ID: 'retry-after-zero', State: 'confirmed' });
    expect(retried.map((r) => r.pauseMs)).toEqual([10, 20, 40]);
  });

  it('an abort during the pause of a 503\'s Retry-After (30 s) ends the wait at once with code `aborted`', async () => {
    await servers.sdk.createSession({ id: 'retry-aborted', supporterName: 'T', supporterAvatar: AVATAR });
    failures = [{ kind: 'unavailable', retryAfter: 30 }];
    const { sdk, retried, onRetry } = proxiedClient();
    const controller = new AbortController();
    const { outcome, settled } = watched(sdk.waitForState('retry-aborted', ['confirmed'], { signal: controller.signal, onRetry, firstRetryPauseMs: 10 }));
    await expect.poll(() => retried.length > 0 || settled()).toBe(true);
    expect(retried).toEqual([{ status: 503, code: 'shutting_down', pauseMs: 30_000 }]);
    const abortedAt = Date.now();
    controller.abort(new Error('Ctrl-C'));
    const error = await outcome;
    expect(error).toMatchObject({ name: 'PairgateApiError', code: 'aborted', status: 0 });
    expect(((error as Error).cause as Error).message).toBe('Ctrl-C');
    // Far sooner than the 30 s pause (generous, for a loaded machine).
    expect(Date.now() - abortedAt).toBeLessThan(5_000);
    expect(passedLongPolls).toBe(0);
  });

  it('a Retry-After past the deadline is cut to it: the wait returns the session as last seen at its deadline', async () => {
    await servers.sdk.createSession({ id: 'retry-deadline', supporterName: 'T', supporterAvatar: AVATAR });
    failures = [{ kind: 'unavailable', retryAfter: 30 }];
    const { sdk, retried, onRetry } = proxiedClient();
    expect(await sdk.waitForState('retry-deadline', ['confirmed'], { maxSeconds: 1, onRetry })).toMatchObject({ ID: 'retry-deadline', State: 'waiting' });
    expect(retried).toHaveLength(1);
    expect(retried[0]!.pauseMs).toBeGreaterThanOrEqual(0);
    expect(retried[0]!.pauseMs).toBeLessThanOrEqual(1_000);
    expect(passedLongPolls).toBe(0);
  });

  it('after a passing 503, a 404 (the session deleted meanwhile) ends the wait with session_not_found, not retried', async () => {
    await servers.sdk.createSession({ id: 'retry-deleted', supporterName: 'T', supporterAvatar: AVATAR });
    failures = [{ kind: 'unavailable' }];
    const { sdk, retried, onRetry } = proxiedClient();
    // A wait that retried the 404 would end at its deadline with the session as last seen instead.
    const { outcome, settled } = watched(sdk.waitForState('retry-deleted', ['confirmed'], { maxSeconds: 5, onRetry, firstRetryPauseMs: 10 }));
    await expect.poll(() => passedLongPolls === 1 || settled()).toBe(true);
    await servers.sdk.deleteSession('retry-deleted');
    expect(await outcome).toMatchObject({ status: 404, code: 'session_not_found' });
    expect(retried).toEqual([{ status: 503, code: 'shutting_down', pauseMs: 10 }]);
    // Nothing more was asked after the 404.
    expect(passedLongPolls).toBe(1);
  });
});
