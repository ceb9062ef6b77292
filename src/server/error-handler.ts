import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import {
  InvalidRequestError,
  NotFoundError,
  PairgateError,
  PayloadTooLargeError,
  RateLimitedError,
  UnavailableError,
  isPairgateError,
} from '../core/errors.js';
import { isStoreUnreachable } from '../store/store-errors.js';
import { pairgateErrorShape, type ErrorShape } from './error-shapes.js';
import { securityHeaders } from './security-headers.js';

/** The headers of an answer no route made (its path is unknown, so it may be shown as a page). */
const PAGE_SECURITY_HEADERS = securityHeaders();

declare module 'fastify' {
  interface FastifyContextConfig {
    /** The wire shape errors of this route are rendered in. */
    errorShape?: ErrorShape;
  }
}

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

/** One failure of a schema check, as Ajv reports it. */
type ValidationFailure = NonNullable<FastifyError['validation']>[number];

/** Whether `failure` is the null branch of a field that may be null, which failed because a value was given. */
const isNullBranch = (failure: ValidationFailure): boolean => failure.keyword === 'type' && (failure.params as { type?: unknown }).type === 'null';

/**
 * The failure worth telling. For a field that may be a value or null, Ajv reports the null branch
 * first: "must be null" for `-5` where a positive number was meant says nothing useful, so the
 * other branch's failure at the same place ("must be >= 1") is told instead.
 */
function mostTelling(failures: readonly ValidationFailure[]): ValidationFailure | undefined {
  const first = failures[0];
  if (!first || !isNullBranch(first)) return first;
  return failures.find((failure) => failure.instancePath === first.instancePath && !isNullBranch(failure) && failure.keyword !== 'anyOf' && failure.keyword !== 'oneOf') ?? first;
}

function validationMessage(error: FastifyError): string {
  const first = mostTelling(error.validation ?? []);
  if (!first) return error.message;
  const where = `${error.validationContext ?? 'request'}${first.instancePath ? first.instancePath.replace(/\//g, '.') : ''}`;
  const params = first.params as Record<string, unknown>;
  if (first.keyword === 'required') return `${where}: "${String(params.missingProperty)}" is required.`;
  if (first.keyword === 'additionalProperties') return `${where}: "${String(params.additionalProperty)}" is not an accepted field.`;
  return `${where} ${first.message ?? 'is invalid'}.`;
}

/** Turns anything thrown into a PairgateError; the flag says whether it was unexpected. */
export function toPairgateError(error: unknown): { error: PairgateError; unexpected: boolean } {
  if (isPairgateError(error)) return { error, unexpected: false };
  const fastifyError = error as FastifyError & { statusCode?: number; code?: string };
  if (fastifyError.validation) return { error: new InvalidRequestError(validationMessage(fastifyError), undefined, 'validation_failed'), unexpected: false };
  switch (fastifyError.code) {
    case 'FST_ERR_CTP_BODY_TOO_LARGE':
      return { error: new PayloadTooLargeError(), unexpected: false };
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
      return { error: new PairgateError('unsupported_media_type', 415, 'This content type is not accepted; send JSON or a form.'), unexpected: false };
    case 'FST_ERR_CTP_EMPTY_JSON_BODY':
      return { error: new InvalidRequestError('The JSON body is empty.', undefined, 'invalid_json'), unexpected: false };
    case 'FST_ERR_CTP_INVALID_JSON_BODY':
    case 'FST_ERR_CTP_INVALID_CONTENT_LENGTH':
      return { error: new InvalidRequestError('The body is not valid JSON.', undefined, 'invalid_json'), unexpected: false };
  }
  if (fastifyError instanceof SyntaxError || fastifyError.name === 'SyntaxError') {
    return { error: new InvalidRequestError('The body is not valid JSON.', undefined, 'invalid_json'), unexpected: false };
  }
  // A backing store that is unreachable (socket errors, PostgreSQL shutdown codes, ioredis failing
  // fast): the request can be retried once it is back.
  if (isStoreUnreachable(error)) {
    return { error: new UnavailableError('A backing store is unreachable. Try again shortly.', 'store_unavailable'), unexpected: false };
  }
  const status = fastifyError.statusCode;
  if (status === 429) return { error: new RateLimitedError(60), unexpected: false };
  if (status && status >= 400 && status < 500) {
    const code = (fastifyError.code ?? 'bad_request').toLowerCase().replace(/^fst_err_/, '');
    return { error: new PairgateError(code, status, fastifyError.message), unexpected: false };
  }
  return { error: new PairgateError('internal_error', 500, 'Something went wrong on our side. It has been logged.'), unexpected: true };
}

/** Sends `error` in the route's wire shape, with Retry-After for 429 and 503. */
export function sendError(request: FastifyRequest, reply: FastifyReply, thrown: unknown): FastifyReply {
  const { error, unexpected } = toPairgateError(thrown);
  if (unexpected) request.log.error({ err: thrown }, 'unexpected error');
  else if (error.status >= 500) request.log.warn({ code: error.code }, error.message);
  const retryAfter = error.details?.retryAfterSeconds;
  if (typeof retryAfter === 'number') reply.header('retry-after', String(retryAfter));
  else if (error.status === 503) reply.header('retry-after', '5');
  const shape = request.routeOptions?.config?.errorShape ?? pairgateErrorShape;
  return reply.code(error.status).type('application/json; charset=utf-8').send(shape(error));
}

/** Installs the error and not-found handlers of the whole server. */
export function installErrorHandlers(app: FastifyInstance): void {
  app.setErrorHandler((error, request, reply) => sendError(request, reply, error));
  app.setNotFoundHandler((request, reply) =>
    sendError(request, reply, new NotFoundError(`There is nothing at ${request.method} ${request.url.split('?')[0]}.`, 'route_not_found')),
  );
}

/**
 * Fastify's `frameworkErrors`: what its router refuses before any route runs (a malformed
 * %-escape in the path, a path parameter over the router's length limit) is answered like every
 * other error, in pairgate's shape with a machine code and the security headers, not in Fastify's
 * own body.
 */
export function sendFrameworkError(error: FastifyError, request: FastifyRequest, reply: FastifyReply): FastifyReply {
  reply.headers(PAGE_SECURITY_HEADERS);
  switch (error.code) {
    case 'FST_ERR_BAD_URL':
      return sendError(request, reply, new InvalidRequestError('This address has a malformed %-escape. Check the link.', undefined, 'bad_url'));
    case 'FST_ERR_MAX_PARAM_LENGTH':
      return sendError(request, reply, new PairgateError('uri_too_long', 414, 'A part of this address is too long to be anything here. Check the link.'));
    default:
      return sendError(request, reply, error);
  }
}
