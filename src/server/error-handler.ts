import type { IncomingMessage } from 'node:http';
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest, FastifySchemaValidationError, HTTPMethods, HookHandlerDoneFunction } from 'fastify';
import FindMyWay, { type HTTPMethod } from 'find-my-way';
import {
  InvalidRequestError,
  NotFoundError,
  PairgateError,
  PayloadTooLargeError,
  RateLimitedError,
  UnavailableError,
  isPairgateError,
} from '../core/errors.js';
import { invalidWaitError } from '../doors/shared/waiting.js';
import { isStoreConflict, isStoreUnreachable } from '../store/store-errors.js';
import { declaresLanguage, errorPageView, prefersHtml, servesPages, type ErrorPageView, type Refusal } from '../web/error-page.js';
import { requestedLanguage, type PageLanguage } from '../web/page-language.js';
import { Pages } from '../web/pages.js';
import { pairgateErrorShape, type ErrorShape } from './error-shapes.js';
import { rawAnswer } from './raw-answer.js';
import { withCookies } from './cookies.js';
import { API_SECURITY_HEADERS, securityHeaders } from './security-headers.js';
import { FORM_MEDIA_TYPE } from './form-body.js';
import { isFormBody } from './request-validation.js';
import { RepeatedLines } from './repeated-lines.js';
import { logClientGone } from './logger.js';

/** The headers of an answer no route made (its path is unknown, so it may be shown as a page). */
const PAGE_SECURITY_HEADERS = securityHeaders();

declare module 'fastify' {
  interface FastifyContextConfig {
    /** The wire shape errors of this route are rendered in. */
    errorShape?: ErrorShape;
    /**
     * A page people open in a browser. A request refused before its handler runs (a form field
     * the schema refuses, a body too large or of no accepted type, a rate limit, a shutdown) is
     * answered with the error page to clients that ask for HTML first (`prefersHtml`), in the
     * route's error shape to the others. Set when the route is added, from what its schema
     * documents (`servesPages`); a page whose schema says nothing of it (a hidden one) sets it.
     */
    page?: boolean;
    /** Set with `page`: the page is translated (it carries `lang`), so its error page follows the request's language. */
    pageTranslated?: boolean;
    /**
     * Documentation only: the route's own machine codes at a status whose answer the OpenAPI
     * document takes from the shared ones (openapi-responses.ts), e.g. a 400 its handler throws
     * besides the schema's `validation_failed`. Added to that answer's description.
     */
    sharedAnswersAlso?: Partial<Record<400 | 413 | 415 | 429 | 503, string>>;
  }
  interface FastifyInstance {
    /** The path prefixes doors own and their error shapes, for the answers no route gives (`claimPathPrefix`). */
    errorShapesByPrefix?: PathPrefixShapes;
    /** The routes open to pages of other origins, for the answers given before their hooks (`openCrossOrigin`). */
    corsOpenRoutes?: CorsOpenRoutes;
  }
}

/**
 * Percent-escapes of unreserved characters (RFC 3986 2.3: letters, digits, `-._~`) decoded, as the
 * router decodes them before matching (`/%6Dattermost` reaches `/mattermost`'s routes); every other
 * escape, a malformed one included, stays as sent.
 */
function decodeUnreserved(path: string): string {
  return path.replace(/%([0-9A-Fa-f]{2})/g, (escape, hex: string) => {
    const character = String.fromCharCode(Number.parseInt(hex, 16));
    return /^[A-Za-z0-9\-._~]$/.test(character) ? character : escape;
  });
}

/**
 * The path prefixes doors own (`/mattermost`, `/webhook`, ...) and the error shape of each. A route
 * carries its door's shape (`errorShape`), but what the router refuses before choosing a route (a
 * malformed %-escape, a path parameter too long) and an address no route serves have no route: they
 * are answered in the shape of the door whose prefix the path is under, the longest when prefixes
 * nest, so a chat server calling a door reads its own format, not pairgate's.
 */
export class PathPrefixShapes {
  /** Longest prefix first, so the most specific owner wins. */
  private owned: PrefixOwner[] = [];
  /** The owner of every path no prefix is claimed for, when one is (`claimEveryPath`). */
  private rest: PrefixOwner | undefined;

