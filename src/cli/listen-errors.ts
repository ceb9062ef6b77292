import { InvalidRequestError } from '../core/errors.js';

/**
 * A listener that could not start (Node's `listen EADDRINUSE: address already in use ...`) told in
 * words, with what to change. The HTTP server and the DNS door's listeners fail the same way.
 */

interface ListenError {
  code?: unknown;
  syscall?: unknown;
  address?: unknown;
  port?: unknown;
}

const ADVICE: Record<string, (where: string, host: string) => string> = {
  EADDRINUSE: (where) => `cannot listen on ${where}: another program already does (another pairgate?). Stop it, or choose another port (serve --port 0 picks a free one).`,
  EACCES: (where) => `cannot listen on ${where}: this user may not (ports below 1024 need privileges). Choose a port from 1024 up.`,
  EADDRNOTAVAIL: (where, host) => `cannot listen on ${where}: ${host} is not an address of this machine. Give one of its addresses with --host (0.0.0.0 for all of them).`,
};

const CODES: Record<string, string> = { EADDRINUSE: 'address_in_use', EACCES: 'listen_not_permitted', EADDRNOTAVAIL: 'address_not_available' };

/** The error to report for `error`: a listen failure explained (exit code 2), anything else as it is. */
export function explainListenError(error: unknown): unknown {
  const e = (typeof error === 'object' && error !== null ? error : {}) as ListenError;
  if (e.syscall !== 'listen' || typeof e.code !== 'string' || !(e.code in ADVICE)) return error;
  const host = String(e.address ?? '');
  const bracketed = host.includes(':') ? `[${host}]` : host;
  const where = typeof e.port === 'number' && e.port > 0 ? `${bracketed}:${e.port}` : host;
  return new InvalidRequestError(ADVICE[e.code]!(where, host), undefined, CODES[e.code]);
}
