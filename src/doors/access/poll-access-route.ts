import type { FastifyInstance } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import { InvalidRequestError, NotFoundError } from '../../core/errors.js';
import { eventStream } from '../../server/openapi-responses.js';
import { PreferWaitHeaders, waitSeconds } from '../shared/wait-schemas.js';
import { requestedWaitSeconds, streamGrant, waitForGrant, withdrawAppliedWait } from '../shared/waiting.js';
import type { AccessEnv } from './access-env.js';
import { accessValidationError } from './access-validation.js';
import { findAccessRequest, KEY_PATTERN, parseAccessKey } from './access-key.js';
import { MAX_TOKENS_PER_ACCESS } from './app-accesses.js';
import { pollView, type AccessGrant, type AccessRequest, type AccessResult } from './access-request.js';
import { startDecidedLifetime } from './decided-lifetime.js';
import { ACCESS_EVENTS_STREAMED, AccessErrors, AccessLastEventIdHeaders, pryvStateView } from './access-responses.js';
import { NEED_SIGNIN } from './create-access-route.js';
import { CORS_OPEN, openToWebApps, READ_CALL, STREAM_CALL } from './web-app-cors.js';

/** An auth request key in a path. */
export const KeyParams = Type.Object({ key: Type.String({ pattern: KEY_PATTERN.source }) });

/**
 * The one answer for a key that names nothing readable. It says the case an app's developer meets
 * most and cannot guess, an answer read once and polled again later, and what to do.
 */
const unknownKey = (decidedTtlSeconds: number): NotFoundError => new NotFoundError(
  `This auth request does not exist or has expired (an answered one stays readable ${decidedTtlSeconds} s after its first read). Start a new one with POST /access.`,
  'unknown_key',
);

/**
 * Whether `view`, a poll body of `grant`, answers an accepted access that no longer stands: the
 * account was deleted since the decision (its accesses and their tokens went with it), or the
 * access was revoked or has expired, or its token was revoked to make room for newer ones
 * (`MAX_TOKENS_PER_ACCESS`). Such a request answers as an unknown key: the username of a deleted
 * account is not handed out by a request it accepted, and a dead token is no answer to wait for;
 * the app starts a new request, as it does after any other `unknown_key`. Every accepted answer is
 * checked, also a pinned app's read without its delivery code, which carries no token: the grant
 * keeps the token's hash for it (`tokenHash`). A pinned request accepted before that hash was kept
 * has nothing to check it by, and answers as ended too (it lives an hour at most, and its app
 * holds the token from the redirect, or reads it with the code, which is checked).
 */
async function acceptedAccessEnded(env: AccessEnv, grant: AccessGrant, view: { status: number; body: Record<string, unknown> }): Promise<boolean> {
  if (view.status !== 200) return false;
  const now = env.ctx.clock.now();
  const token = view.body.token;
  if (typeof token === 'string') return (await env.accesses.findByToken(token, now)) === undefined;
  const tokenHash = grant.result?.status === 'ACCEPTED' ? grant.result.tokenHash : undefined;
  return tokenHash === undefined || (await env.accesses.findByTokenHash(tokenHash, now)) === undefined;
}

/** A delivery code as `randomToken` makes it: base64url. */
const DELIVERY_CODE = /^[A-Za-z0-9_-]{16,100}$/;

/**
 * `GET /access/:key`: the request's state, the HTTP status equal to the body's `code`. With
 * `?wait=<s>` or `Prefer: wait=<s>` (beyond Pryv) it answers the instant the user decides. Once a
 * decided request has been delivered (read here, streamed, or sent with the redirect), it stays
 * readable for a short while, then is gone (`startDecidedLifetime`; a HEAD, which delivers
 * nothing, does not start it, and never waits). The key's secret is checked first (a wrong one is
 * the same 404 as an unknown key), and it opens the sealed token.
 */

