import { BadGatewayError } from '../../core/errors.js';
import { relayCodeFormat } from './relay-code.js';

/** What the relay handed out for a session. */
export interface Publication {
  /** The code in canonical form. */
  code: string;
  pairingUrl: string;
  redirectUrl: string;
  /** Milliseconds until the relay stops redirecting the code, when it said so (pairgate's relays do). */
  expiresInMs: number | undefined;
}

/**
 * Most of the relay's answer that is read: its answer is a few hundred bytes. The relay is often
 * another party's server (the seed's pc-assist.app); one that sends without end would otherwise
 * have the origin hold all it sends until the timeout, hundreds of megabytes a second.
 */
export const MAX_RELAY_ANSWER_BYTES = 16 * 1024;

/** The body of `response` as text, or undefined when it is longer than `max` bytes (then not read further). */
async function readAtMost(response: Response, max: number): Promise<string | undefined> {
  if (Number(response.headers.get('content-length') ?? 0) > max) {
    await response.body?.cancel().catch(() => undefined);
    return undefined;
  }
  const reader = response.body?.getReader();
  if (!reader) return '';
  const chunks: Uint8Array[] = [];
  let length = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) return Buffer.concat(chunks).toString('utf8');
    length += value.byteLength;
    if (length > max) {
      await reader.cancel().catch(() => undefined);
      return undefined;
    }
    chunks.push(value);
  }
}

/**
 * A relay failure: what the relay did (the message), and what the person running the origin can
 * do about it (`advice`, said after the consequence, see withConsequence), when that is known.
 */
export class RelayFailure extends BadGatewayError {
  /** `retryAfterSeconds` when the relay said how long to wait (its 429): the origin's 502 passes it on as Retry-After. */
  override readonly details: Record<string, unknown> | undefined;

  constructor(message: string, code: string, readonly advice = '', retryAfterSeconds?: number) {
    super(message, code);
    this.details = retryAfterSeconds === undefined ? undefined : { retryAfterSeconds };
  }
}

/** Longest wait a relay's 429 may ask for that is passed on: a day (a garbled header asks for no more). */
const MAX_RETRY_AFTER_SECONDS = 86_400;

/**
 * How long a relay that answered 429 asks to wait, in whole seconds: its `Retry-After` (seconds or
 * an HTTP date), else the relay's `wait_seconds`; undefined when it said neither readably.
 */
function retryAfterOf(response: Response, body: Record<string, unknown>): number | undefined {
  const header = response.headers.get('retry-after')?.trim() ?? '';
  let seconds: number | undefined;
  if (/^\d+$/.test(header)) seconds = Number(header);
  else if (header && !Number.isNaN(Date.parse(header))) seconds = Math.max(0, Math.ceil((Date.parse(header) - Date.now()) / 1000));
  else if (typeof body.wait_seconds === 'number' && Number.isFinite(body.wait_seconds) && body.wait_seconds >= 0) seconds = Math.ceil(body.wait_seconds);
  return seconds === undefined ? undefined : Math.min(Math.max(1, seconds), MAX_RETRY_AFTER_SECONDS);
}

/** What publishing needs besides the relay's address. */
export interface PublishOptions {
  timeoutMs: number;
  /** Sent as `Authorization: Bearer <key>` when set: a relay with PAIRGATE_RELAY_API_KEYS needs one. */
  apiKey?: string;
}

/**
 * The relay's address as said in messages: without credentials or query, which may hold a key.
 * The supporter reads it in a 502, and it is what to check in PLEXUS_PAIRING_URL.
 */
function shownUrl(relayUrl: string): string {
  try {
    const url = new URL(relayUrl);
    return `${url.origin}${url.pathname}`;
  } catch {
    return 'PLEXUS_PAIRING_URL';
  }
}

/** Longest part of a redirect's target that is said: the name and the start of the path are what to check. */
const MAX_SHOWN_TARGET = 200;

/**
 * Where a relay's redirect points, as said in its refusal: scheme, host and path (no credentials,
 * query or fragment, which may hold a key), within MAX_SHOWN_TARGET characters.
 */
function shownTarget(location: string | null, relayUrl: string): string {
  if (!location) return 'nowhere (no Location)';
  try {
    const url = new URL(location, relayUrl);
    const shown = `${url.protocol}//${url.host}${url.pathname}`;
    return shown.length > MAX_SHOWN_TARGET ? `${shown.slice(0, MAX_SHOWN_TARGET)}…` : shown;
  } catch {
    return 'an address that is no URL';
  }
}

/** What PLEXUS_PAIRING_URL must name, in the words of the advice. */
const PUBLISH_ADDRESS = 'PLEXUS_PAIRING_URL (on the supporter\'s pairgate server) must be the relay\'s publishing address, ending in /pairing/ (https://relay.example/pairing/, or https://host/relay/pairing/ for a relay beside other doors)';

