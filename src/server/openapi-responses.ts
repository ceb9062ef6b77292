import type { FastifySchema, FastifySchemaValidationError } from 'fastify';
import { Type } from 'typebox';
import type { SwaggerTransform } from '@fastify/swagger';
import { InvalidRequestError, PairgateError, PayloadTooLargeError, RateLimitedError, UnavailableError } from '../core/errors.js';
import { pairgateErrorShape, type ErrorShape } from './error-shapes.js';
import { headersTooLargeRefusal, requestTimeoutRefusal } from './client-errors.js';
import { FORM_MEDIA_TYPE, readsForms } from './form-body.js';
import { shuttingDownError } from './shutdown-refusal.js';
import { toPairgateError } from './error-handler.js';

/**
 * The answers a route gives without its handler deciding them, listed in the OpenAPI document
 * next to the route's own (`schema.response`), so that a route documents every status it can
 * answer once the router has chosen it. The rule (docs/architecture.md, "Schemas"):
 *
 * - 400 when the route validates something (a body, query, path parameters, headers) or reads a
 *   body: the request does not match the schema, or its JSON is malformed;
 * - 413 and 415 when the route reads a body (POST, PUT, PATCH, DELETE, OPTIONS): it is larger
 *   than PAIRGATE_BODY_LIMIT, or neither JSON nor a form;
 * - 429 and 503 when the route is under the rate limit (every route but the health probes and
 *   the static files): too many requests from the caller's network, or a store (the limit's
 *   counts, the route's own data) is unreachable; 503 `shutting_down` on the others too, but for
 *   `/readyz`, which says so in its own body (`answersWhileShuttingDown`);
 * - 408 and 431 on every route: the request was not received in time, or its headers are too
 *   large. Node's parser finds both before any route is chosen, so they come in pairgate's shape
 *   (client-errors.ts) whatever the route's, and as JSON on pages too.
 *
 * A route whose body the form parser reads (its scope has it: every route with a body but in the
 * scopes that take JSON only) lists the form's media type beside JSON, unless it says itself what
 * it consumes.
 *
 * A status the route documents itself keeps its own description, and when that answer is a page
 * (`htmlPage`) the shared JSON error is listed next to it. What the router answers before any
 * route is chosen (404 `route_not_found`, 405 `method_not_allowed`, 400 `bad_url`, 414 `uri_too_long`) belongs to no route
 * and is said once, in the document's description; the 405, a whole answer of its own (the
 * `Allow` header), is also in `components.responses` (ROUTER_RESPONSES).
 *
 * These responses go into the document only, not into the route's runtime schema: Fastify would
 * serialize every error through them, and a schema that drifted from a door's shape would drop
 * fields from its errors.
 */

/** Methods whose body Fastify reads (so the content type, the size and the JSON can be refused). */
const BODY_METHODS = new Set(['POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS']);

/** What the OpenAPI document says of answers no route gives. */
export const ROUTER_ANSWERS_DESCRIPTION =
  'Besides the responses each operation lists, the server answers 404 `route_not_found` for a path it does not serve, ' +
  '405 `method_not_allowed` with an `Allow` header for a path it serves under other methods (OPTIONS there: 204 with `Allow`), ' +
  '400 `bad_url` for a malformed %-escape, 414 `uri_too_long` for a path parameter too long to be anything (and, in pairgate\'s shape, for a request line over the 16 KiB of the head by itself), ' +
  'and 503 while it shuts down; a browser asking for HTML first gets the 404 as a page, except under `/api`, where these are always JSON. ' +
  'Any request may also be refused 400 in pairgate\'s shape before a route reads it: `malformed_request` (not valid HTTP/1.1), ' +
  '`missing_host` (an HTTP/1.1 request without Host), `invalid_request_target` (the target `*` with a method other than OPTIONS), `invalid_framing` (an HTTP/1.0 request with a Transfer-Encoding); ' +
  '417 `expectation_failed` for an `Expect` header other than `100-continue`; ' +
  'and 501 `unsupported_transfer_coding`, in the route\'s shape, for a body sent in a transfer coding other than chunked alone. ' +
  'The 405 is described in `components.responses.MethodNotAllowed`. ' +
  'Under `/mattermost` and `/webhook` these (the 404, `bad_url`, `uri_too_long`) come in that connector\'s own shape, as its calls\' errors do. ' +
  'On pages, the shared refusals (400, 413, 415, 429, 503) are answered to such a browser as the error page.';

