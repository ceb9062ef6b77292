import type { FastifyReply, FastifyRequest } from 'fastify';
import { InvalidRequestError, RateLimitedError } from '../../core/errors.js';
import type { Grant } from '../../core/grant.js';
import { isFinal } from '../../core/grant-machine.js';
import type { DoorContext } from '../door.js';

/**
 * Waiting for a grant's change, shared by every door: long-poll (`?wait=<s>` or `Prefer: wait=<s>`)
 * and server-sent events. Both answer the instant the engine publishes a transition.
 */

/** Seconds a client asked to wait, bounded by the server's maximum; 0 = answer at once. */
export function requestedWaitSeconds(request: FastifyRequest, max: number): number {
  const query = (request.query ?? {}) as Record<string, unknown>;
  let raw: unknown = query.wait;
  if (raw === undefined) {
    const prefer = request.headers.prefer;
    const match = typeof prefer === 'string' ? /(?:^|[,;\s])wait=(\d+)/i.exec(prefer) : null;
    raw = match?.[1];
  }
  if (raw === undefined || raw === '') return 0;
  const seconds = Number(raw);
  if (!Number.isFinite(seconds) || seconds < 0) {
    throw new InvalidRequestError('wait must be a number of seconds >= 0.', undefined, 'invalid_wait');
  }
  return Math.min(seconds, max);
}

/**
 * Long-poll: waits up to `seconds` for grant `id` to move past `sinceVersion` (when given) or past
 * the version it has now, and returns it as it then is. Ends early when the client goes away or the
 * server shuts down. A client holding all its wait slots (WaitSlots) gets the grant at once.
 */
export async function waitForGrant<Request, Result>(
  ctx: DoorContext,
  request: FastifyRequest,
  id: string,
  seconds: number,
  sinceVersion?: number,
): Promise<Grant<Request, Result> | undefined> {
  const current = await ctx.engine.get<Request, Result>(id);
  if (!current || seconds <= 0) return current;
  const since = sinceVersion ?? current.version;
  if (current.version > since || isFinal(ctx.engine.stateOf(current))) return current;
  const release = ctx.waitSlots.take(request.clientNetwork);
  if (!release) return current;
  try {
    return await waitInSlot<Request, Result>(ctx, request, id, seconds, since);
  } finally {
    release();
  }
}

/** The wait itself, for a caller holding a wait slot. */
async function waitInSlot<Request, Result>(ctx: DoorContext, request: FastifyRequest, id: string, seconds: number, since: number): Promise<Grant<Request, Result> | undefined> {
  const abort = new AbortController();
  const onGone = (): void => abort.abort();
  request.raw.once('close', onGone);
  ctx.shutdownSignal.addEventListener('abort', onGone, { once: true });
  try {
    return await ctx.engine.waitForChange<Request, Result>(id, since, seconds * 1000, abort.signal);
  } finally {
    request.raw.off('close', onGone);
    ctx.shutdownSignal.removeEventListener('abort', onGone);
  }
}

/**
 * Server-sent events: sends `render(grant)` as a `state` event now and on every change, and ends
 * the stream when the grant is final (or `done(grant)` says so) or gone (`gone` event), after
 * `maxSeconds`, or at shutdown. A client holding all its wait slots (WaitSlots) is refused (429).
 */
export async function streamGrant<Request, Result>(
  ctx: DoorContext,
  request: FastifyRequest,
  reply: FastifyReply,
  id: string,
  render: (grant: Grant<Request, Result>) => unknown,
  maxSeconds: number,
  done: (grant: Grant<Request, Result>) => boolean = () => false,
): Promise<void> {
  const first = await ctx.engine.get<Request, Result>(id);
  if (!first) return; // the caller answers 404 before streaming
  const release = ctx.waitSlots.take(request.clientNetwork);
  if (!release) throw new RateLimitedError(5, 'This address holds too many open waits and streams. Close one, or try again shortly.');
  try {
    await streamTo(ctx, request, reply, id, first, render, maxSeconds, done);
  } finally {
    release();
  }
}

async function streamTo<Request, Result>(
  ctx: DoorContext,
  request: FastifyRequest,
  reply: FastifyReply,
  id: string,
  first: Grant<Request, Result>,
  render: (grant: Grant<Request, Result>) => unknown,
  maxSeconds: number,
  done: (grant: Grant<Request, Result>) => boolean,
): Promise<void> {
  reply.hijack();
  const raw = reply.raw;
  raw.writeHead(200, {
    'content-type': 'text/event-stream; charset=utf-8',
    'cache-control': 'no-store',
    connection: 'keep-alive',
    'x-accel-buffering': 'no',
  });
  const send = (event: string, data: unknown): void => {
    raw.write(`event: ${event}\ndata: ${JSON.stringify(data)}\n\n`);
  };
  const deadline = Date.now() + maxSeconds * 1000;
  let grant: Grant<Request, Result> | undefined = first;
  let closed = false;
  request.raw.once('close', () => {
    closed = true;
  });
  let sentVersion = -1;
  while (grant && !closed && !ctx.shutdownSignal.aborted) {
    if (grant.version !== sentVersion) {
      send('state', render(grant));
      sentVersion = grant.version;
    } else {
      // No change in this round: a comment keeps proxies from closing an idle stream.
      raw.write(': keep-alive\n\n');
    }
    if (isFinal(ctx.engine.stateOf(grant)) || done(grant)) break;
    const left = deadline - Date.now();
    if (left <= 0) break;
    grant = await waitInSlot<Request, Result>(ctx, request, id, Math.min(left / 1000, 25), grant.version);
  }
  if (!grant && !closed) send('gone', { id });
  raw.end();
}
