/**
 * The one error type of pairgate. Every failure a client may see carries a stable machine `code`
 * (never renamed once published), an HTTP `status` and a `message` a person can act on. The error
 * handler of the server maps it onto each door's wire shape; nothing else reaches a client.
 */
export class PairgateError extends Error {
  /** Stable machine code, e.g. `code_not_found`. */
  readonly code: string;
  /** HTTP status the error maps to. */
  readonly status: number;
  /** Extra, non-secret facts for the client (e.g. `retryAfterSeconds`). */
  readonly details: Record<string, unknown> | undefined;

  constructor(code: string, status: number, message: string, details?: Record<string, unknown>) {
    // A client error is an answer, not a fault: nobody reads its stack, and capturing one costs
    // microseconds on every refused request (each wrong guess of a code among them).
    const stackTraceLimit = Error.stackTraceLimit;
    if (status < 500) Error.stackTraceLimit = 0;
    try {
      super(message);
    } finally {
      Error.stackTraceLimit = stackTraceLimit;
    }
    this.name = new.target.name;
    this.code = code;
    this.status = status;
    this.details = details;
  }
}

/** 400: the request is malformed or a value is out of range. */
export class InvalidRequestError extends PairgateError {
  constructor(message: string, details?: Record<string, unknown>, code = 'invalid_request') {
    super(code, 400, message, details);
  }
}

/** 401: missing or wrong credentials. */
export class UnauthorizedError extends PairgateError {
  constructor(message = 'Authentication is required.', code = 'unauthorized') {
    super(code, 401, message);
  }
}

/** 403: authenticated, but not allowed. */
export class ForbiddenError extends PairgateError {
  constructor(message = 'You are not allowed to do this.', code = 'forbidden') {
    super(code, 403, message);
  }
}

/** 404: the thing asked for does not exist, or is no longer live. */
export class NotFoundError extends PairgateError {
  constructor(message = 'Not found.', code = 'not_found') {
    super(code, 404, message);
  }
}

/** 409: the thing exists but its state forbids the change (e.g. an illegal grant transition). */
export class ConflictError extends PairgateError {
  constructor(message: string, code = 'conflict', details?: Record<string, unknown>) {
    super(code, 409, message, details);
  }
}

/** 410: the thing existed but has expired. */
export class ExpiredError extends PairgateError {
  constructor(message = 'This has expired.', code = 'expired') {
    super(code, 410, message);
  }
}

/** 413: the body is larger than allowed. */
export class PayloadTooLargeError extends PairgateError {
  constructor(message = 'The request body is too large.') {
    super('payload_too_large', 413, message);
  }
}

/** 429: a rate limit or attempt budget is spent. */
export class RateLimitedError extends PairgateError {
  constructor(retryAfterSeconds: number, message?: string) {
    super(
      'rate_limited',
      429,
      message ?? `Too many requests. Try again in ${retryAfterSeconds} s.`,
      { retryAfterSeconds },
    );
  }
}

/** 502: a service pairgate depends on (e.g. a relay) answered badly or not at all. */
export class BadGatewayError extends PairgateError {
  constructor(message: string, code = 'bad_gateway') {
    super(code, 502, message);
  }
}

/** 503: a backing store is unreachable; the request may be retried. */
export class UnavailableError extends PairgateError {
  constructor(message = 'The service is temporarily unavailable. Try again shortly.', code = 'unavailable') {
    super(code, 503, message);
  }
}

/** Configuration that cannot be used; stops start-up. */
export class ConfigError extends PairgateError {
  /** The configuration key at fault. */
  readonly key: string;
  constructor(key: string, message: string) {
    super('config_invalid', 500, `${key}: ${message}`);
    this.key = key;
  }
}

/** True for any pairgate error. */
export function isPairgateError(error: unknown): error is PairgateError {
  return error instanceof PairgateError;
}
