/** Machine code of a success answer that is not JSON: something other than pairgate answered. */
export const NOT_PAIRGATE_CODE = 'not_pairgate';

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
  ) {
    super(message);
    this.name = 'PairgateApiError';
  }
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
  return new PairgateApiError(0, 'network_error', `Cannot reach ${origin} (${reason}).${advice ? ` ${advice}` : ''}`);
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
