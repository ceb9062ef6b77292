import type { OutgoingHttpHeaders } from 'node:http';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { InvalidRequestError, RateLimitedError } from '../../core/errors.js';
import type { Grant } from '../../core/grant.js';
import { isFinal } from '../../core/grant-machine.js';
import type { DoorContext } from '../door.js';
import { addVary } from './vary.js';
import { WAIT_PATTERN } from './wait-schemas.js';
import { onAbort } from './abort-listeners.js';

/**
 * Waiting for a grant's change, shared by every door: long-poll (`?wait=<s>` or `Prefer: wait=<s>`)
 * and server-sent events. Both answer the instant the engine publishes a transition.
 */

/**
 * Seconds a client asked to wait, bounded by the server's maximum; 0 = answer at once. `?wait=`
 * comes first; without it, the `wait` preference of a Prefer header (`preferredWaitSeconds`, which
 * says on `reply` that it was applied).
 */
export function requestedWaitSeconds(request: FastifyRequest, reply: FastifyReply, max: number): number {
  // At this address the header may choose the wait: a cache must not answer one Prefer with the
  // response to another.
  addVary(reply, 'Prefer');
  const asked = queryWaitSeconds(request);
  if (asked === undefined) return preferredWaitSeconds(request, reply, max) ?? 0;
  return Math.min(asked, max);
}

/** Seconds as a query writes them (`WAIT_PATTERN`, the routes' schema's). */
const DECIMAL_SECONDS = new RegExp(WAIT_PATTERN);

/**
 * The seconds `?wait=` asks for, unbounded, or undefined without one; throws `invalidWaitError` for
 * one that is not decimal seconds or too long to be a finite number. Every route reading it
 * declares it so (`waitSeconds`), and the schema refused most bad waits already; a route that may
 * answer without reading the wait (a final state answered at once) calls this first, so a bad wait
 * is refused there too.
 */
export function queryWaitSeconds(request: FastifyRequest): number | undefined {
  const raw = ((request.query ?? {}) as Record<string, unknown>).wait;
  if (raw === undefined) return undefined;
  // Written as seconds are written (the routes' schema says so too): `Number` alone also reads
  // `0x10` as 16 and `1e3` as 1000.
  if (Array.isArray(raw)) throw invalidWaitError(raw.length);
  if (typeof raw !== 'string' || !DECIMAL_SECONDS.test(raw)) throw invalidWaitError();
  const seconds = Number(raw);
  if (!Number.isFinite(seconds) || seconds < 0) throw invalidWaitError();
  return seconds;
}

/**
 * The refusal of a `?wait=` that is not seconds in decimal digits. Every bad wait gets it,
 * whether the route's schema refused it (`NaN`, `-1`, `abc`, `0x10`: the server's error handler
 * turns that schema failure into this) or `queryWaitSeconds` did (digits too many for a finite
 * number), so a client reads one code and one message for one mistake. `times`: how many times
 * the query gave it, when more than once (`?wait=1&wait=2`), which the message then says.
 */
export function invalidWaitError(times?: number): InvalidRequestError {
  const given = times !== undefined && times > 1 ? `wait is given ${times} times; it takes one value: give it once, as` : 'wait must be';
  return new InvalidRequestError(`${given} a number of seconds written in decimal digits (wait=30, or wait=2.5).`, undefined, 'invalid_wait');
}

/** The replies that say a `wait` preference was applied, so a wait that cannot be held can take it back. */
const appliedWaits = new WeakMap<FastifyRequest, FastifyReply>();

/**
 * The `wait` preference of the request's Prefer header (RFC 7240 4.3), bounded by `max`, or
 * undefined when there is none or it is not a number of seconds (a preference the server does not
 * understand is ignored, RFC 7240 2). When there is one, `reply` says so, as RFC 7240 3 asks:
 * `Preference-Applied: wait=<the seconds applied>`, the bounded value, so a client asking for more
 * than the server holds learns how long it was held; and, with or without one, `Vary: Prefer`.
 */
export function preferredWaitSeconds(request: FastifyRequest, reply: FastifyReply, max: number): number | undefined {
  addVary(reply, 'Prefer');
  const preferred = preferenceValue(request.headers.prefer, 'wait');
  if (preferred === undefined || !/^\d+$/.test(preferred)) return undefined;
  const seconds = Math.min(Number(preferred), max);
  reply.header('preference-applied', `wait=${seconds}`);
  appliedWaits.set(request, reply);
  return seconds;
}

/**
 * The value of the first preference named `name` in a Prefer header (RFC 7240 2: later ones are
 * ignored), without its quotes; '' when it has none; undefined when it is absent. Preferences are
 * separated by commas (several Prefer headers arrive joined by them), and what follows a `;` is a
 * parameter of its preference, never a preference of its own.
 */