const RETRY_AFTER = { 'retry-after': { type: 'integer', description: 'Seconds to wait before trying again.' } };

/** One shared response: when it applies, the error it stands for, and what it says. */
interface SharedResponse {
  status: number;
  applies(route: RouteFacts): boolean;
  /** An answer of this status the route gives (its example in the document). */
  example(route: RouteFacts): PairgateError;
  /** What it says, on `route`. */
  description: string | ((route: RouteFacts) => string);
  headers?: Record<string, unknown>;
  /** Answered before any route is chosen (client-errors.ts): pairgate's shape and JSON on every route. */
  beforeRouting?: boolean;
}

/** What decides which shared responses a route has. */
interface RouteFacts {
  readsBody: boolean;
  validates: boolean;
  rateLimited: boolean;
  answersWhileShuttingDown: boolean;
  /** The parts the route validates (TypeBox or JSON schemas). */
  parts: Pick<FastifySchema, 'body' | 'querystring' | 'params' | 'headers'>;
  /** The route's own wording of schema failures, if it has one (`wordedSchemaErrors`). */
  schemaErrorFormatter?: (errors: FastifySchemaValidationError[], where: string) => Error;
}

const SHARED: readonly SharedResponse[] = [
  {
    status: 400,
    applies: (route) => route.validates || route.readsBody,
    example: validationExample,
    description: (route) => route.readsBody
      ? 'The request does not match this operation\'s schema (`validation_failed`: the message names the part, such as `body.label` or `params.id`, and the rule it breaks), or its JSON body is malformed (`invalid_json`) or holds a `__proto__` key or a `constructor` object with a `prototype` key (`body_forbidden_key`), or its body (JSON, a form, or a multipart field that declares no other charset) is not UTF-8, or a JSON body\'s `\\u` escapes leave half a surrogate pair alone (`body_not_utf8`), or its length is not its Content-Length (`invalid_content_length`).'
      : 'A path parameter, the query or a header does not match this operation\'s schema (`validation_failed`: the message names the part, such as `params.id` or `querystring.since`, and the rule it breaks; a query parameter given twice where one value is taken breaks its type).',
  },
  {
    status: 413,
    applies: (route) => route.readsBody,
    example: () => new PayloadTooLargeError(),
    description: 'The body is larger than the server accepts (PAIRGATE_BODY_LIMIT; 8 KiB on the DNS update listener): `payload_too_large`.',
  },
  {
    status: 408,
    applies: () => true,
    beforeRouting: true,
    example: requestTimeoutRefusal,
    description: 'The request (its headers and body) was not received within PAIRGATE_REQUEST_TIMEOUT_SECONDS: `request_timeout`, in pairgate\'s shape whatever this operation\'s, and the connection closed.',
  },
  {
    status: 431,
    applies: () => true,
    beforeRouting: true,
    example: headersTooLargeRefusal,
    description: 'The request\'s headers are too large (16 KiB in all): `headers_too_large`, in pairgate\'s shape whatever this operation\'s, and the connection closed.',
  },
  {
    status: 415,
    applies: (route) => route.readsBody,
    example: () => new PairgateError('unsupported_media_type', 415, 'This content type is not accepted; send JSON or a form.'),
    description: 'The body is neither JSON nor a form: `unsupported_media_type`; or it is declared in a charset other than UTF-8: `unsupported_charset`; or it is sent compressed (a Content-Encoding other than identity): `unsupported_content_encoding`.',
  },
  {
    status: 429,
    applies: (route) => route.rateLimited,
    example: () => new RateLimitedError(60),
    description: 'Too many requests from this network: `rate_limited`.',
    headers: RETRY_AFTER,
  },
  {
    status: 503,
    applies: (route) => route.rateLimited,
    example: () => new UnavailableError('A backing store is unreachable. Try again shortly.', 'store_unavailable'),
    description: 'A backing store is unreachable (`store_unavailable`; service resumes by itself), a change met another made at the same moment and was not made (`store_conflict`; try again), or the server is shutting down (`shutting_down`; the next try reaches another node or the restarted one).',
    headers: RETRY_AFTER,
  },
  {
    status: 503,
    applies: (route) => !route.rateLimited && !route.answersWhileShuttingDown,
    example: shuttingDownError,
    description: 'The server is shutting down (`shutting_down`; the next try reaches another node or the restarted one).',
    headers: RETRY_AFTER,
  },
];