export function installPollAccessRoute(app: FastifyInstance, env: AccessEnv): void {
  const api = app.withTypeProvider<TypeBoxTypeProvider>();
  const maxWait = env.ctx.config.PAIRGATE_WAIT_MAX_SECONDS;
  const decidedTtlMs = env.cfg.PAIRGATE_ACCESS_DECIDED_TTL_SECONDS * 1000;
  const notFound = (): NotFoundError => unknownKey(env.cfg.PAIRGATE_ACCESS_DECIDED_TTL_SECONDS);
  // The app's page polls from its own origin (CORS), with the long poll's Prefer header too.
  const onRequest = openToWebApps(app, ['/access/:key'], READ_CALL);
  // The stream's page may also send Last-Event-ID (EventSource sends it with no preflight; a
  // script's own stream client sets it as a header, which is preflighted).
  const onStreamRequest = openToWebApps(app, ['/access/:key/events'], STREAM_CALL);
  api.get('/access/:key', {
    schema: {
      tags: ['access'],
      summary: 'Poll an auth request: 201 NEED_SIGNIN, 200 ACCEPTED, 403 REFUSED or ERROR, 404 unknown.',
      description: CORS_OPEN,
      params: KeyParams,
      querystring: Type.Object({
        wait: waitSeconds('the decision'),
        code: Type.Optional(Type.String({ maxLength: 100, description: 'The delivery code of a pinned app (PAIRGATE_ACCESS_RETURN_ORIGINS), in the poll address its redirect names: without it an accepted request answers the decision, not the token. base64url; anything else (`?code=X?wait=30`, the wait added with a second `?`) is 400 `invalid_delivery_code`.' })),
      }),
      headers: PreferWaitHeaders,
      response: {
        200: pryvStateView('ACCEPTED: the user granted the access; `username`, the app token (`token`) and `apiEndpoint`, which holds the token. A pinned app\'s request read without its delivery code answers `{status, code, message}` only: the decision, not the token. Both, only while that access lives: once the account is deleted, the access revoked or expired, or the token revoked as one of the oldest (an access keeps its ' + String(MAX_TOKENS_PER_ACCESS) + ' newest), the request answers 404 `unknown_key`, as an expired one, and hands out neither username nor token.'),
        201: pryvStateView(`${NEED_SIGNIN} The user has not decided yet.`),
        403: pryvStateView('The request is over, its `status` says how: `REFUSED` (`reasonID` `REFUSED_BY_USER`: the user refused), or `ERROR` with `id` `too_many_accesses` (the account holds PAIRGATE_ACCESS_MAX_PER_USER app accesses) or `internal_error` (the access could not be granted); start a new request.'),
        404: AccessErrors.unknownKey,
      },
    },
    config: { sharedAnswersAlso: { 400: '`invalid_wait`: a `wait` that is not seconds in decimal digits; `invalid_delivery_code`: a `code` that is not base64url (a wait added to the poll address with a second `?`).' } },
    onRequest,
    schemaErrorFormatter: accessValidationError,
  }, async (request, reply) => {
    // The poll address of a pinned app's redirect has a query already: a wait added with a second
    // `?` ends up in the code, which would then open nothing, and the app read "ACCEPTED" with no token.
    if (request.query.code !== undefined && !DELIVERY_CODE.test(request.query.code)) {
      throw new InvalidRequestError('The poll address\'s code is malformed. The address already has a query: add a wait as &wait=<seconds> (not ?wait=), or send the header Prefer: wait=<seconds>.', { field: 'code' }, 'invalid_delivery_code');
    }
    const seconds = requestedWaitSeconds(request, reply, maxWait);
    const key = parseAccessKey(request.params.key);
    let grant = await findAccessRequest(env.ctx.engine, key);
    if (!grant || !key) {
      withdrawAppliedWait(request);
      throw notFound();
    }
    // The secret was checked on this grant; waiting follows the same id. Only a pending request is
    // worth waiting for: to the engine an accepted one is not final yet, and the waiter would sit
    // out its whole wait on an answer it could have at once. Nor a HEAD: it gets no body, so the
    // state it waited for reached nobody, while it held one of the client's wait slots (and the
    // server's) all along; it answers at once, the wait not applied.
    if (request.method === 'HEAD') withdrawAppliedWait(request);
    else if (seconds > 0 && env.ctx.engine.stateOf(grant) === 'pending') grant = (await waitForGrant<AccessRequest, AccessResult>(env.ctx, request, grant.id, seconds)) as AccessGrant | undefined;
    if (!grant) throw notFound();
    const state = env.ctx.engine.stateOf(grant);
    if (state === 'expired') throw notFound();
    // First read of a decision (plain or long poll): from now on it lives only a short while. Not
    // on a HEAD (Fastify answers it with this route, the body dropped): nothing is delivered, and a
    // probe of the address (a link checker, a proxy's warm-up) started the short while before the
    // app had read anything.
    if (request.method !== 'HEAD') grant = await startDecidedLifetime(env.ctx, grant, decidedTtlMs);
    const view = pollView(grant, state, key, request.query.code);
    if (await acceptedAccessEnded(env, grant, view)) throw notFound();
    return reply.code(view.status as 200).header('cache-control', 'no-store').send(view.body as never);
  });

  api.get('/access/:key/events', {
    schema: {
      tags: ['access'],
      summary: 'Push (beyond Pryv): server-sent `state` events with the poll body, now and on every change, until decided.',
      description: CORS_OPEN,
      params: KeyParams,
      headers: AccessLastEventIdHeaders,
      response: { 200: eventStream(ACCESS_EVENTS_STREAMED), 204: AccessErrors.eventsOver, 404: AccessErrors.unknownKey },
    },
    config: { sharedAnswersAlso: { 429: '`rate_limited` too when this network holds PAIRGATE_WAITS_PER_CLIENT open waits and streams, or the server PAIRGATE_WAITS_MAX.' } },
    onRequest: onStreamRequest,
    schemaErrorFormatter: accessValidationError,
  }, async (request, reply) => {
    const key = parseAccessKey(request.params.key);
    const grant = await findAccessRequest(env.ctx.engine, key);
    if (!grant || !key || env.ctx.engine.stateOf(grant) === 'expired') throw notFound();
    // An accepted request is streamed as its one event: not when its access has ended since.
    if (env.ctx.engine.stateOf(grant) === 'approved' && (await acceptedAccessEnded(env, grant, pollView(grant, 'approved', key)))) throw notFound();
    await streamGrant<AccessRequest, AccessResult>(env.ctx, request, reply, grant.id, (current) => pollView(current as AccessGrant, env.ctx.engine.stateOf(current), key).body, maxWait * 5,
      // For the app, an accepted request is as final as a refused one: a reconnection naming it is
      // answered 204, which ends EventSource's reconnecting.
      (current) => env.ctx.engine.stateOf(current) !== 'pending',
      {
        eventIds: true,
        // A decision's delivery starts its short life, as a poll's does, and that change is a new
        // version: started before the event is written, its id is the version the app then holds,
        // so the reconnection EventSource makes once the stream ends is answered 204. Started
        // after (as it was), the app named the version before it and was sent the decision again.
        beforeSend: async (current) => startDecidedLifetime(env.ctx, current as AccessGrant, decidedTtlMs),
      });
  });
}