/** Why a request to the relay failed before any answer, in words, with what to check. */
function unreachable(where: string, error: unknown, timeoutMs: number): RelayFailure {
  const reason = (error as { cause?: { code?: string } }).cause?.code ?? (error as Error).name;
  const check = `Check that the relay runs there. ${PUBLISH_ADDRESS}.`;
  let said = reason;
  let advice = check;
  if (reason === 'TimeoutError') {
    said = `no answer within ${timeoutMs / 1000} s`;
    advice = `${check} PAIRGATE_SUPPORT_RELAY_TIMEOUT_SECONDS sets how long the server waits.`;
  } else if (reason === 'ECONNREFUSED') said = 'ECONNREFUSED: nothing listens there';
  else if (reason === 'ENOTFOUND' || reason === 'EAI_AGAIN') said = `${reason}: no such host name`;
  else if (/SSL|TLS|EPROTO|CERT/i.test(reason)) {
    said = `${reason}: no https exchange with it`;
    advice = `Check whether the relay speaks http or https there (PLEXUS_PAIRING_URL), and that its certificate is trusted. ${check}`;
  }
  return new RelayFailure(`The pairing relay at ${where} cannot be reached (${said})`, 'relay_unreachable', advice);
}

/** A relay whose answer (a success status) stopped before its end: too slow, or the connection cut. */
function unfinished(where: string, error: unknown, timeoutMs: number, timedOut: boolean): RelayFailure {
  if (timedOut) {
    return new RelayFailure(`The pairing relay at ${where} did not finish its answer within ${timeoutMs / 1000} s`, 'relay_unreachable', `Check that the relay runs there and is not overloaded. PAIRGATE_SUPPORT_RELAY_TIMEOUT_SECONDS sets how long the server waits. ${PUBLISH_ADDRESS}.`);
  }
  const reason = (error as { cause?: { code?: string } }).cause?.code ?? (error as Error).name;
  return new RelayFailure(`The pairing relay at ${where} broke off its answer (${reason})`, 'relay_unreachable', `Check that the relay runs there. ${PUBLISH_ADDRESS}.`);
}

/** The advice for a relay's refusal with HTTP `status` (and machine `code`, when it sent one). */
function refusalAdvice(status: number, code: string, apiKeySent: boolean): string {
  if (status === 404 || status === 405) return `Nothing publishes there: ${PUBLISH_ADDRESS}.`;
  if (code === 'api_key_required' || status === 401) {
    return apiKeySent
      ? 'The relay does not accept this server\'s key: PAIRGATE_SUPPORT_RELAY_API_KEY must be one of the relay\'s PAIRGATE_RELAY_API_KEYS.'
      : 'The relay takes sessions only with an API key: set PAIRGATE_SUPPORT_RELAY_API_KEY on the supporter\'s server to one of the relay\'s PAIRGATE_RELAY_API_KEYS.';
  }
  if (code === 'origin_not_allowed') return 'The relay\'s PAIRGATE_RELAY_ALLOWED_HOSTS must list the host of this server\'s PAIRGATE_PUBLIC_URL.';
  if (code === 'origin_internal_address') {
    return 'The relay sends no one to an address inside a network: set PAIRGATE_PUBLIC_URL on this server to the public https URL people reach it at, or have the relay list this host in PAIRGATE_RELAY_ALLOWED_HOSTS (or, for a relay on the same machine or network, allow it with PAIRGATE_RELAY_ALLOW_HTTP=true).';
  }
  return '';
}

/** Longest part of a relay's refusal that is quoted: pairgate's own say what to do in a few hundred characters. */
const MAX_QUOTED = 600;

/**
 * `said` (a relay's refusal) quoted within MAX_QUOTED characters: whole when it fits, else cut at
 * the last sentence end, or failing that the last space, before the cap, and marked with "…", so
 * the advice at the end of a long refusal is not lost mid-word.
 */
export function quotedRefusal(said: string): string {
  if (said.length <= MAX_QUOTED) return said;
  const head = said.slice(0, MAX_QUOTED);
  const sentence = Math.max(head.lastIndexOf('. '), head.lastIndexOf('! '), head.lastIndexOf('? '));
  if (sentence >= MAX_QUOTED / 2) return `${head.slice(0, sentence + 1)} …`;
  const space = head.lastIndexOf(' ');
  return `${(space >= MAX_QUOTED / 2 ? head.slice(0, space) : head).trimEnd()}…`;
}

/**
 * The origin's client of the relay: publishes `{"url": "<origin>/pairing"}` on PLEXUS_PAIRING_URL
 * and checks the answer. Any failure (down, slow, an error status, a redirect (not followed), a
 * malformed answer) is a RelayFailure (a BadGatewayError; an answer over MAX_RELAY_ANSWER_BYTES
 * too), so the caller can undo what it made and answer 502; its message says what the relay did and
 * where (the address without credentials or query), its advice what to check, and the caller adds
 * what it means (`withConsequence`).
 */