/** A JSON schema as the examples read it (TypeBox's are JSON schemas). */
interface PartSchema {
  type?: unknown;
  properties?: Record<string, PartSchema>;
  required?: readonly string[];
  pattern?: string;
  minLength?: number;
  maxLength?: number;
}

/**
 * The failure Ajv reports for a value of property `name` (of schema `schema`) that breaks its most
 * telling rule: its pattern, its length, else its type (which a query parameter given twice breaks:
 * the list is no single value); undefined when no value can fail (a path parameter is always one
 * string, and a header's repetitions arrive joined into one).
 */
function failureOf(name: string, schema: PartSchema, lists: boolean): FastifySchemaValidationError | undefined {
  const at = { instancePath: `/${name}`, schemaPath: `#/properties/${name}` };
  if (typeof schema.pattern === 'string') return { ...at, keyword: 'pattern', params: { pattern: schema.pattern }, message: `must match pattern "${schema.pattern}"` };
  if (typeof schema.minLength === 'number' && schema.minLength > 0) return { ...at, keyword: 'minLength', params: { limit: schema.minLength }, message: `must NOT have fewer than ${schema.minLength} characters` };
  if (typeof schema.maxLength === 'number') return { ...at, keyword: 'maxLength', params: { limit: schema.maxLength }, message: `must NOT have more than ${schema.maxLength} characters` };
  if (typeof schema.type === 'string' && schema.type !== 'array' && (lists || schema.type !== 'string')) return { ...at, keyword: 'type', params: { type: schema.type }, message: `must be ${schema.type}` };
  return undefined;
}

/** The first property of `part` (an object schema) a value can fail, as Ajv reports it. */
function firstFailure(part: unknown, lists: boolean): FastifySchemaValidationError | undefined {
  for (const [name, schema] of Object.entries((part as PartSchema | undefined)?.properties ?? {})) {
    const failure = failureOf(name, schema, lists);
    if (failure) return failure;
  }
  return undefined;
}

/**
 * The schema failure `failure` of the route's `where` as the route answers it: through its own
 * wording when it has one, else the error handler's (the same path a real request takes).
 */
function answerTo(route: RouteFacts, where: string, failure: FastifySchemaValidationError): PairgateError {
  const formatted = route.schemaErrorFormatter?.([failure], where);
  if (formatted instanceof PairgateError) return formatted;
  return toPairgateError(Object.assign(new Error('schema'), { validation: [failure], validationContext: where })).error;
}

/**
 * The shared 400's example on `route`: an answer it gives. A body's first required field missing,
 * where it reads a body that has one; else a bad `?wait=` (`invalid_wait`), a path parameter, a
 * query parameter or a header that breaks its rule; else a body's malformed JSON. Every route was
 * shown `body: "name" is required.`, GETs included, which never say it.
 */