function preferenceValue(header: string | string[] | undefined, name: string): string | undefined {
  if (header === undefined) return undefined;
  const text = Array.isArray(header) ? header.join(',') : header;
  for (const preference of splitOutsideQuotes(text, ',')) {
    const [head = ''] = splitOutsideQuotes(preference, ';');
    const equals = head.indexOf('=');
    const token = (equals < 0 ? head : head.slice(0, equals)).trim();
    if (token.toLowerCase() !== name) continue;
    const value = equals < 0 ? '' : head.slice(equals + 1).trim();
    return value.length >= 2 && value.startsWith('"') && value.endsWith('"') ? value.slice(1, -1) : value;
  }
  return undefined;
}

/** `text` cut at each `separator` that is not inside a quoted string. */
function splitOutsideQuotes(text: string, separator: string): string[] {
  const parts: string[] = [];
  let start = 0;
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const ch = text[i];
    if (ch === '\\' && quoted) i++;
    else if (ch === '"') quoted = !quoted;
    else if (ch === separator && !quoted) {
      parts.push(text.slice(start, i));
      start = i + 1;
    }
  }
  parts.push(text.slice(start));
  return parts;
}

/**
 * Takes back the `Preference-Applied: wait` of the request's reply (`preferredWaitSeconds`), for an
 * answer given at once without holding anything: an unknown grant, a client without a free wait
 * slot. An answer after a wait, a refusal included (the device door's authorization_pending), keeps it.
 */
export function withdrawAppliedWait(request: FastifyRequest): void {
  const reply = appliedWaits.get(request);
  if (!reply) return;
  reply.removeHeader('preference-applied');
  appliedWaits.delete(request);
}

/**
 * Long-poll: waits up to `seconds` for grant `id` to move past `sinceVersion` (when given) or past
 * the version it has now, and returns it as it then is. Ends early when the client goes away or the
 * server shuts down. A client holding all its wait slots, or a node all of its own (WaitSlots),
 * gets the grant at once.
 */
export async function waitForGrant<Request, Result>(
  ctx: DoorContext,
  request: FastifyRequest,
  id: string,
  seconds: number,
  sinceVersion?: number,
): Promise<Grant<Request, Result> | undefined> {
  const current = await ctx.engine.get<Request, Result>(id);
  if (!current) withdrawAppliedWait(request);
  if (!current || seconds <= 0) return current;
  const since = sinceVersion ?? current.version;
  if (current.version > since || isFinal(ctx.engine.stateOf(current))) return current;
  const release = ctx.waitSlots.take(request.clientNetwork);
  if (!release) {
    // Answered at once, unchanged: saying the wait was applied would tell the client the grant
    // stood still all that time.
    withdrawAppliedWait(request);
    return current;
  }
  try {
    return await waitInSlot<Request, Result>(ctx, request, id, seconds, since);
  } finally {
    release();
  }
}

/**
 * Whether the client of `request` has gone already: its connection closed. The connection, not the
 * request: a request whose body was read (a POST's) counts as destroyed once read, client or not.
 */
function clientGone(request: FastifyRequest): boolean {
  return request.raw.socket?.destroyed === true;
}

/** The wait itself, for a caller holding a wait slot. */
async function waitInSlot<Request, Result>(ctx: DoorContext, request: FastifyRequest, id: string, seconds: number, since: number): Promise<Grant<Request, Result> | undefined> {
  const abort = new AbortController();
  const onGone = (): void => abort.abort();
  // The connection's close: a POST's request (device tokens) closes once its body is read, so its
  // own 'close' says nothing of the client.
  const socket = request.raw.socket;
  request.raw.once('close', onGone);
  socket?.once('close', onGone);
  // A client gone during the reads before this point closed before the listeners were there: its
  // 'close' will not come again, and the wait would hold its slot to the end.
  if (clientGone(request)) onGone();
  // Not the signal's own addEventListener, which slowed each new wait by the number already open.
  const stopListening = onAbort(ctx.shutdownSignal, onGone);
  try {
    return await ctx.engine.waitForChange<Request, Result>(id, since, seconds * 1000, abort.signal);
  } finally {
    request.raw.off('close', onGone);
    socket?.off('close', onGone);
    stopListening();
  }
}

/** What a door's event stream adds to the plain one (`streamGrant`). */
export interface StreamOptions<Request = unknown, Result = unknown> {
  /**
   * Each `state` event carries the grant's version as its `id:`, and a client reconnecting with
   * `Last-Event-ID` (as EventSource does by itself) resumes after it: the state it has is not sent
   * again, and when that state is final, or `done`, the answer is 204, which tells EventSource to
   * stop reconnecting (HTML's server-sent events). Without it, a browser reconnected ~3 s after
   * every final event, was sent the same state and the end again, and so on until the grant expired.
   */
  eventIds?: boolean;
  /**
   * Called with each state about to be sent; what it returns is sent, its version the event's id.
   * For a door whose delivery changes the grant (the access door starts a decision's short life):
   * changed before the event is written, the id names the version the client then holds, so its
   * reconnection resumes (204 for a final state) and is not sent the same state again under the
   * version the change made.
   */
  beforeSend?: (grant: Grant<Request, Result>) => Promise<Grant<Request, Result>>;
}

