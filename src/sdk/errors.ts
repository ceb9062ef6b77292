/** Machine code of a success answer that is not JSON: something other than pairgate answered. */
export const NOT_PAIRGATE_CODE = 'not_pairgate';

/**
 * Why nothing (whole) answered, on a `network_error` ({@link PairgateApiError.reason}):
 * - `refused`: nothing listens there (ECONNREFUSED): the request was never sent, so even a
 *   creation is safe to send again;
 * - `timeout`: no whole answer within the call's timeout: the server may have got the request and
 *   acted on it (a slow or hung server, a proxy or firewall dropping packets);
 * - `reset`: the connection was cut (ECONNRESET, a peer or proxy closing it): it may have acted too;
 * - `dns`: the host name did not resolve (ENOTFOUND, EAI_AGAIN): nothing was sent;
 * - `unreachable`: no route to the host or network (EHOSTUNREACH, ENETUNREACH): nothing was sent;
 * - `other`: anything else (a TLS failure the SDK has no code of its own for, ...).
 *
 * New reasons may be added: treat one not known as `other`.
 */
export type NetworkFailure = 'refused' | 'timeout' | 'reset' | 'dns' | 'unreachable' | 'other';

/** The {@link NetworkFailure} of the system codes (and undici's) a fetch's or socket's failure carries. */
const FAILURE_OF_CODE: Record<string, NetworkFailure> = {
  ECONNREFUSED: 'refused',
  ETIMEDOUT: 'timeout',
  UND_ERR_CONNECT_TIMEOUT: 'timeout',
  UND_ERR_HEADERS_TIMEOUT: 'timeout',
  UND_ERR_BODY_TIMEOUT: 'timeout',
  ECONNRESET: 'reset',
  EPIPE: 'reset',
  ECONNABORTED: 'reset',
  UND_ERR_SOCKET: 'reset',
  ENOTFOUND: 'dns',
  EAI_AGAIN: 'dns',
  EHOSTUNREACH: 'unreachable',
  ENETUNREACH: 'unreachable',
};

/**
 * The {@link NetworkFailure} of `error`, a fetch's rejection or a socket's error: by the system's
 * code (its own or its cause's), else a timeout by the error's name (an AbortSignal.timeout's
 * TimeoutError, or the SDK's own timers' errors so named), else `other`.
 */
export function networkFailureOf(error: unknown): NetworkFailure {
  const own = (error as { code?: unknown } | undefined)?.code;
  const cause = (error as { cause?: { code?: unknown } } | undefined)?.cause?.code;
  for (const code of [own, cause]) if (typeof code === 'string' && FAILURE_OF_CODE[code]) return FAILURE_OF_CODE[code];
  const name = (error as { name?: unknown } | undefined)?.name;
  return name === 'TimeoutError' ? 'timeout' : 'other';
}

/**
 * An error answer from a pairgate server, with the server's stable machine code. Programs branch on
 * `code`; people read `message`.
 */
export class PairgateApiError extends Error {
  constructor(
    /** HTTP status. */
    readonly status: number,
    /** Stable machine code (e.g. `code_not_found`), or `network_error` when nothing answered. */
    readonly code: string,
    message: string,
    /** The whole error body, for door-specific fields. */
    readonly body?: unknown,
    /** Seconds to wait before trying again, from the answer's Retry-After (429, 503), when it had one. */
    readonly retryAfterSeconds?: number,
    /**
     * On a `network_error` from the SDK's HTTP calls, why nothing (whole) answered: a refused
     * connection (`refused`, nothing was sent) told apart from a timeout or a cut connection
     * (`timeout`, `reset`: the server may have acted on the request). Undefined on every other
     * code. The code stays `network_error` for all of them, and all are {@link retryable}.
     */
    readonly reason?: NetworkFailure,
  ) {
    super(message);
    this.name = 'PairgateApiError';
  }

  /**
   * Whether asking again later may succeed: nothing answered (`network_error`), or the server or a
   * proxy said to come back (408, 429, 502, 503, 504; wait `retryAfterSeconds` when set). False
   * for a refusal about the request itself and for a call cancelled by its caller (`aborted`).
   */
  get retryable(): boolean {
    if (this.status === 0) return this.code === 'network_error';
    return this.status === 408 || this.status === 429 || this.status === 502 || this.status === 503 || this.status === 504;
  }
}

/** Machine code of a call ended by its caller's AbortSignal (status 0). */
export const ABORTED_CODE = 'aborted';

/** The error of a call its caller's `signal` cancelled; the signal's reason is its `cause`. */
export function abortedCall(signal: AbortSignal): PairgateApiError {
  const error = new PairgateApiError(0, ABORTED_CODE, 'The call was cancelled by its AbortSignal.');
  error.cause = signal.reason;
  return error;
}

/**
 * Why a fetch got no answer, in a word or a phrase: the system's code (ECONNREFUSED, ENOTFOUND),
 * else what undici said (e.g. "bad port" for a port browsers refuse), else "timed out".
 */
export function networkFailureReason(error: unknown): string {
  const cause = (error as { cause?: { code?: unknown; message?: unknown } }).cause;
  if (typeof cause?.code === 'string') return cause.code;
  if (typeof cause?.message === 'string' && cause.message) return cause.message;
  const name = (error as Error).name;
  return name === 'TimeoutError' || name === 'AbortError' ? 'timed out' : (error as Error).message || name;
}

