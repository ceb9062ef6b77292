import { abortedCall, cutOff, NOT_PAIRGATE_CODE, PairgateApiError, toApiError, unreachable } from './errors.js';

/**
 * One HTTP call of the SDK's fetch-based clients (the grant client, the registry client, the
 * support door's clients), made the same way by all: a timeout over the whole exchange, the
 * caller's AbortSignal (code `aborted`, the connection closed at once), no redirect followed, an
 * answer cut or stalled halfway told apart from an answer that is not pairgate's.
 */

/** What every call of the SDK's clients takes besides its own arguments. */
export interface CallOptions {
  /**
   * Cancels the call: it rejects at once with PairgateApiError code `aborted` (the signal's reason
   * as its `cause`) and its connection is closed, a long-poll's included.
   */
  signal?: AbortSignal;
}

/** One request, as {@link sendCall} and {@link callJson} take it. */
export interface HttpCall {
  /** The base URL named in errors (`https://pair.example.com`), without a trailing slash. */
  origin: string;
  /** The URL called: `origin` and a path, or a URL of its own (a pairing URL). */
  url: string;
  /** HTTP method; default GET. */
  method?: string;
  /** Request headers, as sent. */
  headers?: Record<string, string>;
  /** Request body, as sent. */
  body?: string | FormData;
  /** The whole exchange's timeout in milliseconds, the answer's body included (a long-poll adds its wait). */
  timeoutMs: number;
  /** The caller's signal (see {@link CallOptions.signal}). */
  signal?: AbortSignal;
  /** Said after "Cannot reach <origin> (<reason>)." when nothing answered; '' for nothing. */
  advice: string;
  /** A fetch implementation (default: the global one). */
  fetch?: typeof fetch;
  /** Reads a non-2xx answer into its error (default: {@link toApiError}). */
  refusal?: (response: Response) => Promise<PairgateApiError>;
}

/** An answer whose headers have come, and the signal that still bounds the reading of its body. */
export interface SentCall {
  /** The answer, its body not yet read. */
  response: Response;
  /** The call's timeout and the caller's signal together: reading the body stops when either ends. */
  signal: AbortSignal;
}

/**
 * Sends `call` and resolves once the answer's headers came (any status: see {@link refusalOf}).
 * Rejects with `aborted` when the caller's signal is (or gets) aborted, sending nothing when it
 * already was; with `network_error` or `port_blocked` when nothing answered within the timeout.
 */
export async function sendCall(call: HttpCall): Promise<SentCall> {
  const { signal: callerSignal } = call;
  if (callerSignal?.aborted) throw abortedCall(callerSignal);
  const timeout = AbortSignal.timeout(call.timeoutMs);
  const signal = callerSignal ? AbortSignal.any([timeout, callerSignal]) : timeout;
  try {
    const response = await (call.fetch ?? fetch)(call.url, {
      method: call.method ?? 'GET',
      ...(call.headers ? { headers: call.headers } : {}),
      ...(call.body === undefined ? {} : { body: call.body }),
      signal,
      redirect: 'manual',
    });
    return { response, signal };
  } catch (error) {
    if (callerSignal?.aborted) throw abortedCall(callerSignal);
    throw unreachable(call.origin, error, call.advice);
  }
}

/**
 * The error of a non-2xx answer (read by `call.refusal`), or `aborted` when the caller's signal
 * ended the call while it was read (a refusal is not what the caller cancelled).
 */
export async function refusalOf(call: HttpCall, response: Response): Promise<PairgateApiError> {
  const refusal = await (call.refusal ?? toApiError)(response);
  return call.signal?.aborted ? abortedCall(call.signal) : refusal;
}

/**
 * The whole body of an answer as text. Losing it halfway (the connection cut, the timeout reached
 * while it came) is the network's doing: `network_error`, worth retrying, never `not_pairgate`;
 * `aborted` when the caller's signal ended it.
 */
export async function bodyText(call: HttpCall, response: Response): Promise<string> {
  try {
    return await response.text();
  } catch (error) {
    if (call.signal?.aborted) throw abortedCall(call.signal);
    throw cutOff(call.origin, error);
  }
}

/**
 * `text`, a whole 2xx body, parsed as JSON; a body that is not JSON means a web server or a
 * proxy's page answered, not pairgate: `not_pairgate`, naming the method and the path.
 */
export function parseAnswer<T>(call: HttpCall, response: Response, text: string): T {
  try {
    return JSON.parse(text) as T;
  } catch {
    const type = response.headers.get('content-type')?.split(';')[0] ?? 'no content type';
    const path = (call.url.startsWith(call.origin) ? call.url.slice(call.origin.length) : call.url).split('?')[0] || '/';
    throw new PairgateApiError(response.status, NOT_PAIRGATE_CODE, `${call.origin} answered ${call.method ?? 'GET'} ${path} with ${type}, not pairgate's JSON: check that the URL is the pairgate server (or that a proxy in front of it passes requests on).`);
  }
}

/**
 * Sends `call` and resolves with its 2xx answer's JSON. Rejects with PairgateApiError: the
 * refusal of a non-2xx answer (with the server's code), `network_error` when no whole answer came
 * (none, or one cut or stalled halfway) within the timeout, `not_pairgate` for a whole 2xx answer
 * that is not JSON, `aborted` when the caller's signal cancelled it.
 */
export async function callJson<T>(call: HttpCall): Promise<T> {
  const { response } = await sendCall(call);
  if (!response.ok) throw await refusalOf(call, response);
  return parseAnswer<T>(call, response, await bodyText(call, response));
}