/** A `Last-Event-ID` header as a version (decimal digits), or undefined when there is none or it is not one. */
function lastEventVersion(request: FastifyRequest): number | undefined {
  const header = request.headers['last-event-id'];
  return typeof header === 'string' && /^[0-9]{1,15}$/.test(header) ? Number(header) : undefined;
}

/**
 * Server-sent events: sends `render(grant)` as a `state` event now and on every change, and ends
 * the stream when the grant is final (or `done(grant)` says so) or gone (`gone` event), after
 * `maxSeconds`, or at shutdown. A client holding all its wait slots, or a node holding all of its
 * own (WaitSlots), is refused (429). `options.eventIds`: events carry ids and a reconnection resumes;
 * `options.beforeSend`: a change each state's delivery makes, made before it is sent.
 */
export async function streamGrant<Request, Result>(
  ctx: DoorContext,
  request: FastifyRequest,
  reply: FastifyReply,
  id: string,
  render: (grant: Grant<Request, Result>) => unknown,
  maxSeconds: number,
  done: (grant: Grant<Request, Result>) => boolean = () => false,
  options: StreamOptions<Request, Result> = {},
): Promise<void> {
  const first = await ctx.engine.get<Request, Result>(id);
  if (!first) return; // the caller answers 404 before streaming
  // The version the client already has: one it names that the grant is not at now was never sent
  // for this grant (versions only grow), so the grant is sent as it is.
  const seen = options.eventIds && lastEventVersion(request) === first.version ? first.version : undefined;
  if (seen !== undefined && (isFinal(ctx.engine.stateOf(first)) || done(first))) {
    // Nothing will follow what it has: 204 ends EventSource's reconnecting, where a stream would
    // only end again.
    reply.code(204).send();
    return;
  }
  if (request.method === 'HEAD') {
    // The stream's headers alone, at once: a HEAD gets no events, so it neither waits nor holds a
    // wait slot (it held one, silent, for the stream's whole length).
    reply.hijack();
    openStream(reply).end();
    return;
  }
  const release = ctx.waitSlots.take(request.clientNetwork);
  if (!release) {
    if (ctx.waitSlots.full) throw new RateLimitedError(5, 'The server holds as many open waits and streams as it may. Try again shortly, or poll.');
    throw new RateLimitedError(5, 'This address holds too many open waits and streams. Close one, or try again shortly.');
  }
  try {
    await streamTo(ctx, request, reply, id, first, render, maxSeconds, done, options, seen ?? -1);
  } finally {
    release();
  }
}

/**
 * Writes an event stream's status and headers on `reply` (hijacked), and gives its raw response.
 * The headers the reply holds already go too: a hijacked reply's own are never sent, and they are
 * the route's security headers (CSP, nosniff, frame options, HSTS), set for every answer on
 * request, and a `Vary` or `Preference-Applied` of its door.
 */
function openStream(reply: FastifyReply): FastifyReply['raw'] {
  return reply.raw.writeHead(200, {
    ...(reply.getHeaders() as OutgoingHttpHeaders),
    'content-type': 'text/event-stream; charset=utf-8',
    'cache-control': 'no-store',
    connection: 'keep-alive',
    'x-accel-buffering': 'no',
  });
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
  { eventIds = false, beforeSend }: StreamOptions<Request, Result>,
  seenVersion: number,
): Promise<void> {
  reply.hijack();
  const raw = openStream(reply);
  const send = (event: string, data: unknown, eventId?: number): void => {
    raw.write(`${eventId === undefined ? '' : `id: ${eventId}\n`}event: ${event}\ndata: ${JSON.stringify(data)}\n\n`);
  };
  // On the monotonic clock: a stream lasts `maxSeconds` of elapsed time. On the wall clock, one
  // stepped forward ended every open stream at its next event, and one stepped back an hour held
  // each (and its wait slot) an hour more.
  const deadline = performance.now() + maxSeconds * 1000;
  let grant: Grant<Request, Result> | undefined = first;
  let closed = clientGone(request);
  request.raw.once('close', () => {
    closed = true;
  });
  let sentVersion = seenVersion;
  try {
    while (grant && !closed && !ctx.shutdownSignal.aborted) {
      if (grant.version !== sentVersion) {
        if (beforeSend) grant = await beforeSend(grant);
        send('state', render(grant), eventIds ? grant.version : undefined);
        sentVersion = grant.version;
      } else {
        // No change in this round: a comment keeps proxies from closing an idle stream.
        raw.write(': keep-alive\n\n');
      }
      if (isFinal(ctx.engine.stateOf(grant)) || done(grant)) break;
      const left = deadline - performance.now();
      if (left <= 0) break;
      grant = await waitInSlot<Request, Result>(ctx, request, id, Math.min(left / 1000, 25), grant.version);
    }
    if (!grant && !closed) send('gone', { id });
  } finally {
    // Also when a read fails (a store away): the head is sent, so no error answer can follow, but
    // an ended stream is reconnected to, where one left open was waited on, silent, for ever (and
    // held the server's shutdown for its whole grace).
    raw.end();
  }
}
