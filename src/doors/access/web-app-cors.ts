import type { FastifyInstance, FastifyReply, FastifyRequest, HTTPMethods, onRequestHookHandler } from 'fastify';
import { methodsServing, openCrossOrigin } from '../../server/error-handler.js';
import { API_SECURITY_HEADERS } from '../../server/security-headers.js';

/**
 * CORS for the calls a third-party web app makes from its own page: the `pryv` library's browser
 * flow fetches the service info, posts the auth request, polls it and reads `access-info` from the
 * app's origin, as Pryv's service-register allows. Open to every origin (`*`) and never with
 * credentials: these calls carry no cookie, and what they hand out is for whoever holds the
 * request's key or the app's token. The pages and their form posts get none of it: they stay
 * same-origin, behind their CSRF checks.
 */
export interface WebAppCall {
  /** The methods the routes at the paths answer (Access-Control-Allow-Methods). */
  readonly methods: readonly HTTPMethods[];
  /** The request headers beyond the CORS-safelisted ones a page may send (Access-Control-Allow-Headers). */
  readonly headers: readonly string[];
  /** The answer headers a page may read beyond the safelisted ones (Access-Control-Expose-Headers). */
  readonly exposed: readonly string[];
}

/** What the OpenAPI document says of these routes. */
export const CORS_OPEN = 'Open to web apps\' pages (CORS): every answer, errors included, carries `Access-Control-Allow-Origin: *` and exposes `Retry-After` and `Preference-Applied`; no credentials (no cookie is read). A preflight (`OPTIONS`) answers 204 with the methods and the headers a page may send (`Content-Type`, `Prefer`, `Authorization` where the route reads a token, and `Last-Event-ID` on the event stream).';

/** How long a browser may keep a preflight's answer: Chromium's cap is 2 hours, Firefox's a day. */
const PREFLIGHT_MAX_AGE_SECONDS = 7200;

/**
 * What a page reads from any of these answers: when to try again after a 429 or 503, and how long
 * a wait was held (RFC 7240).
 */
const READABLE = ['retry-after', 'preference-applied'];

/** The reads: the service info, the poll and its event stream. `Prefer: wait=` asks the poll to wait. */
export const READ_CALL: WebAppCall = { methods: ['GET', 'HEAD'], headers: ['content-type', 'prefer'], exposed: READABLE };

/**
 * The poll's event stream: the reads, and the `Last-Event-ID` of a reconnection. EventSource sends
 * it with no preflight; a script's own stream client (fetch) sets it as a header, which is
 * preflighted, and without it there the reconnection was refused.
 */
export const STREAM_CALL: WebAppCall = { ...READ_CALL, headers: [...READ_CALL.headers, 'last-event-id'] };

/** The auth request: a JSON body. */
export const CREATE_CALL: WebAppCall = { methods: ['POST'], headers: ['content-type', 'prefer'], exposed: READABLE };

/** `access-info`: the app's token in Authorization, and a 401's Bearer challenge to read. */
export const TOKEN_CALL: WebAppCall = { methods: ['GET', 'HEAD'], headers: ['authorization', 'content-type', 'prefer'], exposed: [...READABLE, 'www-authenticate'] };

/**
 * The Allow header the server gives an OPTIONS no route answers (`methodsServing`, as the
 * not-found handler does): the preflight routes below answer OPTIONS at these paths themselves.
 */
function allowHeader(server: FastifyInstance, path: string): string {
  return (methodsServing(server, path) ?? ['OPTIONS']).join(', ');
}

/**
 * The method a preflight asks about (`Access-Control-Request-Method`), else the call's first (an
 * OPTIONS that is no preflight asks what a page could do).
 */
function askedMethod(request: FastifyRequest, call: WebAppCall): string {
  const asked = request.headers['access-control-request-method'];
  return typeof asked === 'string' ? asked.trim().toUpperCase() : call.methods[0]!;
}

/**
 * Opens the routes at `paths` (added to `app` by the caller, with the hook this returns as their
 * first `onRequest`) to web apps' pages: every answer carries `Access-Control-Allow-Origin: *`,
 * errors and rate-limit refusals included (the hook runs before the route's rate limit, which
 * @fastify/rate-limit adds after the route's own hooks), so a page can read why it was refused;
 * and so do the answers given before the route's hooks run (a shutdown's 503, the router's
 * `bad_url`), which read the same opening from the server (`openCrossOrigin`, `CorsOpenRoutes`). A
 * preflight (`OPTIONS`) at each path answers 204 with what the route it asks about may be sent;
 * for a method no open route at the path takes, or at a path that is another route's (a page the
 * parameter also matches), it answers as the server does everywhere else: 204 with Allow and no CORS.
 */
export function openToWebApps(app: FastifyInstance, paths: readonly string[], call: WebAppCall): onRequestHookHandler {
  const answerHeaders = { 'access-control-allow-origin': '*', 'access-control-expose-headers': call.exposed.join(', ') };
  const preflightHeaders = {
    ...API_SECURITY_HEADERS,
    'access-control-allow-origin': '*',
    'access-control-allow-methods': call.methods.join(', '),
    'access-control-allow-headers': call.headers.join(', '),
    'access-control-max-age': String(PREFLIGHT_MAX_AGE_SECONDS),
  };
  // A callback hook, not an async one: no promise per request on the busiest routes (the polls).
  const open: onRequestHookHandler = (_request, reply, done) => {
    reply.headers(answerHeaders);
    done();
  };
  openCrossOrigin(app, paths, call.methods, { answerHeaders, preflightHeaders });
  const preflight = async (request: FastifyRequest, reply: FastifyReply): Promise<FastifyReply> => {
    const allow = allowHeader(request.server, request.url.split('?')[0] ?? '');
    const opening = request.server.corsOpenRoutes?.at(request.server, askedMethod(request, call), request.url);
    return reply.code(204).headers(opening?.preflightHeaders ?? API_SECURITY_HEADERS).header('allow', allow).send();
  };
  // Not rate-limited, as an OPTIONS answered by the not-found handler is not: a preflight costs a
  // route look-up, and counting it would spend the page's budget on what its browser asks.
  for (const path of paths) app.options(path, { schema: { hide: true }, config: { rateLimit: false } }, preflight);
  return open;
}