/**
 * What `unreachable` advises of a pairgate server (the grant API, a support origin, a relay, the
 * server a code led to) that did not answer: one wording for every client of one, so `pairgate
 * grant` and `pairgate session` (and `pairgate join`, read by someone who is not technical) say
 * the same of the same failure. The address first: a mistyped one is the likeliest cause.
 */
export const UNREACHABLE_ADVICE = 'Check the address, your connection, and that the server runs.';

/** The machine code of a URL whose port fetch refuses to call (`unreachable`). */
export const PORT_BLOCKED_CODE = 'port_blocked';

/**
 * The error for a request to `origin` that got no answer: `network_error`, with the reason and
 * `advice`; or `port_blocked` when fetch refused the URL's port as another protocol's (the Fetch
 * standard's bad ports, such as 25 or 10080), which its own words ("bad port") do not explain and
 * which no retry mends.
 */
export function unreachable(origin: string, error: unknown, advice: string): PairgateApiError {
  const reason = networkFailureReason(error);
  if (reason === 'bad port') {
    const port = new URL(origin).port;
    return new PairgateApiError(0, PORT_BLOCKED_CODE, `Cannot call ${origin}: port ${port} is one fetch and browsers refuse to call (it belongs to another protocol). Run the server on a usual port (443, or 8080 and the like: pairgate serve --port) and give that URL.`);
  }
  return new PairgateApiError(0, 'network_error', `Cannot reach ${origin} (${reason}).${advice ? ` ${advice}` : ''}`, undefined, undefined, networkFailureOf(error));
}

/**
 * The error for an answer from `origin` whose body could not be read whole (the connection cut, or
 * the timeout reached while it came): `network_error`, as when nothing answered, since the server
 * may well have answered in full and a proxy or the network lost it; no claim that it is not pairgate.
 */
export function cutOff(origin: string, error: unknown): PairgateApiError {
  // A body that stopped coming is a timeout; any other loss of it, the connection cut.
  const reason = networkFailureOf(error);
  return new PairgateApiError(0, 'network_error', `Lost the answer of ${origin} halfway (${networkFailureReason(error)}). Try again; check any proxy in between if it keeps happening.`, undefined, undefined, reason === 'other' ? 'reset' : reason);
}

/** Machine code of an answer whose body is larger than the SDK reads for the call. */
export const ANSWER_TOO_LARGE_CODE = 'answer_too_large';

/**
 * The most bytes of an answer's body the SDK's calls read (1 MiB): pairgate's answers are far
 * smaller (a grant with its largest data, about 130 kB; a refusal, a few hundred bytes). Without a
 * bound, a server, or an address given by mistake where a large file is served, had the caller
 * hold all it sent in memory until the call's timeout.
 */
export const MAX_ANSWER_BYTES = 1024 * 1024;

/**
 * The most bytes the SDK reads of an answer that lists what a server holds (16 MiB): the support
 * origin's live sessions (`SupportOriginClient.listSessions`: up to about 14 kB each, and
 * PAIRGATE_SUPPORT_MAX_SESSIONS has no upper bound) and a box's DNS records
 * (`DnsUpdateClient.list`: up to PAIRGATE_DNS_MAX_RECORDS_PER_BOX, 10000, of under 1 kB each).
 */
export const MAX_LIST_ANSWER_BYTES = 16 * 1024 * 1024;

/** `bytes` in words: `1 MiB`, `512 KiB`, `1000 bytes`. */
function sizeWords(bytes: number): string {
  if (bytes >= 1024 * 1024 && bytes % (1024 * 1024) === 0) return `${bytes / (1024 * 1024)} MiB`;
  if (bytes >= 1024 && bytes % 1024 === 0) return `${bytes / 1024} KiB`;
  return `${bytes} bytes`;
}

/**
 * The error for an answer (of any status) whose body is larger than `cap`, the most the SDK reads
 * for `method` `path` on `origin`: code {@link ANSWER_TOO_LARGE_CODE}, with the answer's status.
 * The body is not read further and its connection is closed.
 */
export function answerTooLarge(origin: string, method: string, path: string, status: number, cap: number): PairgateApiError {
  return new PairgateApiError(status, ANSWER_TOO_LARGE_CODE, `${origin} answered ${method} ${path.split('?')[0] || '/'} with a body larger than ${sizeWords(cap)}, the most this client reads for it: no pairgate answer is that large. Check that the URL is the pairgate server's (not a file or another service).`);
}

/** Reads an error body in any of the doors' shapes into a PairgateApiError. */
export async function toApiError(response: Response): Promise<PairgateApiError> {
  let body: unknown;
  try {
    body = await response.json();
  } catch {
    body = undefined;
  }
  const b = (body ?? {}) as Record<string, unknown>;
  const code = String(b.error ?? b.Error ?? b.code ?? `http_${response.status}`);
  const message = String(b.message ?? b.error_description ?? b.Description ?? b.error ?? response.statusText);
  return new PairgateApiError(response.status, code, message, body, retryAfterOf(response.headers.get('retry-after')));
}

/**
 * Seconds of a Retry-After header: a number of seconds, or an HTTP date (seconds from now, at least
 * 0); undefined when absent or unreadable.
 */
export function retryAfterOf(header: string | null | undefined): number | undefined {
  if (!header) return undefined;
  const trimmed = header.trim();
  if (/^\d+$/.test(trimmed)) return Number(trimmed);
  const date = Date.parse(trimmed);
  return Number.isNaN(date) ? undefined : Math.max(0, Math.ceil((date - Date.now()) / 1000));
}