function validationExample(route: RouteFacts): PairgateError {
  const required = route.readsBody ? (route.parts.body as PartSchema | undefined)?.required?.[0] : undefined;
  if (required !== undefined) {
    return answerTo(route, 'body', { keyword: 'required', instancePath: '', schemaPath: '#/required', params: { missingProperty: required }, message: `must have required property '${required}'` });
  }
  const query = route.parts.querystring as PartSchema | undefined;
  if (query?.properties?.wait) return answerTo(route, 'querystring', { keyword: 'pattern', instancePath: '/wait', schemaPath: '#/properties/wait/pattern', params: {}, message: 'must match pattern' });
  for (const [where, lists] of [['params', false], ['querystring', true], ['headers', false]] as const) {
    const failure = firstFailure(route.parts[where], lists);
    if (failure) return answerTo(route, where, failure);
  }
  if (route.readsBody) return toPairgateError(new SyntaxError('Unexpected end of JSON input')).error;
  // Nothing the schema declares can fail (free text alone): said in general, naming no part.
  return new InvalidRequestError('A path parameter, the query or a header does not match this operation\'s schema.', undefined, 'validation_failed');
}

const METHOD_NOT_ALLOWED_EXAMPLE = pairgateErrorShape(new PairgateError('method_not_allowed', 405, 'PUT is not allowed at /api/v1/grants; it answers POST.'));

/**
 * Answers of the router that belong to no operation, for `components.responses`: the 405 is an
 * answer to a method a path does not serve, so no operation of the document can list it.
 */
export const ROUTER_RESPONSES = {
  MethodNotAllowed: {
    description: 'The path is served, under other methods: `method_not_allowed`, with the methods it answers in `Allow` (OPTIONS there answers 204 with `Allow`). Under a door\'s own prefix (`/mattermost`, `/webhook`, ...) in that door\'s error shape.',
    headers: { allow: { description: 'The methods the path answers, such as `GET, HEAD, OPTIONS`.', schema: { type: 'string' as const } } },
    content: {
      'application/json': {
        schema: schemaOf(METHOD_NOT_ALLOWED_EXAMPLE),
        example: METHOD_NOT_ALLOWED_EXAMPLE,
      },
    },
  },
};

/** A JSON schema describing `value` (the body an error shape renders), every field required. */
function schemaOf(value: unknown): Record<string, unknown> {
  if (value === null) return { type: 'null' };
  if (Array.isArray(value)) return { type: 'array' };
  switch (typeof value) {
    case 'string':
      return { type: 'string' };
    case 'number':
      return { type: Number.isInteger(value) ? 'integer' : 'number' };
    case 'boolean':
      return { type: 'boolean' };
    case 'object': {
      const entries = Object.entries(value as Record<string, unknown>);
      return { type: 'object', properties: Object.fromEntries(entries.map(([key, field]) => [key, schemaOf(field)])), required: entries.map(([key]) => key) };
    }
    default:
      return {};
  }
}

/**
 * The response `shared` stands for on a route whose errors take `shape`. The body's schema is
 * read off the shape applied to an example error, so the document shows the shape the route
 * really renders (pairgate's, OAuth's, Plexus's, ...) with no second description of each shape
 * to keep in step with it.
 */
function sharedResponse(shared: SharedResponse, route: RouteFacts, routeShape: ErrorShape): { description: string; headers?: Record<string, unknown>; body: unknown; schema: Record<string, unknown> } {
  const shape = shared.beforeRouting ? pairgateErrorShape : routeShape;
  const example = shared.example(route);
  const body = shape(example);
  const said = typeof shared.description === 'string' ? shared.description : shared.description(route);
  const description = shape.documented?.(said, example) ?? said;
  return { description, ...(shared.headers ? { headers: shared.headers } : {}), body, schema: schemaOf(body) };
}

/** A response of a route's own schema, as far as merging reads it. */
interface OwnResponse {
  description?: string;
  headers?: Record<string, unknown>;
  content?: Record<string, unknown>;
}