  /**
   * Gives `prefix` (`/name`, no trailing slash) and everything under it to `shape`; a prefix claimed
   * twice is a programming error. `pagesForBrowsers`: addresses there are also links people open
   * (a pairing code's page), so a browser asking for HTML first gets the error page, not the shape.
   */
  claim(prefix: string, shape: ErrorShape, pagesForBrowsers = false): void {
    if (!/^\/[^/?#%]+(\/[^/?#%]+)*$/.test(prefix)) throw new Error(`An error shape's path prefix must look like /name or /name/sub, not "${prefix}".`);
    if (this.owned.some((entry) => entry.prefix === prefix)) throw new Error(`The path prefix ${prefix} already has an error shape.`);
    this.owned = [...this.owned, { prefix, shape, pagesForBrowsers }].sort((a, b) => b.prefix.length - a.prefix.length);
  }

  /**
   * Gives every path no prefix is claimed for to `shape`, browsers included: on a listener whose
   * every address is one door's (the DNS door's update API), what no route answers anywhere is in
   * that door's shape, never the main server's page. Claimed once.
   */
  claimRest(shape: ErrorShape): void {
    if (this.rest) throw new Error('Every path already has an error shape.');
    this.rest = { prefix: '/', shape, pagesForBrowsers: false };
  }

  /** The claim of the prefix `url` (a request's URL, query and all) is under, if any. */
  ownerOf(url: string): PrefixOwner | undefined {
    if (this.owned.length === 0) return this.rest;
    const path = decodeUnreserved(url.split('?')[0] ?? '');
    return this.owned.find(({ prefix }) => path === prefix || path.startsWith(`${prefix}/`)) ?? this.rest;
  }

  /** The shape of the prefix `url` is under, if any. */
  shapeOf(url: string): ErrorShape | undefined {
    return this.ownerOf(url)?.shape;
  }
}

/** A claimed prefix: its door's shape, and whether browsers there get pages (`PathPrefixShapes.claim`). */
interface PrefixOwner {
  prefix: string;
  shape: ErrorShape;
  pagesForBrowsers: boolean;
}

/** How a route is opened to pages of other origins (CORS): what its answers and its preflights carry. */
export interface CorsOpening {
  /** The headers of every answer at the route, errors included (Access-Control-Allow-Origin, -Expose-Headers). */
  readonly answerHeaders: Readonly<Record<string, string>>;
  /** The headers of a preflight (OPTIONS) that asks for the route's method. */
  readonly preflightHeaders: Readonly<Record<string, string>>;
}

/**
 * `url`'s path as the router matches it, with every %-escape it would not decode taken as text: a
 * malformed one (`%E0%A4%A`) made the router refuse the whole address (`bad_url`), so the address
 * is matched as the route its text reaches.
 */
function matchablePath(url: string): string {
  return decodeUnreserved(url.split('?')[0] ?? '').replace(/%/g, '%25');
}

/** Whether two sets of path parameters are the same (names and values). */
function sameParams(a: Record<string, unknown>, b: Record<string, unknown>): boolean {
  const names = Object.keys(a);
  return names.length === Object.keys(b).length && names.every((name) => a[name] === b[name]);
}

/**
 * The routes open to pages of other origins (CORS) and how (`CorsOpening`), in one place: the door
 * that opens them puts the headers on its routes' answers with a hook of theirs, and the answers
 * given before any route's hooks run (a shutdown's 503, the router's `bad_url`, a stalled body's
 * 503) and the preflights read them here, so that a page reads those errors too and the pages and
 * form posts beside the open routes stay closed.
 */
export class CorsOpenRoutes {
  /** The open routes' paths, matched as Fastify's router matches them, each with its `CorsOpening`. */
  private readonly routes = FindMyWay();

  /** Opens the routes at `paths` under `methods` (which the caller adds) as `opening` says. */
  open(paths: readonly string[], methods: readonly HTTPMethods[], opening: CorsOpening): void {
    for (const path of paths) this.routes.on(methods as HTTPMethod[], path, () => undefined, opening);
  }

  /**
   * How the route `server` serves `method` at `url` under is opened, if it is one of the open
   * routes. An address an open route's pattern takes but another route serves (`/access/auth`, a
   * page, beside `/access/:key`) is the other route's: the same parameters with the same values
   * mean the same route.
   */
  at(server: FastifyInstance, method: string, url: string): CorsOpening | undefined {
    const path = matchablePath(url);
    const open = this.routes.find(method as HTTPMethod, path);
    if (!open) return undefined;
    const served = server.findRoute({ method: method as HTTPMethods, url: path });
    return served && sameParams(open.params, served.params as Record<string, unknown>) ? (open.store as CorsOpening) : undefined;
  }
}

/** Opens the routes at `paths` under `methods` to other origins on the server `instance` belongs to (see `CorsOpenRoutes`). */
export function openCrossOrigin(instance: FastifyInstance, paths: readonly string[], methods: readonly HTTPMethods[], opening: CorsOpening): void {
  if (!instance.corsOpenRoutes) throw new Error('openCrossOrigin needs the server\'s error handlers (installErrorHandlers) first.');
  instance.corsOpenRoutes.open(paths, methods, opening);
}

const NO_HEADERS: Readonly<Record<string, string>> = Object.freeze({});

/**
 * The CORS headers the route serving `method` at `url` gives every answer, for an answer given
 * before its hooks run; none where no open route serves it (`CorsOpenRoutes`).
 */
export function corsAnswerHeaders(server: FastifyInstance, method: string, url: string): Readonly<Record<string, string>> {
  return server.corsOpenRoutes?.at(server, method, url)?.answerHeaders ?? NO_HEADERS;
}

/**
 * Gives the answers no route gives under `prefix` (`bad_url`, `uri_too_long`, `route_not_found`) the
 * door's error `shape`, on the server `instance` belongs to (see `PathPrefixShapes`).
 */
export function claimPathPrefix(instance: FastifyInstance, prefix: string, shape: ErrorShape, pagesForBrowsers = false): void {
  if (!instance.errorShapesByPrefix) throw new Error('claimPathPrefix needs the server\'s error handlers (installErrorHandlers) first.');
  instance.errorShapesByPrefix.claim(prefix, shape, pagesForBrowsers);
}

/**
 * Gives every address of the server `instance` belongs to (what no claimed prefix covers) the error
 * `shape`, browsers included, with the headers of machine answers: for a listener that serves one
 * door's programs only (see `PathPrefixShapes.claimRest`).
 */
export function claimEveryPath(instance: FastifyInstance, shape: ErrorShape): void {
  if (!instance.errorShapesByPrefix) throw new Error('claimEveryPath needs the server\'s error handlers (installErrorHandlers) first.');
  instance.errorShapesByPrefix.claimRest(shape);
}

/**
 * The error shape of the door owning the path of `request`, which no route answered; undefined
 * outside every claimed prefix, and for a browser under a prefix whose links people open.
 */
function prefixShapeOf(request: FastifyRequest): ErrorShape | undefined {
  const owner = request.server.errorShapesByPrefix?.ownerOf(request.url);
  return owner && !(owner.pagesForBrowsers && prefersHtml(request)) ? owner.shape : undefined;
}

/**
 * The page requests whose handler has started (the route's own preHandler hooks included): what
 * they throw is the route's decision, answered in its shape as before; only what Fastify refused
 * earlier becomes the error page.
 */
const handled = new WeakSet<FastifyRequest>();

function markHandled(request: FastifyRequest, _reply: FastifyReply, done: HookHandlerDoneFunction): void {
  handled.add(request);
  done();
}

/**
 * The requests of the pages that take a body (a form's post), by their Node request: an answer
 * written on the socket while the body is still arriving has only that (`rawErrorPageAnswer`).
 * Remembered by a hook of those routes alone, so no other request pays for it.
 */
const pagePostsByRaw = new WeakMap<IncomingMessage, FastifyRequest>();

function rememberPagePost(request: FastifyRequest, _reply: FastifyReply, done: HookHandlerDoneFunction): void {
  pagePostsByRaw.set(request.raw, request);
  done();
}

/** Renders the error page. It sets no cookie, so whether cookies would be Secure does not matter. */
let errorPages: Pages | undefined;

/** The longest field name an error page repeats (the name of an unknown field is the sender's). */
const MAX_FIELD_NAME = 60;

/**
 * Fastify's schema error formatter, without the stack trace: a request that fails validation is
 * answered from the error's details (`validationMessage`), and capturing a stack on every bad
 * request only cost microseconds.
 */
export function schemaErrorFormatter(errors: readonly { instancePath?: string; message?: string }[], dataVar: string): Error {
  const text = errors.map((error) => `${dataVar}${error.instancePath ?? ''} ${error.message ?? 'is invalid'}`).join(', ');
  const stackTraceLimit = Error.stackTraceLimit;
  Error.stackTraceLimit = 0;
  try {
    return new Error(text);
  } finally {
    Error.stackTraceLimit = stackTraceLimit;
  }
}

/**
 * A route's `schemaErrorFormatter` that says, in words, the rules `ruleBroken` knows (a field whose
 * schema would be quoted as a regular expression, say), as a 400 `validation_failed`; any other
 * failure goes to the server's own formatter, which the error handler words as on every route.
 */
export function wordedSchemaErrors(ruleBroken: (error: FastifySchemaValidationError, where: string) => string | undefined): (errors: FastifySchemaValidationError[], where: string) => Error {
  return (errors, where) => {
    for (const error of errors) {
      const rule = ruleBroken(error, where);
      if (rule) return new InvalidRequestError(rule, undefined, 'validation_failed');
    }
    return schemaErrorFormatter(errors, where);
  };
}

/** One failure of a schema check, as Ajv reports it. */
type ValidationFailure = NonNullable<FastifyError['validation']>[number];

/** Whether `failure` is the null branch of a field that may be null, which failed because a value was given. */
const isNullBranch = (failure: ValidationFailure): boolean => failure.keyword === 'type' && (failure.params as { type?: unknown }).type === 'null';

/**
 * The failure worth telling. For a field that may take values of several types (a value or null, a
 * URL or false), Ajv reports each branch's failure in turn, the branches of other types first:
 * "must be null" for `-5` where a positive number was meant, or "must be boolean" for a URL too
 * long, says nothing useful. So the failure of the branch whose type the value has ("must be >=
 * 1", "must NOT have more than 2048 characters") is told, else, after a null branch, the next
 * branch's type ("must be integer").
 */
function mostTelling(failures: readonly ValidationFailure[]): ValidationFailure | undefined {
  const first = failures[0];
  if (!first || first.keyword !== 'type') return first;
  const samePlace = failures.filter((failure) => failure.instancePath === first.instancePath && failure.keyword !== 'anyOf' && failure.keyword !== 'oneOf');
  return samePlace.find((failure) => failure.keyword !== 'type') ?? (isNullBranch(first) ? samePlace.find((failure) => !isNullBranch(failure)) : undefined) ?? first;
}

/**
 * The values a field may take when its schema is a choice of constants (a union of literals, which
 * Ajv checks branch by branch and reports as one "must be equal to constant" per branch, or an
 * enum); undefined when the failure is of another kind or the branches differ in kind.
 */
function allowedValues(failures: readonly ValidationFailure[], failure: ValidationFailure): unknown[] | undefined {
  if (failure.keyword === 'enum') return (failure.params as { allowedValues?: unknown[] }).allowedValues;
  if (failure.keyword !== 'const') return undefined;
  const here = failures.filter((other) => other.instancePath === failure.instancePath);
  if (!here.every((other) => other.keyword === 'const' || other.keyword === 'anyOf')) return undefined;
  return here.filter((other) => other.keyword === 'const').map((other) => (other.params as { allowedValue?: unknown }).allowedValue);
}

/**
 * Whether `failure` is a whole body missing: a POST without any (curl -X POST with no -d) fails the
 * body's "must be object", which reads as if a body had been sent in the wrong shape.
 */
function isMissingBody(error: FastifyError, failure: ValidationFailure, request: FastifyRequest | undefined): boolean {
  return error.validationContext === 'body' && failure.instancePath === '' && failure.keyword === 'type' && request !== undefined && (request.body === undefined || request.body === null);
}

/**
 * A query parameter given several times where the route takes one value (`?since=1&since=2`): the
 * query parser hands the schema a list, which it refuses as of the wrong type ("must be integer"),
 * a message that does not say what happened. Its name and how many times, or undefined.
 */
function repeatedInQuery(error: FastifyError, failure: ValidationFailure, request: FastifyRequest | undefined): { name: string; times: number } | undefined {
  if (error.validationContext !== 'querystring' || failure.keyword !== 'type' || !/^\/[^/]+$/.test(failure.instancePath)) return undefined;
  const name = failure.instancePath.slice(1).replace(/~1/g, '/').replace(/~0/g, '~');
  const value = (request?.query as Record<string, unknown> | undefined)?.[name];
  return Array.isArray(value) && value.length > 1 ? { name, times: value.length } : undefined;
}

function validationMessage(error: FastifyError, request?: FastifyRequest): string {
  const failures = error.validation ?? [];
  const first = mostTelling(failures);
  if (!first) return error.message;
  if (isMissingBody(error, first, request)) return `The request has no body. ${sendInstead(request)}`;
  const repeats = repeatedInQuery(error, first, request);
  if (repeats !== undefined) return `querystring.${repeats.name} is given ${repeats.times} times; it takes one value: give it once.`;
  const where = `${error.validationContext ?? 'request'}${first.instancePath ? first.instancePath.replace(/\//g, '.') : ''}`;
  const params = first.params as Record<string, unknown>;
  if (first.keyword === 'required') return `${where}: "${String(params.missingProperty)}" is required.`;
  if (first.keyword === 'additionalProperties') return `${where}: "${String(params.additionalProperty)}" is not an accepted field.`;
  // A name refused by `propertyNames` (Ajv reports it at the object holding it): said to be the name,
  // not the object, and quoted short, since a name too long is the usual reason.
  const name = (first as { propertyName?: unknown }).propertyName;
  if (typeof name === 'string') return `${where}: the field name "${quotedShort(name)}" ${first.message ?? 'is invalid'}.`;
  const allowed = allowedValues(failures, first);
  if (allowed && allowed.length > 0) {
    const listed = allowed.map((value) => JSON.stringify(value)).join(', ');
    return `${where} must be ${allowed.length === 1 ? listed : `one of ${listed}`}.`;
  }
  const sent = first.keyword === 'type' ? sentInJson(error, first, request) : undefined;
  if (sent) return `${where} ${first.message ?? 'is invalid'}; this JSON body has ${sent} there (a JSON body's values are taken as sent, never converted).`;
  return `${where} ${first.message ?? 'is invalid'}.`;
}

/** `text` cut to its first 20 characters (an ellipsis after), to be quoted in a message. */
function quotedShort(text: string): string {
  const characters = [...text];
  return characters.length > 20 ? `${characters.slice(0, 20).join('')}…` : text;
}

/** What a value is, in words, as JSON has it. */
function jsonKind(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'a list';
  switch (typeof value) {
    case 'string': return 'a string';
    case 'number': return 'a number';
    case 'boolean': return value ? 'true' : 'false';
    default: return 'an object';
  }
}

/**
 * For a field of a JSON body that has the wrong type, what it holds instead (`a string` where an
 * integer was declared): a client that relied on the conversion forms used to get is told why.
 * Undefined for a form (its fields are text, converted), for the whole body, or a field not found.
 */
function sentInJson(error: FastifyError, failure: ValidationFailure, request: FastifyRequest | undefined): string | undefined {
  if (error.validationContext !== 'body' || !failure.instancePath || request === undefined || isFormBody(request.body)) return undefined;
  let value: unknown = request.body;
  for (const step of failure.instancePath.split('/').slice(1)) {
    if (value === null || typeof value !== 'object') return undefined;
    const key = step.replace(/~1/g, '/').replace(/~0/g, '~');
    if (!Object.hasOwn(value, key)) return undefined;
    value = (value as Record<string, unknown>)[key];
  }
  return jsonKind(value);
}

/**
 * What a 415 says to send instead: JSON or a form where the server reads forms (the main app), JSON
 * alone where it does not (the DNS update API, a listener of its own).
 */
function unsupportedMediaMessage(request: FastifyRequest | undefined): string {
  return readsForms(request) ? 'This content type is not accepted; send JSON or a form.' : 'This content type is not accepted; send JSON (content-type: application/json).';
}

/** Whether the server `request` reached reads forms (the main app) or JSON alone (the DNS update API). */
function readsForms(request: FastifyRequest | undefined): boolean {
  return request?.server.hasContentTypeParser(FORM_MEDIA_TYPE) ?? true;
}

/** What to send as a body where `request` was made. */
function sendInstead(request: FastifyRequest | undefined): string {
  return readsForms(request) ? 'Send the fields as JSON (content-type: application/json) or as a form.' : 'Send the fields as JSON (content-type: application/json).';
}

/**
 * Whether a schema failure is about the long-poll's `?wait=` (every door reads it with
 * `requestedWaitSeconds`): it is answered `invalid_wait`, as the waits the schema lets through
 * but the handler refuses (`Infinity`), not `validation_failed`.
 */
function isWaitFailure(error: FastifyError): boolean {
  return error.validationContext === 'querystring' && mostTelling(error.validation ?? [])?.instancePath === '/wait';
}

/** Turns anything thrown into a PairgateError (in the words of `request`'s server); the flag says whether it was unexpected. */
export function toPairgateError(error: unknown, request?: FastifyRequest): { error: PairgateError; unexpected: boolean } {
  if (isPairgateError(error)) return { error, unexpected: false };
  const fastifyError = error as FastifyError & { statusCode?: number; code?: string };
  if (fastifyError.validation) {
    if (isWaitFailure(fastifyError)) {
      const wait = ((request?.query ?? {}) as Record<string, unknown>).wait;
      return { error: invalidWaitError(Array.isArray(wait) ? wait.length : undefined), unexpected: false };
    }
    return { error: new InvalidRequestError(validationMessage(fastifyError, request), undefined, 'validation_failed'), unexpected: false };
  }
  switch (fastifyError.code) {
    case 'FST_ERR_CTP_BODY_TOO_LARGE':
      return { error: new PayloadTooLargeError(), unexpected: false };
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
      return { error: new PairgateError('unsupported_media_type', 415, unsupportedMediaMessage(request)), unexpected: false };
    case 'FST_ERR_CTP_EMPTY_JSON_BODY':
      return { error: new InvalidRequestError('The JSON body is empty.', undefined, 'invalid_json'), unexpected: false };
    case 'FST_ERR_CTP_INVALID_JSON_BODY':
      return { error: new InvalidRequestError('The body is not valid JSON.', undefined, 'invalid_json'), unexpected: false };
    case 'FST_ERR_CTP_INVALID_CONTENT_LENGTH':
      // Any body, JSON or form: "not valid JSON" sent people looking for a syntax error.
      return { error: new InvalidRequestError('The body\'s length is not the one its Content-Length header says. Send the header with the length in bytes of the body as sent, or let the HTTP client set it.', undefined, 'invalid_content_length'), unexpected: false };
  }
  if (fastifyError instanceof SyntaxError || fastifyError.name === 'SyntaxError') {
    return { error: new InvalidRequestError('The body is not valid JSON.', undefined, 'invalid_json'), unexpected: false };
  }
  // The client closed the connection while its body was on the way (Node's "aborted", with the
  // ECONNRESET a store's socket error has too): a 400 no one reads, never logged as a store down,
  // which any client could otherwise set off at will.
  // (`raw?`: a request made up by a caller of sendError may have no stream.)
  if (request?.raw?.readableAborted === true) {
    return { error: new InvalidRequestError('The request\'s body did not arrive whole: the connection was closed while it was being sent.', undefined, 'request_aborted'), unexpected: false };
  }
  // A backing store that is unreachable (socket errors, PostgreSQL shutdown codes, ioredis failing
  // fast): the request can be retried once it is back.
  if (isStoreUnreachable(error)) {
    return { error: new UnavailableError('A backing store is unreachable. Try again shortly.', 'store_unavailable'), unexpected: false };
  }
  // Ended by the database for another transaction's sake (a deadlock broken): nothing was kept.
  if (isStoreConflict(error)) {
    return { error: new UnavailableError('The change met another one made at the same moment and was not made. Try again.', 'store_conflict'), unexpected: false };
  }
  const status = fastifyError.statusCode;
  if (status === 429) return { error: new RateLimitedError(60), unexpected: false };
  if (status && status >= 400 && status < 500) {
    const code = (fastifyError.code ?? 'bad_request').toLowerCase().replace(/^fst_err_/, '');
    return { error: new PairgateError(code, status, fastifyError.message), unexpected: false };
  }
  return { error: new PairgateError('internal_error', 500, 'Something went wrong on our side. It has been logged.'), unexpected: true };
}

/**
 * What the operator reads in the log line of a store failure answered 503 `store_unavailable`: the
 * client's words ("a backing store is unreachable") told the operator of a full disk to look for
 * a server that was down. Said from the driver's code (the store's own error, or one of its causes).
 */
export function storeFailureAdvice(cause: unknown): string {
  const answered = 'answered 503 store_unavailable';
  const code = storeCodeOf(cause) ?? '';
  if (code.startsWith('SQLITE_FULL')) return `the embedded database could not write: the data folder's disk is full; free space there (${answered} until then; no restart needed)`;
  if (code.startsWith('SQLITE_READONLY')) return `the embedded database could not write: its file or the data folder is read-only (a file system remounted read-only after disk errors, or permissions); make it writable (${answered} until then)`;
  if (code.startsWith('SQLITE_IOERR')) return `the embedded database could not write: the disk of the data folder reports I/O errors; check it (${answered} until then)`;
  if (code === '53300') return `PostgreSQL has no connection to spare (too many connections): raise its max_connections above nodes x (PAIRGATE_DATABASE_POOL_SIZE + 1), or lower PAIRGATE_DATABASE_POOL_SIZE (${answered})`;
  if (code === '53100') return `PostgreSQL's disk is full; free space on the database server (${answered})`;
  if (code.startsWith('53')) return `PostgreSQL has no resource to spare (memory, connections, disk); see err for which (${answered})`;
  return `a backing store (PostgreSQL or Redis) did not answer: check that it runs and is reachable at PAIRGATE_DATABASE_URL or PAIRGATE_REDIS_URL; this node reconnects by itself (${answered})`;
}

/** A store failure's warning is written once per cause in this window, then with the count left out. */
export const STORE_FAILURE_LOG_WINDOW_MS = 10_000;

/** Each server's store failures logged (`RepeatedLines`), by the Fastify instance; one for requests of none. */
const storeFailureLines = new WeakMap<object, RepeatedLines>();
const serverlessFailureLines = new RepeatedLines(STORE_FAILURE_LOG_WINDOW_MS);

/**
 * Warns of a 5xx answer. `errorCode`, not `code`: a field named `code` is redacted (it is a pairing
 * code elsewhere). A store failure turned into store_unavailable keeps its cause (disk full, no
 * connection to spare), which the operator needs and the client is not told, says what to do
 * (storeFailureAdvice), and is written once per cause every `STORE_FAILURE_LOG_WINDOW_MS` with
 * how many like it were left out: a failing store fails every request.
 */
function warnOfFailure(request: FastifyRequest, error: PairgateError, thrown: unknown): void {
  if (thrown === error) {
    request.log.warn({ errorCode: error.code }, error.message);
    return;
  }
  if (error.code !== 'store_unavailable') {
    request.log.warn({ errorCode: error.code, err: thrown }, error.message);
    return;
  }
  const server = (request as { server?: object }).server;
  let lines = server ? storeFailureLines.get(server) : serverlessFailureLines;
  if (!lines) storeFailureLines.set(server!, (lines = new RepeatedLines(STORE_FAILURE_LOG_WINDOW_MS)));
  const leftOut = lines.admit(storeCodeOf(thrown) ?? 'unknown');
  if (leftOut === undefined) return;
  const advice = storeFailureAdvice(thrown);
  if (leftOut === 0) request.log.warn({ errorCode: error.code, err: thrown }, advice);
  else request.log.warn({ errorCode: error.code, err: thrown, leftOut }, `${advice}; ${leftOut} more like it in the last ${STORE_FAILURE_LOG_WINDOW_MS / 1000} s were not logged`);
}

/** The first error code, in `error` or its causes, a store driver set (`SQLITE_FULL`, `ECONNREFUSED`, `53300`). */
function storeCodeOf(error: unknown): string | undefined {
  for (let current = error, depth = 0; current && depth < 4; depth++) {
    const code = (current as { code?: unknown }).code;
    if (typeof code === 'string') return code;
    current = (current as { cause?: unknown }).cause;
  }
  return undefined;
}

/** The field a schema failure is about, and what is wrong with it. */
function faultOf(failure: ValidationFailure): Pick<Refusal, 'field' | 'problem'> {
  const params = failure.params as Record<string, unknown>;
  const named = failure.keyword === 'required' ? params.missingProperty : failure.keyword === 'additionalProperties' ? params.additionalProperty : failure.instancePath.split('/').find(Boolean);
  const problem = failure.keyword === 'required' ? 'missing' : failure.keyword === 'additionalProperties' ? 'unknown' : 'invalid';
  return typeof named === 'string' && named ? { field: named.slice(0, MAX_FIELD_NAME), problem } : { problem };
}

/** What the error page says `error` of (for a schema failure, which part and field of the request). */
function refusalOf(error: PairgateError, thrown: unknown): Refusal {
  const retryAfter = error.details?.retryAfterSeconds;
  const refusal: Refusal = { status: error.status, code: error.code, message: error.message, ...(typeof retryAfter === 'number' ? { retryAfterSeconds: retryAfter } : {}) };
  const fastifyError = thrown as FastifyError;
  const failure = fastifyError.validation ? mostTelling(fastifyError.validation) : undefined;
  if (!failure) return refusal;
  return { ...refusal, ...(fastifyError.validationContext ? { part: fastifyError.validationContext } : {}), ...faultOf(failure) };
}

/**
 * Where the error page of a refused request leads: for a form, its page when a page is served at
 * the same address (`POST /device` and `GET /device`), in the language the person was reading; for
 * a page whose own address was refused (a link with a query or path the page does not take), the
 * home page, bare so it speaks the person's own language: reloading would be refused again, and
 * a place the refused address names (an app's return URL in its query) is anyone's to write.
 */
function wayOutOf(request: FastifyRequest, refusal: Refusal, lang: PageLanguage | undefined): { back: string; to: 'page' | 'home' } | undefined {
  const route = request.routeOptions.url;
  const path = request.url.split('?')[0] ?? '';
  const addressRefused = request.method === 'GET' || request.method === 'HEAD' || refusal.part === 'params';
  if (addressRefused) return path !== '/' && request.server.hasRoute({ method: 'GET', url: '/' }) ? { back: '/', to: 'home' } : undefined;
  if (!route || !/^\/(?!\/)/.test(path) || !request.server.hasRoute({ method: 'GET', url: route })) return undefined;
  return { back: lang ? `${path}?lang=${lang}` : path, to: 'page' };
}

/** Whether `request`'s error is answered with the error page: refused before its page's handler, for a browser. */
function answersWithPage(request: FastifyRequest): boolean {
  return request.routeOptions?.config?.page === true && !handled.has(request) && prefersHtml(request);
}

/** The error page's data for `error` at a page: in the page's language when it is translated, with its way out. */
function pageRefusalView(request: FastifyRequest, error: PairgateError, thrown: unknown): ErrorPageView {
  const translated = request.routeOptions.config.pageTranslated === true;
  const lang = translated ? requestedLanguage(request) : undefined;
  const refusal = refusalOf(error, thrown);
  const way = wayOutOf(request, refusal, lang);
  return errorPageView(refusal, lang ?? 'en', way?.back, way?.to);
}

/** Sends the error page for `error`, in the page's language when it is translated, with the page security headers. */
function sendErrorPage(request: FastifyRequest, reply: FastifyReply, error: PairgateError, thrown: unknown): FastifyReply {
  reply.headers(PAGE_SECURITY_HEADERS);
  return (errorPages ??= new Pages(false)).renderErrorPage(reply, pageRefusalView(request, error, thrown), error.status);
}

/**
 * The error page of `error` as `sendError` gives it to a browser at a page's form refused before
 * its handler (the same page and words, the page security headers, `no-store`), as a whole
 * HTTP/1.1 answer with `headers` (Retry-After, say) and `connection: close`, to write on the socket
 * of `raw` where no reply can be sent: a form whose body stalled while the server shuts down
 * (OpenConnections.endStalledBodies). Undefined when `raw` is no page's post or its client does not
 * ask for HTML first: it gets the JSON then. The page renders synchronously; its language is the
 * one the address or the cookie names, else Accept-Language (the form's own `lang` is in the body
 * not yet read).
 */
export function rawErrorPageAnswer(raw: IncomingMessage, error: PairgateError, headers: Readonly<Record<string, string>> = {}): string | undefined {
  const request = pagePostsByRaw.get(raw);
  if (!request || !answersWithPage(request)) return undefined;
  const html = (errorPages ??= new Pages(false)).errorPageHtml(pageRefusalView(request, error, error));
  return rawAnswer(error.status, 'text/html; charset=utf-8', html, { ...headers, 'cache-control': 'no-store', ...PAGE_SECURITY_HEADERS });
}

/** The error page of an address no route answers, in the language the browser asks for. */
function sendMissingPage(request: FastifyRequest, reply: FastifyReply, error: PairgateError): FastifyReply {
  const refusal: Refusal = { status: error.status, code: error.code, message: error.message };
  reply.headers(PAGE_SECURITY_HEADERS);
  return (errorPages ??= new Pages(false)).renderErrorPage(reply, errorPageView(refusal, requestedLanguage(request)), error.status);
}

/**
 * Sends `error` in the route's wire shape, `no-store`, with Retry-After for 429 and 503; or, on a page refused
 * before its handler ran, to a browser, as the error page (see `page`). `routelessShape` is the
 * shape of an answer no route gives (the door owning the path's prefix), used when there is no route's.
 */
export function sendError(request: FastifyRequest, reply: FastifyReply, thrown: unknown, routelessShape?: ErrorShape): FastifyReply {
  const { error, unexpected } = toPairgateError(thrown, request);
  if (unexpected) request.log.error({ err: thrown }, 'unexpected error');
  // A 501 is the client's (a transfer coding not served), not a failure of the server's to warn of.
  else if (error.status >= 500 && error.status !== 501) warnOfFailure(request, error, thrown);
  // A client whose connection has closed (one that left while its password waited, 499) reads
  // nothing: the status alone, no page or body made for it.
  if (request.raw?.socket?.destroyed === true) {
    logClientGone(request, reply, error.status);
    return reply.code(error.status).send();
  }
  const retryAfter = error.details?.retryAfterSeconds;
  if (typeof retryAfter === 'number') reply.header('retry-after', String(retryAfter));
  else if (error.status === 503) reply.header('retry-after', '5');
  // Never stored, whatever the route's header set: a refusal is about this request (its rate limit,
  // its language, JSON or a page as its Accept chose), and 404, 405 and 414 are cacheable by default
  // (RFC 9111 4.2.2), so a shared cache could hand one client's answer to the next.
  reply.header('cache-control', 'no-store');
  if (answersWithPage(request)) return sendErrorPage(request, reply, error, thrown);
  // What the not-found route refuses before its handler (a body too large, a rate limit) is told a
  // browser with the address's error page too, as its 404 or 405 would be; a door's prefix keeps its shape.
  if (request.is404 && !routelessShape && prefersHtml(request) && !prefixShapeOf(request)) return sendMissingPage(request, reply, error);
  const shape = request.routeOptions?.config?.errorShape ?? routelessShape ?? pairgateErrorShape;
  return reply.code(error.status).type('application/json; charset=utf-8').send(shape(error));
}

/**
 * Marks the pages as they are added (`page`, `pageTranslated`), with a first preHandler hook that
 * tells their errors from the refusals before them.
 */
function markPages(app: FastifyInstance): void {
  app.addHook('onRoute', (route) => {
    if (!(route.config?.page ?? servesPages(route.schema as Parameters<typeof servesPages>[0]))) return;
    route.config = { ...(route.config ?? {}), page: true, pageTranslated: declaresLanguage(route.schema as Parameters<typeof declaresLanguage>[0]) };
    const own = route.preHandler === undefined ? [] : Array.isArray(route.preHandler) ? route.preHandler : [route.preHandler];
    route.preHandler = [markHandled, ...own];
    // A form's post may be refused while its body arrives (rawErrorPageAnswer); a GET's body is never read.
    if ([route.method].flat().some((method) => method !== 'GET' && method !== 'HEAD')) {
      const ownOnRequest = route.onRequest === undefined ? [] : Array.isArray(route.onRequest) ? route.onRequest : [route.onRequest];
      route.onRequest = [rememberPagePost, ...ownOnRequest];
    }
  });
}

/** Installs the error and not-found handlers of the whole server, and marks the pages (`page`). */
export function installErrorHandlers(app: FastifyInstance): void {
  markPages(app);
  app.decorate('errorShapesByPrefix', new PathPrefixShapes());
  app.decorate('corsOpenRoutes', new CorsOpenRoutes());
  app.setErrorHandler((error, request, reply) => sendError(request, reply, error));
  app.setNotFoundHandler((request, reply) => {
    const path = request.url.split('?')[0] ?? '';
    const allowed = allowedMethods(request.server, request.method, path);
    // OPTIONS on a path served under other methods asks what they are (RFC 9110 9.3.7): say it.
    if (allowed && request.method === 'OPTIONS') return reply.code(204).headers(API_SECURITY_HEADERS).header('allow', allowed.join(', ')).send();
    if (allowed) reply.header('allow', allowed.join(', '));
    const error = allowed
      ? new PairgateError('method_not_allowed', 405, `${request.method} is not allowed at ${path}; it answers ${allowed.join(', ')}.`)
      : new NotFoundError(`There is nothing at ${request.method} ${path}.`, 'route_not_found');
    // Under a door's prefix the caller is that door's client (a chat server): its format and the
    // headers of machine answers, never a page.
    const doorShape = prefixShapeOf(request);
    if (doorShape) return sendError(request, reply.headers(API_SECURITY_HEADERS), error, doorShape);
    // A person who followed a broken link in a browser reads a page; a program gets the JSON.
    if (prefersHtml(request)) return sendMissingPage(request, reply, error);
    return sendError(request, reply, error);
  });
}

/** The order methods are listed in an Allow header: the common ones first, as people expect them. */
const METHOD_ORDER = ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS'];

function methodRank(method: string): number {
  const rank = METHOD_ORDER.indexOf(method);
  return rank < 0 ? METHOD_ORDER.length : rank;
}

/**
 * The methods `path` is served under, for a request (`method`) no route answered: the Allow header
 * of a 405 (RFC 9110 15.5.6), OPTIONS included since it is then answered; undefined when no route
 * serves the path under any method (a 404). Asked only here, on the not-found path, so the routes
 * people call pay nothing for it. A request whose own method has a route at the path (a handler
 * that called `callNotFound`) is a 404: the path exists, the thing it names does not.
 */
export function allowedMethods(server: FastifyInstance, method: string, path: string): string[] | undefined {
  if (server.findRoute({ method: method as HTTPMethods, url: path }) !== null) return undefined;
  return methodsServing(server, path);
}

/**
 * The methods routes serve `path` under, then OPTIONS, in the order of an Allow header; undefined
 * when no route serves it under any method but OPTIONS. An OPTIONS route of the path's own (a
 * door's CORS preflight) is not counted: OPTIONS is listed either way.
 */
export function methodsServing(server: FastifyInstance, path: string): string[] | undefined {
  const found = server.supportedMethods.filter((candidate) => candidate !== 'OPTIONS' && server.findRoute({ method: candidate, url: path }) !== null);
  if (found.length === 0) return undefined;
  return [...found, 'OPTIONS'].sort((a, b) => methodRank(a) - methodRank(b) || a.localeCompare(b));
}

/**
 * Fastify's `frameworkErrors`: what its router refuses before any route runs (a malformed
 * %-escape in the path, a path parameter over the router's length limit) is answered like every
 * other error, with a machine code and the security headers, not in Fastify's own body: in the
 * shape of the door owning the path's prefix (`claimPathPrefix`), pairgate's elsewhere; with the
 * CORS headers of the route the address reaches where it is open to other origins (`CorsOpenRoutes`).
 */
export function sendFrameworkError(error: FastifyError, request: FastifyRequest, reply: FastifyReply): FastifyReply {
  const doorShape = prefixShapeOf(request);
  // A door's wire shape is data for programs: the machine headers, as on its routes.
  reply.headers(doorShape ? API_SECURITY_HEADERS : PAGE_SECURITY_HEADERS);
  // At a path open to other origins, the page that called it reads why, as it reads the route's errors.
  reply.headers(corsAnswerHeaders(request.server, request.method, request.url));
  const refusal = routerRefusal(error);
  // A person who followed a broken link in a browser reads a page, as for an unknown address, in
  // the remembered language too.
  if (refusal && !doorShape && prefersHtml(request)) return sendMissingPage(withCookies(request), reply, refusal);
  return sendError(request, reply, refusal ?? error, doorShape);
}

/** pairgate's error for what Fastify's router refused before any route (`bad_url`, `uri_too_long`), if it is one of those. */
function routerRefusal(error: FastifyError): PairgateError | undefined {
  switch (error.code) {
    case 'FST_ERR_BAD_URL':
      return new InvalidRequestError('This address has a malformed %-escape. Check the link.', undefined, 'bad_url');
    case 'FST_ERR_MAX_PARAM_LENGTH':
      return new PairgateError('uri_too_long', 414, 'A part of this address is too long to be anything here. Check the link.');
    default:
      return undefined;
  }
}
