import { abortedCall, answerTooLarge, cutOff, MAX_ANSWER_BYTES, NOT_PAIRGATE_CODE, PairgateApiError, toApiError, unreachable } from './errors.js';

/**
 * One HTTP call of the SDK's fetch-based clients (the grant client, the registry client, the
 * support door's clients), made the same way by all: a timeout over the whole exchange, the
 * caller's AbortSignal (code `aborted`, the connection closed at once), no redirect followed, an
 * answer cut or stalled halfway told apart from an answer that is not pairgate's, and no more of
 * an answer's body read than the call's cap (`answer_too_large`).
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
  /** Reads a non-2xx answer into its error (default: {@link toApiError}); its body is already bounded by the cap. */
  refusal?: (response: Response) => Promise<PairgateApiError>;
  /**
   * The most bytes of the answer's body read, a refusal's included (default
   * {@link MAX_ANSWER_BYTES}, 1 MiB); beyond it the call rejects with `answer_too_large`.
   */
  maxAnswerBytes?: number;
}

/** Statuses whose answer has no body: a Response built with one throws. */
const NULL_BODY_STATUSES = new Set([204, 205, 304]);

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
 * ended the call while it was read (a refusal is not what the caller cancelled). Its body is read
 * within the call's cap first (`answer_too_large` beyond it); one lost halfway reads as none, the
 * status then speaking alone, as before.
 */
export async function refusalOf(call: HttpCall, response: Response): Promise<PairgateApiError> {
  let text = '';
  try {
    text = await bodyText(call, response);
  } catch (error) {
    if (!(error instanceof PairgateApiError) || error.code === 'network_error') text = '';
    else throw error;
  }
  const { status, statusText, headers } = response;
  const refusal = await (call.refusal ?? toApiError)(new Response(NULL_BODY_STATUSES.has(status) ? null : text, { status, statusText, headers }));
  return call.signal?.aborted ? abortedCall(call.signal) : refusal;
}

/** The path of `call` (its URL without the origin), as errors name it. */
function pathOf(call: HttpCall): string {
  return call.url.startsWith(call.origin) ? call.url.slice(call.origin.length) : call.url;
}

/**
 * The whole body of an answer as text (UTF-8), read up to the call's cap (`maxAnswerBytes`): a
 * larger one, declared so by its Content-Length or found so as it comes, is `answer_too_large`,
 * the rest not read and the connection closed. Losing it halfway (the connection cut, the timeout
 * reached while it came) is the network's doing: `network_error`, worth retrying, never
 * `not_pairgate`; `aborted` when the caller's signal ended it.
 */
export async function bodyText(call: HttpCall, response: Response): Promise<string> {
  const cap = call.maxAnswerBytes ?? MAX_ANSWER_BYTES;
  const tooLarge = (): PairgateApiError => answerTooLarge(call.origin, call.method ?? 'GET', pathOf(call), response.status, cap);
  if (Number(response.headers.get('content-length')) > cap) {
    await response.body?.cancel().catch(() => undefined);
    throw tooLarge();
  }
  if (!response.body) return '';
  const reader = response.body.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  for (;;) {
    let read: Awaited<ReturnType<typeof reader.read>>;
    try {
      read = await reader.read();
    } catch (error) {
      if (call.signal?.aborted) throw abortedCall(call.signal);
      throw cutOff(call.origin, error);
    }
    if (read.done) break;
    size += read.value.byteLength;
    if (size > cap) {
      // Cancelling the body closes its connection: nothing more of it is received.
      await reader.cancel().catch(() => undefined);
      throw tooLarge();
    }
    chunks.push(read.value);
  }
  return new TextDecoder().decode(Buffer.concat(chunks));
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
    const path = pathOf(call).split('?')[0] || '/';
    throw new PairgateApiError(response.status, NOT_PAIRGATE_CODE, `${call.origin} answered ${call.method ?? 'GET'} ${path} with ${type}, not pairgate's JSON: check that the URL is the pairgate server (or that a proxy in front of it passes requests on).`);
  }
}

/**
 * Sends `call` and resolves with its 2xx answer's JSON. Rejects with PairgateApiError: the
 * refusal of a non-2xx answer (with the server's code), `network_error` when no whole answer came
 * (none, or one cut or stalled halfway) within the timeout, `not_pairgate` for a whole 2xx answer
 * that is not JSON, `answer_too_large` for a body beyond the call's cap, `aborted` when the
 * caller's signal cancelled it.
 */
export async function callJson<T>(call: HttpCall): Promise<T> {
  const { response } = await sendCall(call);
  if (!response.ok) throw await refusalOf(call, response);
  return parseAnswer<T>(call, response, await bodyText(call, response));
}
