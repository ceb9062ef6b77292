import { UnavailableError } from '../core/errors.js';

/**
 * Recognising "the backing store is unreachable" across drivers (node sockets, pg, ioredis), so the
 * server answers 503 `store_unavailable` instead of 500, and start-up says which service is down.
 */

/** Node socket errors and PostgreSQL SQLSTATEs that mean "not reachable now, retry later". */
const UNREACHABLE_CODES = new Set([
  'ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'ENOTFOUND', 'EHOSTUNREACH', 'ENETUNREACH', 'EAI_AGAIN',
  // PostgreSQL: admin shutdown, crash shutdown, cannot connect now, connection failure / exception.
  '57P01', '57P02', '57P03', '08000', '08001', '08003', '08006',
]);

/** Messages of pg and ioredis errors that carry no code but mean the same. */
const UNREACHABLE_MESSAGES = [
  /Connection terminated/i, // pg: the server went away mid-query
  /timeout exceeded when trying to connect/i, // pg pool
  /Query read timeout/i, // pg query_timeout
  /Client has encountered a connection error/i, // pg
  /enableOfflineQueue/i, // ioredis: disconnected and the offline queue is off (fail fast)
  /Connection is closed/i, // ioredis
  /Reached the max retries per request limit/i, // ioredis MaxRetriesPerRequestError
  /Command timed out/i, // ioredis commandTimeout
  /LOADING Redis is loading/i,
];

/** True when `error` (or its cause) says a backing store cannot be reached right now. */
export function isStoreUnreachable(error: unknown): boolean {
  for (let current = error, depth = 0; current && depth < 4; depth++) {
    const { code, name, message } = current as { code?: unknown; name?: unknown; message?: unknown };
    if (typeof code === 'string' && UNREACHABLE_CODES.has(code)) return true;
    if (name === 'MaxRetriesPerRequestError') return true;
    if (typeof message === 'string' && UNREACHABLE_MESSAGES.some((pattern) => pattern.test(message))) return true;
    const aggregate = (current as { errors?: unknown[] }).errors;
    if (Array.isArray(aggregate) && aggregate.some((inner) => isStoreUnreachable(inner))) return true;
    current = (current as { cause?: unknown }).cause;
  }
  return false;
}

/** A connection URL fit for logs and messages: the password replaced by `***`. */
export function redactUrl(url: string): string {
  try {
    const parsed = new URL(url);
    if (parsed.password) parsed.password = '***';
    return parsed.toString();
  } catch {
    // Not a URL we can parse: show the scheme at most, never the rest (it may hold a password).
    const scheme = /^[a-z][a-z0-9+.-]*:/i.exec(url)?.[0];
    return scheme ? `${scheme}//(unparsable URL)` : '(unparsable URL)';
  }
}

/** The error start-up fails with when `service` at `url` does not answer or refuses us. */
export function unreachableAtStart(service: string, url: string, cause: unknown): UnavailableError {
  const { code, message } = (cause ?? {}) as { code?: unknown; message?: unknown };
  const text = typeof message === 'string' ? message.trim() : '';
  const codeText = typeof code === 'string' || typeof code === 'number' ? String(code) : '';
  const reason = [text, codeText && !text.includes(codeText) ? `(${codeText})` : ''].filter(Boolean).join(' ') || 'no answer';
  const error = new UnavailableError(`cannot use ${service} at ${redactUrl(url)}: ${reason}`, 'store_unavailable');
  return Object.assign(error, { cause });
}