export async function publishOnRelay(relayUrl: string, originPairingBase: string, options: PublishOptions): Promise<Publication> {
  const where = shownUrl(relayUrl);
  const signal = AbortSignal.timeout(options.timeoutMs);
  let response: Response;
  try {
    response = await fetch(relayUrl, {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'application/json', ...(options.apiKey ? { authorization: `Bearer ${options.apiKey}` } : {}) },
      body: JSON.stringify({ url: originPairingBase }),
      signal,
      // Not followed, and not 'error' either: that failed as "cannot be reached (TypeError)", which
      // sent the person to check a relay that was up. The key goes to the configured address only.
      redirect: 'manual',
    });
  } catch (error) {
    throw unreachable(where, error, options.timeoutMs);
  }
  if (response.status >= 300 && response.status < 400) {
    await response.body?.cancel().catch(() => undefined);
    throw new RelayFailure(
      `The pairing relay at ${where} answered with a redirect (HTTP ${response.status} to ${shownTarget(response.headers.get('location'), relayUrl)}), which this server does not follow`,
      'relay_bad_answer',
      `If that is the relay's own address, set PLEXUS_PAIRING_URL to it. ${PUBLISH_ADDRESS}.`,
    );
  }
  let text: string | undefined;
  try {
    text = await readAtMost(response, MAX_RELAY_ANSWER_BYTES);
  } catch (error) {
    // Cut off (the timeout, the connection). A success's body is what matters: said as such, not
    // as a refusal "HTTP 200" of a relay that was still sending. An error status stays a refusal.
    if (response.ok) throw unfinished(where, error, options.timeoutMs, signal.aborted);
    text = '';
  }
  if (text === undefined) {
    throw new RelayFailure(`The pairing relay at ${where} answered with more than ${MAX_RELAY_ANSWER_BYTES} bytes`, 'relay_bad_answer', `Is it a pairgate relay? ${PUBLISH_ADDRESS}.`);
  }
  let body: Record<string, unknown> = {};
  try {
    const parsed = JSON.parse(text) as unknown;
    if (parsed && typeof parsed === 'object' && !Array.isArray(parsed)) body = parsed as Record<string, unknown>;
  } catch {
    // handled below: a non-JSON answer is a bad answer
  }
  if (!response.ok || body.success !== true) {
    // A relay's error is {success: false, error, code}; another server's (a 404 of pairgate's
    // engine, say) may carry only a machine code in `error`, so the status is said too.
    const said = typeof body.error === 'string' ? body.error : typeof body.message === 'string' ? body.message : '';
    const code = typeof body.code === 'string' ? body.code : typeof body.error === 'string' && /^[a-z_]+$/.test(body.error) ? body.error : '';
    const what = said && said !== code ? `HTTP ${response.status}: ${quotedRefusal(said)}` : `HTTP ${response.status}`;
    const retryAfter = response.status === 429 ? retryAfterOf(response, body) : undefined;
    throw new RelayFailure(`The pairing relay at ${where} refused to give a code (${what})`, 'relay_refused', refusalAdvice(response.status, code, Boolean(options.apiKey)), retryAfter);
  }
  const parsed = relayCodeFormat.parse(typeof body.code === 'string' ? body.code : '');
  const pairingUrl = typeof body.pairing_url === 'string' ? body.pairing_url : '';
  const redirectUrl = typeof body.redirect_url === 'string' ? body.redirect_url : '';
  if (!parsed.ok || !/^https?:\/\//.test(pairingUrl) || !/^https?:\/\//.test(redirectUrl)) {
    throw new RelayFailure(`The pairing relay at ${where} answered without a usable code`, 'relay_bad_answer', `Is it a pairgate relay? ${PUBLISH_ADDRESS}.`);
  }
  // Not in the original relay's answer: absent or unreadable, the origin keeps its own TTL.
  const expiresIn = typeof body.expires_in === 'number' && Number.isFinite(body.expires_in) && body.expires_in > 0 ? body.expires_in : undefined;
  return { code: parsed.code, pairingUrl, redirectUrl, expiresInMs: expiresIn === undefined ? undefined : expiresIn * 1000 };
}

/** A relay failure's message completed with what it meant for the caller's request. */
export function withConsequence(error: unknown, consequence: string): unknown {
  if (!(error instanceof BadGatewayError)) return error;
  if (!(error instanceof RelayFailure)) return new BadGatewayError(`${error.message}; ${consequence}`, error.code);
  const advice = error.advice ? ` ${error.advice}` : '';
  const retryAfter = error.details?.retryAfterSeconds;
  return new RelayFailure(`${error.message}; ${consequence}${advice}`, error.code, '', typeof retryAfter === 'number' ? retryAfter : undefined);
}