/**
 * `own` (a status the route documents itself) with `shared` added, or undefined to keep `own` as
 * it is. A page's status (say 429, a form's own budget shown as a page) is also the shared JSON
 * error (the rate limit before the form is read): both media types are listed.
 */
function merged(own: OwnResponse, shared: ReturnType<typeof sharedResponse>): OwnResponse | undefined {
  if (!own.content || own.content['application/json']) return undefined;
  return {
    ...own,
    description: `${own.description ?? ''} Or, in JSON: ${shared.description}`.trim(),
    ...(shared.headers || own.headers ? { headers: { ...shared.headers, ...own.headers } } : {}),
    content: { ...own.content, 'application/json': { schema: shared.schema, example: shared.body } },
  };
}

/**
 * `own` in the long form (`content` by media type): a status documented by its JSON schema alone
 * becomes that schema under `application/json`, so that another media type can be listed beside it.
 */
function ownAsContent(own: OwnResponse, description: string): OwnResponse & { description: string } {
  if (own.content) return { ...own, description: own.description ?? description };
  const { description: ownDescription, headers, ...schema } = own as OwnResponse & Record<string, unknown>;
  return { description: ownDescription ?? description, ...(headers ? { headers } : {}), content: { 'application/json': { schema } } };
}

/**
 * A shared refusal of a page route, which a browser (asking for HTML first) gets as the error page
 * and a program as JSON (see `page` in error-handler.ts): both media types are listed.
 */
function withErrorPage(response: OwnResponse & { description: string }): OwnResponse {
  if (response.content?.['text/html']) return response;
  return {
    ...response,
    description: `${response.description} A browser asking for HTML first gets the error page instead.`,
    content: { ...response.content, 'text/html': { schema: { type: 'string' } } },
  };
}

/**
 * @fastify/swagger's `transform`: the route's schema as the document shows it, with the shared
 * responses that apply to it added (see the rule above). A route without a response schema keeps
 * the "200 Default Response" swagger would have given it.
 */
export const addSharedResponses: SwaggerTransform = ({ schema, url, route }) => {
  // Routes without a schema reach here too, whatever the type says.
  if (!(schema as FastifySchema | undefined) || schema.hide) return { schema, url };
  const methods = [route.method].flat();
  const named = methods.filter((method) => method.toUpperCase() !== 'HEAD');
  // One operation: a route of several methods would give each the same id.
  const operationId = (schema as { operationId?: string }).operationId ?? (named.length === 1 ? operationIdOf(named[0]!, url) : undefined);
  const facts: RouteFacts = {
    readsBody: methods.some((method) => BODY_METHODS.has(method.toUpperCase())),
    validates: [schema.body, schema.querystring, schema.params, schema.headers].some((part) => part !== undefined),
    rateLimited: route.config?.rateLimit !== false,
    answersWhileShuttingDown: route.config?.answersWhileShuttingDown === true,
    parts: { body: schema.body, querystring: schema.querystring, params: schema.params, headers: schema.headers },
    ...(route.schemaErrorFormatter ? { schemaErrorFormatter: route.schemaErrorFormatter as RouteFacts['schemaErrorFormatter'] } : {}),
  };
  const shape = route.config?.errorShape ?? pairgateErrorShape;
  const response: Record<string, unknown> = { ...((schema.response as Record<string, unknown> | undefined) ?? { 200: { description: 'Default Response' } }) };
  for (const shared of SHARED) {
    if (!shared.applies(facts)) continue;
    const own = response[shared.status] as OwnResponse | undefined;
    const { body, schema: bodySchema, ...described } = sharedResponse(shared, facts, shape);
    const also = route.config?.sharedAnswersAlso?.[shared.status as 400];
    if (also) described.description = `${described.description} Here also: ${also}`;
    const page = route.config?.page === true && !shared.beforeRouting;
    if (own === undefined) response[shared.status] = page ? withErrorPage({ ...described, content: { 'application/json': { schema: bodySchema, example: body } } }) : { ...described, ...bodySchema, examples: [body] };
    else response[shared.status] = merged(own, { ...described, body, schema: bodySchema }) ?? (page ? withErrorPage(ownAsContent(own, described.description)) : own);
  }
  // A route's own 429 or 503 (its own limit, its own store) comes with Retry-After too.
  for (const status of ['429', '503']) {
    const own = response[status] as OwnResponse | undefined;
    if (own && !own.headers?.['retry-after']) response[status] = { ...own, headers: { ...RETRY_AFTER, ...own.headers } };
  }
  // A body the form parser reads is documented as a form too (curl -d sends one), unless the
  // route says what it consumes (the device door's OAuth calls).
  const consumes = schema.body !== undefined && !(schema as { consumes?: unknown }).consumes && readsForms(route) ? { consumes: ['application/json', FORM_MEDIA_TYPE] } : {};
  return { schema: { ...schema, response, ...consumes, ...(operationId ? { operationId } : {}) }, url };
};

/**
 * A stable operationId from the method and the path, for generated clients to name their methods
 * by: `GET /api/v1/grants/:id/events` is `getApiV1GrantsByIdEvents`, a trailing slash adds `Slash`
 * (pairgate serves `/access` and `/access/` as the seeds' clients call them), a wildcard `Any`.
 */
export function operationIdOf(method: string, url: string): string {
  const words = url.split('/').filter(Boolean).map((segment) => {
    if (segment === '*') return 'Any';
    const param = segment.startsWith(':') ? segment.slice(1) : undefined;
    const text = (param ?? segment).split(/[^A-Za-z0-9]+/).filter(Boolean).map((part) => part[0]!.toUpperCase() + part.slice(1)).join('');
    return param === undefined ? text : `By${text}`;
  });
  return `${method.toLowerCase()}${words.join('')}${url.length > 1 && url.endsWith('/') ? 'Slash' : ''}`;
}

/**
 * A 303 See Other answer, in a route's `schema.response`: no body, the next page in `Location`.
 * Forms answer it when they succeed (post/redirect/get), and pages when they send the visitor
 * elsewhere first (to sign in, say).
 */
export function seeOther(description: string): { description: string; type: 'null'; headers: { location: { type: 'string'; description: string } } } {
  return { description, type: 'null', headers: { location: { type: 'string', description: 'Where the browser goes next.' } } };
}

/** An HTML page, in a route's `schema.response` (a page, or a form shown again with what went wrong). */
export function htmlPage(description: string): { description: string; content: { 'text/html': { schema: { type: 'string' } } } } {
  return { description, content: { 'text/html': { schema: { type: 'string' } } } };
}

/** A server-sent events stream, in a route's `schema.response`. */
export function eventStream(description: string): { description: string; content: { 'text/event-stream': { schema: { type: 'string' } } } } {
  return { description, content: { 'text/event-stream': { schema: { type: 'string' } } } };
}

/**
 * A pairgate error answer (`{error, message, ...details}`) in a route's `schema.response`,
 * described by `description`: the machine codes `error` carries at that status, in backticks, and
 * when. Without a description @fastify/swagger says "Default Response"; and a route's own 400
 * hides the shared one's list of codes, so its description names those it can meet too
 * (`BODY_UNREADABLE`).
 */
export function errorView(description: string) {
  return Type.Object({ error: Type.String(), message: Type.String() }, { additionalProperties: true, description });
}

/** The shared 400's codes for a body that cannot be read, for a route's own 400 to name again. */
export const BODY_UNREADABLE = '`invalid_json`, `body_forbidden_key`, `body_not_utf8` or `invalid_content_length`: a body that is not well-formed JSON, holds a `__proto__` key (or a `constructor` with a `prototype`), is not UTF-8, or is not as long as its Content-Length';
