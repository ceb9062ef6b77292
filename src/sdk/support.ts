import { EventEmitter } from 'node:events';
import { WebSocket } from 'ws';
import type { IncomingMessage } from 'node:http';
import { abortedCall, MAX_LIST_ANSWER_BYTES, networkFailureOf, PairgateApiError, retryAfterOf, UNREACHABLE_ADVICE } from './errors.js';
import { callJson, refusalOf as refusalOfAnswer, sendCall, type CallOptions, type HttpCall } from './http-call.js';
import { LongPollPacer, longPollSeconds, monotonicNow, waitParameter } from './long-poll.js';
import { PassingFailureRetry } from './passing-failures.js';

/**
 * Typed clients of the support door: the origin (supporter side: sessions and the supporter's end of
 * the session channel), the relay (publishing and resolving codes) and the agent (pairing info,
 * confirmation, the agent's end of the session channel). Used by `pairgate session` and
 * `pairgate join`, the tests and third parties. Errors are PairgateApiError with the server's
 * machine code (`Code` of the origin's `{Error, Description, Code}`, `code` of the relay's).
 */

/** What creating a session asks for (the seed's form fields). */
export interface CreateSessionInput {
  id?: string;
  ttl?: number;
  username?: string;
  password?: string;
  supporterName?: string;
  supporterAvatar?: string;
}

/** The origin's answer to session creation (201). */
export interface CreatedSession {
  ID: string;
  SessionURL: string;
  AgentMSH: string;
  AgentConfig: { ServerID: string; MeshName: string; MeshType: number; MeshID: string; MeshIDHex: string; MeshServer: string };
  ExpiresAt: string;
  PairingCode?: string;
  PairingURL?: string;
  PairingUrl?: string;
}

/** A session's state as its supporter sees it. */
export type SessionState = 'waiting' | 'confirmed' | 'connected' | 'declined' | 'expired';

/** A session as `GET /session/:id` shows it. */
export interface SessionInfo {
  ID: string;
  State: SessionState;
  Version: number;
  SessionURL: string;
  SupporterName: string;
  SupporterAvatar: string;
  Pairing: boolean;
  CreatedAt: string;
  ExpiresAt: string;
  ConfirmedAt: string | null;
  ConnectedAt: string | null;
  /**
   * Until when the pairing code works: set while the session waits and its code is live, null once it
   * is confirmed, spent or expired. Absent from servers older than this field.
   */
  PairingCodeExpiresAt?: string | null;
}

/** What the person holding a code is shown before confirming. */
export interface PairingInfo {
  AgentMSH: string;
  ExpiresAt: string;
  CompanyName: string;
  CompanyLogo: string;
  SupporterName: string;
  SupporterAvatar: string;
}

/** The answer to a confirmation: where the session channel is and the credential to present. */
export interface Confirmation {
  SessionID: string;
  State: string;
  MeshServer: string;
  AgentCredential?: string;
  ExpiresAt: string;
  SupporterName: string;
  CompanyName: string;
}

/** What the relay answers when an origin publishes. */
export interface RelayPublication {
  success: true;
  code: string;
  pairing_url: string;
  redirect_url: string;
  /** Seconds until the code stops working; pairgate's relays add it to the original answer. */
  expires_in?: number;
}

/** A message of the session channel. */
export interface ChannelEvent {
  type: 'welcome' | 'history' | 'state' | 'message' | 'diagnostics' | 'peer_left' | 'peer_joined' | 'ended' | 'error' | string;
  /** Of `peer_left` / `peer_joined`: which side left or came back. */
  peer?: 'agent' | 'supporter';
  /** Of `peer_left`: the side may come back, until the session expires (`expiresAt`). */
  mayReturn?: boolean;
  /** Of the agent's `peer_joined`: true when no supporter had been attached to the person before (it joined, it did not come back). */
  first?: boolean;
  /** Of a `history` event: the messages said so far, oldest first. */
  messages?: ChannelEvent[];
  state?: SessionState;
  from?: 'agent' | 'supporter';
  text?: string;
  report?: Record<string, unknown>;
  reason?: string;
  code?: string;
  message?: string;
  [key: string]: unknown;
}

/**
 * The typed error of a refusal from its status and parsed body (any of the door's shapes: the
 * origin's `{Error, Description, Code}`, the relay's `{success, error | message, code}`, and the
 * server's own `{error: <code>, message}` for what no door answered, e.g. an unknown route);
 * `fallback` gives the code and message when the body has none (not JSON, or empty).
 */
function refusalError(status: number, body: Record<string, unknown>, fallback: { code: string; message: string }, retryAfter: string | null | undefined): PairgateApiError {
  // In the server's shape `error` is a machine code beside a `message`; in the relay's it is the message.
  const serverCode = typeof body.error === 'string' && typeof body.message === 'string' && /^[a-z][a-z0-9_]*$/.test(body.error) ? body.error : undefined;
  const code = typeof body.Code === 'string' ? body.Code : typeof body.code === 'string' ? body.code : (serverCode ?? fallback.code);
  const message = [body.Description, body.message, body.error].find((value): value is string => typeof value === 'string') ?? fallback.message;
  return new PairgateApiError(status, code, message, body, retryAfterOf(retryAfter));
}

/** Parses an error body; anything but a JSON object reads as `{}` (the status then says enough). */
function parseBody(text: string): Record<string, unknown> {
  try {
    const body: unknown = JSON.parse(text);
    return body !== null && typeof body === 'object' && !Array.isArray(body) ? (body as Record<string, unknown>) : {};
  } catch {
    return {};
  }
}

/** A refusal of the support door in any of its shapes (a body that cannot be read leaves the status to speak). */
async function errorOf(response: Response): Promise<PairgateApiError> {
  const body = parseBody(await response.text().catch(() => ''));
  return refusalError(response.status, body, { code: `http_${response.status}`, message: response.statusText }, response.headers.get('retry-after'));
}

/** What a support call needs besides where it goes: the shared call's defaults for this door. */
type SupportCall = Omit<HttpCall, 'origin' | 'advice' | 'refusal' | 'timeoutMs'> & { timeoutMs?: number; origin?: string };

/** A call of the support door (see {@link HttpCall}): its refusal shapes, a 15 s default timeout. */
function supportCall(call: SupportCall): HttpCall {
  const { signal, ...rest } = call;
  return {
    ...rest,
    origin: call.origin ?? new URL(call.url).origin,
    timeoutMs: call.timeoutMs ?? 15_000,
    advice: UNREACHABLE_ADVICE,
    refusal: errorOf,
    ...(signal ? { signal } : {}),
  };
}

/**
 * Sends a support call and parses its JSON answer; PairgateApiError otherwise: the door's refusal,
 * `network_error` (nothing, or no whole answer, within the timeout), `not_pairgate` (a whole
 * answer that is not JSON), `aborted` (the caller's signal).
 */
function supportJson<T>(call: SupportCall): Promise<T> {
  return callJson<T>(supportCall(call));
}

/** Whether a parsed frame is a JSON object, the one shape of the channel's events. */
function isChannelEvent(value: unknown): value is ChannelEvent {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/**
 * One end of a session channel (a WebSocket). Emits `event` for every message, `ended` when the
 * session ends (with the reason) and `close` when the socket closes (with `lost` true when it
 * closed without the session ending).
 */
export class SessionChannel extends EventEmitter {
  private endedReason: string | undefined;
  /** Of an agent's channel: the server's welcome (`supporterAttached` says whether a supporter is there now). */
  welcome: ChannelEvent | undefined;
  /** Events not yet consumed by `next` (a message may arrive in the same packet as the upgrade). */
  private readonly backlog: ChannelEvent[] = [];

  constructor(readonly socket: WebSocket) {
    super();
    socket.on('message', (data) => {
      let event: unknown;
      try {
        event = JSON.parse(String(data));
      } catch {
        return;
      }
      // Only objects are events: reading `type` of `null` threw inside this listener, where no
      // caller can catch it, and a server (for an agent, whichever one a code led to) ended the process.
      if (!isChannelEvent(event)) return;
      // A history's entries are read as objects by whoever shows them (`join` reads `from` and
      // `text` of each): one that is none (`null`) threw there, in this listener's call.
      if (event.type === 'history' && Array.isArray(event.messages)) event.messages = event.messages.filter(isChannelEvent);
      this.backlog.push(event);
      if (this.backlog.length > 1000) this.backlog.shift();
      if (event.type === 'ended') {
        this.endedReason = String(event.reason ?? 'ended');
        this.emit('ended', this.endedReason);
      }
      this.emit('event', event);
    });
    socket.on('close', (code, reason) => this.emit('close', { code, reason: String(reason), lost: this.endedReason === undefined }));
    socket.on('error', () => undefined); // a failing socket also closes; 'close' tells
  }

  /** Why the session ended, once it has. */
  get ended(): string | undefined {
    return this.endedReason;
  }

  /** Calls `handler` for every event: first those already received and not taken, then each new one. */
  onEvent(handler: (event: ChannelEvent) => void): void {
    for (const event of this.backlog.splice(0)) handler(event);
    this.on('event', handler);
  }

  /** Whether the socket is open. */
  get open(): boolean {
    return this.socket.readyState === WebSocket.OPEN;
  }

  /** Sends a text message to the other side. */
  say(text: string): void {
    this.sendJson({ type: 'message', text });
  }

  /** Sends a diagnostics report (agent side). */
  sendDiagnostics(report: Record<string, unknown>): void {
    this.sendJson({ type: 'diagnostics', report });
  }

  /** Ends the session for both sides. */
  end(): void {
    this.sendJson({ type: 'end' });
  }

  /** Closes this socket only. */
  close(): void {
    this.socket.close(1000);
  }

  /**
   * Resolves with the first event not yet taken by `next` that `match` accepts (from the backlog or
   * still to come; earlier events are dropped), or rejects after `timeoutMs` or on close.
   */
  next(match: (event: ChannelEvent) => boolean, timeoutMs = 15_000): Promise<ChannelEvent> {
    const index = this.backlog.findIndex(match);
    if (index >= 0) {
      const [event] = this.backlog.splice(0, index + 1).slice(-1);
      return Promise.resolve(event!);
    }
    this.backlog.length = 0;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => finish(new Error(`no matching message within ${timeoutMs} ms`)), timeoutMs);
      const onEvent = (event: ChannelEvent): void => {
        // Taken from the backlog as it is consumed, so a later `next` does not see it again.
        const at = this.backlog.indexOf(event);
        if (match(event)) {
          this.backlog.splice(0, at + 1);
          finish(undefined, event);
        }
      };
      const onClose = (): void => finish(new Error('the session channel closed'));
      const finish = (error?: Error, event?: ChannelEvent): void => {
        clearTimeout(timer);
        this.off('event', onEvent);
        this.off('close', onClose);
        if (error) reject(error);
        else resolve(event!);
      };
      this.on('event', onEvent);
      this.on('close', onClose);
    });
  }

  private sendJson(message: unknown): void {
    if (this.open) this.socket.send(JSON.stringify(message));
  }
}

/** Most of a refused upgrade's body that is read: the server's refusals are a few hundred bytes. */
const MAX_REFUSAL_BYTES = 16 * 1024;
/** How long the body of a refused upgrade is waited for before the status alone is reported. */
const REFUSAL_READ_MS = 5_000;

/** What a refusal without a usable body means, by status (the server's own codes for these two). */
function refusalFallback(status: number, url: string): { code: string; message: string } {
  if (status === 401) return { code: 'unauthorized', message: 'The server refused the credentials.' };
  if (status === 404) return { code: 'session_not_found', message: 'No live session is there: it has ended or expired.' };
  return { code: `http_${status}`, message: `The server at ${new URL(url).origin} refused the session channel (HTTP ${status}).` };
}

/**
 * Reads the HTTP answer that refused an upgrade (403 `origin_not_allowed`, 429
 * `auth_failures_exceeded`, 401, 404 ...) into the typed error, with the server's code, message and
 * Retry-After: the caller must be able to tell "wait 15 minutes" from "wrong password" from "no such
 * session". Bounded in size and time, so a server that never finishes its answer cannot hold the
 * caller.
 */
function refusalOf(response: IncomingMessage, url: string): Promise<PairgateApiError> {
  const status = response.statusCode ?? 0;
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let settled = false;
    const finish = (): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      resolve(refusalError(status, parseBody(Buffer.concat(chunks).toString('utf8')), refusalFallback(status, url), response.headers['retry-after']));
    };
    const timer = setTimeout(finish, REFUSAL_READ_MS);
    response.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > MAX_REFUSAL_BYTES) {
        chunks.length = 0; // too long to be one of the server's answers: the status alone speaks
        finish();
      } else chunks.push(chunk);
    });
    response.once('end', finish);
    response.once('error', finish);
    response.once('close', finish);
  });
}

/**
 * The largest frame a channel client reads, 8 MiB: the largest a pairgate server sends is a history
 * of its 200 latest messages, about 5 MB at most. ws's default (100 MiB) let any server a code led
 * to make the agent hold that much per frame; a larger frame closes the socket (1009).
 */
export const MAX_CHANNEL_FRAME_BYTES = 8 * 1024 * 1024;

/**
 * Opens a session channel. `signal` cancels the opening (the socket closed at once, code
 * `aborted`); once open, the channel is the caller's to close.
 */
async function openChannel(url: string, headers: Record<string, string> = {}, signal?: AbortSignal): Promise<SessionChannel> {
  if (signal?.aborted) throw abortedCall(signal);
  const socket = new WebSocket(url, { headers, handshakeTimeout: 10_000, maxPayload: MAX_CHANNEL_FRAME_BYTES });
  // Listening from the start: the server's first message may come with the upgrade itself.
  const channel = new SessionChannel(socket);
  await new Promise<void>((resolve, reject) => {
    let refused = false;
    const onAbort = (): void => {
      refused = true; // what the socket reports as it is torn down is not the caller's concern
      socket.terminate();
      reject(abortedCall(signal!));
    };
    signal?.addEventListener('abort', onAbort, { once: true });
    socket.once('close', () => signal?.removeEventListener('abort', onAbort));
    socket.once('open', () => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    });
    // With this listener, ws leaves a refused upgrade's answer to us (without it, only "Unexpected
    // server response: 429" would reach the caller, and the server's machine code would be lost).
    socket.once('unexpected-response', (_request, response) => {
      refused = true;
      void refusalOf(response, url).then((error) => {
        socket.terminate();
        reject(error);
      });
    });
    socket.once('error', (error) => {
      if (refused) return; // terminate() after a refusal reports an error too; the refusal says more
      reject(new PairgateApiError(0, 'network_error', `Cannot open the session channel at ${new URL(url).origin} (${error.message}).`, undefined, undefined, networkFailureOf(error)));
    });
  });
  return channel;
}

/** States a session never leaves: waiting for any other state after one of them is pointless. */
export const FINAL_SESSION_STATES: readonly SessionState[] = ['declined', 'expired'];

/** True for `declined` and `expired`. */
export function isFinalSessionState(state: SessionState): boolean {
  return FINAL_SESSION_STATES.includes(state);
}

/**
 * `waitForState` gave up because the session reached a final state it was not waiting for: code
 * `session_declined` or `session_expired`, status 409 (as the server's own refusals of a move from a
 * final state), and the session as last seen.
 */
export class SessionFinalStateError extends PairgateApiError {
  /** The final state reached. */
  readonly state: SessionState;

  constructor(
    /** The session as last seen. */
    readonly session: SessionInfo,
    /** The states that were waited for. */
    readonly wanted: readonly SessionState[],
  ) {
    const what = session.State === 'declined' ? 'was declined (the person refused it)' : session.State === 'expired' ? 'has expired (it reached its lifetime)' : `is ${session.State}`;
    super(409, `session_${session.State}`, `The session ${session.ID} ${what}${wanted.length ? `; it will not become ${wanted.join(' or ')}` : ''}.`, session);
    this.name = 'SessionFinalStateError';
    this.state = session.State;
  }
}

/** Options of the origin client. */
export interface SupportOriginOptions {
  /** Base URL of the origin, e.g. `https://support.example.com`. */
  baseUrl: string;
  /** The origin's supporter user name (its PLEXUS_AUTH_USER), sent with Basic authentication. */
  user: string;
  /** That user's password (its PLEXUS_AUTH_PASS). */
  password: string;
  /** Timeout of each call in milliseconds, its answer's body included (long-polls add their wait). Default 15 s. */
  timeoutMs?: number;
}

/** How `createSession` sends its fields: JSON, an urlencoded form, or multipart (what `curl -F` sends). */
export type SessionEncoding = 'json' | 'form' | 'multipart';

/** What {@link SupportOriginClient.createSession} takes besides the session's fields. */
export interface CreateSessionOptions extends CallOptions {
  /** How the fields are sent; default `json`. */
  encoding?: SessionEncoding;
}

/** What {@link SupportOriginClient.getSession} takes. */
export interface GetSessionOptions extends CallOptions {
  /** Hold the read (long-poll) up to this many seconds until the session changes. */
  waitSeconds?: number;
  /** The version the caller has seen: the long-poll answers once the session is past it. */
  since?: number;
}

/** What {@link SupportOriginClient.waitForState} takes. */
export interface WaitForStateOptions extends CallOptions {
  /** Longest wait in seconds; default 600. */
  maxSeconds?: number;
  /** Told of each passing failure (server away, 408, 429, 502, 503, 504) and the pause before asking again. */
  onRetry?: (error: PairgateApiError, pauseMs: number) => void;
  /** First pause (ms) after a passing failure without a Retry-After above 0; it doubles up to 15 s. Default 1 s. */
  firstRetryPauseMs?: number;
}

/** The supporter's client of an origin: sessions and the supporter's end of the session channel. */
export class SupportOriginClient {
  /** The origin's base URL, without a trailing slash. */
  readonly baseUrl: string;
  private readonly authorization: string;
  private readonly timeoutMs: number;

  constructor(options: SupportOriginOptions) {
    this.baseUrl = options.baseUrl.replace(/\/+$/, '');
    this.authorization = `Basic ${Buffer.from(`${options.user}:${options.password}`).toString('base64')}`;
    this.timeoutMs = options.timeoutMs ?? 15_000;
  }

  /**
   * Creates a session. The second argument is the encoding, or options with it (`encoding`) and a
   * `signal`: JSON (default), an urlencoded form or multipart (what `curl -F` sends).
   */
  async createSession(input: CreateSessionInput, encodingOrOptions: SessionEncoding | CreateSessionOptions = 'json'): Promise<CreatedSession> {
    const { encoding = 'json', signal } = typeof encodingOrOptions === 'string' ? { encoding: encodingOrOptions } : encodingOrOptions;
    const fields: Record<string, string> = {};
    if (input.id !== undefined) fields.id = input.id;
    if (input.ttl !== undefined) fields.ttl = String(input.ttl);
    if (input.username !== undefined) fields.username = input.username;
    if (input.password !== undefined) fields.password = input.password;
    if (input.supporterName !== undefined) fields.supporter_name = input.supporterName;
    if (input.supporterAvatar !== undefined) fields.supporter_avatar = input.supporterAvatar;
    let body: string | FormData;
    const headers: Record<string, string> = { authorization: this.authorization, accept: 'application/json' };
    if (encoding === 'json') {
      headers['content-type'] = 'application/json';
      body = JSON.stringify({ ...fields, ...(input.ttl !== undefined ? { ttl: input.ttl } : {}) });
    } else if (encoding === 'form') {
      headers['content-type'] = 'application/x-www-form-urlencoded';
      body = new URLSearchParams(fields).toString();
    } else {
      const form = new FormData();
      for (const [key, value] of Object.entries(fields)) form.append(key, value);
      body = form;
    }
    return this.call({ path: '/session', method: 'POST', headers, body, signal });
  }

  /** A new pairing code (and agent token) for a session still waiting, e.g. when its code expired. */
  async newCode(id: string, options: CallOptions = {}): Promise<CreatedSession> {
    return this.call({ path: `/session/${encodeURIComponent(id)}/code`, method: 'POST', headers: this.jsonHeaders(), signal: options.signal });
  }

  /**
   * Reads a session; with `waitSeconds`, answers when it changes past `since` (or its current
   * version), or when the wait ends unchanged (the server holds at most its maximum).
   */
  async getSession(id: string, options: GetSessionOptions = {}): Promise<SessionInfo> {
    const query = new URLSearchParams();
    const wait = options.waitSeconds ? waitParameter(options.waitSeconds) : undefined;
    if (wait) query.set('wait', wait);
    if (options.since !== undefined) query.set('since', String(options.since));
    const path = `/session/${encodeURIComponent(id)}${query.size ? `?${query}` : ''}`;
    // Whole milliseconds: a timer refuses a fraction (a wait of 2/3 s).
    return this.call({ path, headers: this.jsonHeaders(), extraTimeoutMs: Math.ceil(Number(wait ?? 0) * 1000), signal: options.signal });
  }

  /**
   * Waits (by long-poll) until the session is in one of `states`, and returns it as it then is.
   *
   * - A final state not asked for (`declined`, `expired`: the session can never move on from it)
   *   rejects at once with {@link SessionFinalStateError} (code `session_declined` or
   *   `session_expired`), which carries the session as last seen. Ask for a final state in
   *   `states` to have it returned instead.
   * - A session that ends or is deleted while waiting (the server forgets it: 404) rejects with the
   *   server's PairgateApiError, `session_not_found`; so do wrong credentials and the rest.
   * - After `maxSeconds`, returns the session as last seen, in whatever state it is.
   *
   * - An aborted `signal` ends the wait at once, in a long-poll or a pause, with PairgateApiError
   *   code `aborted` (the long-poll's connection closed).
   * - A server that goes away once the session was read (restarting, or a node behind a load
   *   balancer stopping: no answer, an answer cut, 502, 503, 504), or that says to come back (408,
   *   429), is asked again after its Retry-After (when above 0), or a pause of `firstRetryPauseMs` (1 s) doubling
   *   up to 15 s, until `maxSeconds`; `onRetry` is told of each such failure. The first read is not
   *   retried: it fails at once on a wrong address, as `waitForDecision`'s does.
   *
   * A long-poll answered at once with nothing changed (a proxy dropping `wait`, a server with a
   * short maximum) is not sent again at once: the pause before the next one doubles from 1 s up to
   * 15 s while that lasts, so a wait never turns into a stream of requests. The wait is measured
   * on the monotonic clock: a step of the wall clock neither ends it early nor stretches it.
   */
  waitForState(id: string, states: readonly SessionState[], options?: WaitForStateOptions): Promise<SessionInfo>;
  /** The same with the longest wait in seconds as the argument (default 600; no `signal`). */
  waitForState(id: string, states: readonly SessionState[], maxSeconds?: number): Promise<SessionInfo>;
  async waitForState(id: string, states: readonly SessionState[], optionsOrMaxSeconds: WaitForStateOptions | number = {}): Promise<SessionInfo> {
    const options: WaitForStateOptions = typeof optionsOrMaxSeconds === 'number' ? { maxSeconds: optionsOrMaxSeconds } : optionsOrMaxSeconds;
    const { maxSeconds = 600, signal } = options;
    const deadline = monotonicNow() + maxSeconds * 1000;
    let info = await this.getSession(id, { signal });
    const pacer = new LongPollPacer();
    const retry = new PassingFailureRetry({ onRetry: options.onRetry, signal, firstPauseMs: options.firstRetryPauseMs });
    for (;;) {
      if (states.includes(info.State)) return info;
      if (isFinalSessionState(info.State)) throw new SessionFinalStateError(info, states);
      if (deadline - monotonicNow() <= 0) return info;
      const askedAt = monotonicNow();
      let next: SessionInfo;
      try {
        next = await this.getSession(id, { waitSeconds: longPollSeconds(deadline), since: info.Version, signal });
      } catch (error) {
        // A refusal (404 session_not_found, 401, ...) is rethrown; after the pause, the deadline is checked again.
        await retry.pauseAfter(error, deadline);
        continue;
      }
      retry.answered();
      const changed = next.Version !== info.Version || next.State !== info.State;
      info = next;
      await pacer.after(changed, monotonicNow() - askedAt, deadline, signal);
      if (signal?.aborted) throw abortedCall(signal);
    }
  }

  /** Live sessions. */
  async listSessions(options: CallOptions = {}): Promise<SessionInfo[]> {
    // A list: it may legitimately be larger than a single answer's cap.
    const body = await this.call<{ Sessions: SessionInfo[] }>({ path: '/session', headers: this.jsonHeaders(), maxAnswerBytes: MAX_LIST_ANSWER_BYTES, signal: options.signal });
    return body.Sessions;
  }

  /** Ends and removes a session; its code dies with it. */
  async deleteSession(id: string, options: CallOptions = {}): Promise<void> {
    const call = this.httpCall({ path: `/session/${encodeURIComponent(id)}`, method: 'DELETE', headers: { authorization: this.authorization }, signal: options.signal });
    const { response } = await sendCall(call);
    if (!response.ok) throw await refusalOfAnswer(call, response);
    // The status says it all: the body (empty or not) is let go, and its connection with it.
    await response.body?.cancel().catch(() => undefined);
  }

  /**
   * Opens the supporter's end of the session channel; the first event is the session's state, sent
   * once this supporter counts as attached (an agent welcomed after it hears `supporterAttached: true`). With
   * `history`, a `history` event follows it: the chat so far (both ways, the latest 200 messages),
   * so a supporter attaching again sees what the person wrote meanwhile.
   */
  async attach(id: string, options: { history?: boolean } & CallOptions = {}): Promise<SessionChannel> {
    const url = `${this.baseUrl.replace(/^http/, 'ws')}/session/${encodeURIComponent(id)}/channel${options.history ? '?history=true' : ''}`;
    return openChannel(url, { authorization: this.authorization }, options.signal);
  }

  /** The headers of a call that reads JSON with this client's credentials. */
  private jsonHeaders(): Record<string, string> {
    return { authorization: this.authorization, accept: 'application/json' };
  }

  /** A call to `path` on the origin, with this client's timeout (plus `extraTimeoutMs`, a long-poll's wait). */
  private httpCall(call: { path: string; method?: string; headers: Record<string, string>; body?: string | FormData; extraTimeoutMs?: number; maxAnswerBytes?: number; signal?: AbortSignal | undefined }): HttpCall {
    return supportCall({
      origin: this.baseUrl,
      url: `${this.baseUrl}${call.path}`,
      headers: call.headers,
      timeoutMs: this.timeoutMs + (call.extraTimeoutMs ?? 0),
      ...(call.method ? { method: call.method } : {}),
      ...(call.maxAnswerBytes ? { maxAnswerBytes: call.maxAnswerBytes } : {}),
      ...(call.body === undefined ? {} : { body: call.body }),
      ...(call.signal ? { signal: call.signal } : {}),
    });
  }

  /** Sends a call built by {@link httpCall} and parses its JSON answer. */
  private call<T>(call: Parameters<SupportOriginClient['httpCall']>[0]): Promise<T> {
    return callJson<T>(this.httpCall(call));
  }
}

/** The client of a relay (the public pairing directory). */
export class SupportRelayClient {
  /** Where the relay is mounted, without a trailing slash. */
  readonly baseUrl: string;

  /** `baseUrl` is where the relay is mounted: `https://relay.example` or `http://host:8080/relay`. */
  constructor(baseUrl: string, private readonly timeoutMs = 15_000) {
    this.baseUrl = baseUrl.replace(/\/+$/, '');
  }

  /** Publishes an origin's pairing URL; answers the code and its URLs. */
  async publish(originPairingUrl: string, apiKey?: string, options: CallOptions = {}): Promise<RelayPublication> {
    return supportJson({
      origin: this.baseUrl,
      url: `${this.baseUrl}/pairing/`,
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'application/json', ...(apiKey ? { authorization: `Bearer ${apiKey}` } : {}) },
      body: JSON.stringify({ url: originPairingUrl }),
      timeoutMs: this.timeoutMs,
      ...(options.signal ? { signal: options.signal } : {}),
    });
  }

  /** Where a code leads: the origin URL the relay redirects to. */
  async resolve(code: string, options: CallOptions = {}): Promise<string> {
    const call = supportCall({ origin: this.baseUrl, url: `${this.baseUrl}/pairing/${encodeURIComponent(code)}`, headers: { accept: 'application/json' }, timeoutMs: this.timeoutMs, ...(options.signal ? { signal: options.signal } : {}) });
    const { response } = await sendCall(call);
    const location = response.headers.get('location');
    if (response.status >= 300 && response.status < 400 && location) {
      await response.body?.cancel().catch(() => undefined); // the redirect's page is not read
      const target = new URL(location, response.url || this.baseUrl);
      // The caller goes on to that address (join opens it, a person's browser would): only a web address.
      if (target.protocol !== 'https:' && target.protocol !== 'http:') {
        throw new PairgateApiError(response.status, 'relay_bad_answer', `${this.baseUrl} sent the code to a ${target.protocol.replace(/:$/, '')}: address, not a web address: it is not a pairgate relay's answer. Check the relay URL.`);
      }
      return target.href;
    }
    if (!response.ok) throw await refusalOfAnswer(call, response);
    await response.body?.cancel().catch(() => undefined);
    // A 2xx page: a web server, or a pairgate server's own root given where its relay is mounted.
    throw new PairgateApiError(response.status, 'relay_bad_answer', `${this.baseUrl} answered the code with a page, not a redirect: it is not a pairgate relay there. Check the relay URL: it usually ends in /relay (https://support.example.com/relay), unless the relay runs on its own (serve --relay-only).`);
  }
}

/**
 * What the person is shown for a code, from the origin URL the relay redirected to. `signal`
 * cancels it (code `aborted`).
 */
export async function fetchPairingInfo(pairingUrl: string, timeoutMs = 15_000, options: CallOptions = {}): Promise<PairingInfo> {
  return supportJson({ url: pairingUrl, headers: { accept: 'application/json' }, timeoutMs, ...(options.signal ? { signal: options.signal } : {}) });
}

/** Confirms (or declines) the code at `pairingUrl`. `signal` cancels it (code `aborted`). */
export async function confirmPairing(pairingUrl: string, decision: 'accept' | 'decline' = 'accept', timeoutMs = 15_000, options: CallOptions = {}): Promise<Confirmation> {
  return supportJson({
    url: `${pairingUrl.replace(/\/+$/, '')}/confirm`,
    method: 'POST',
    headers: { 'content-type': 'application/json', accept: 'application/json' },
    body: JSON.stringify({ Decision: decision }),
    timeoutMs,
    ...(options.signal ? { signal: options.signal } : {}),
  });
}

/**
 * The session channel a confirmation names, checked to be on the server the code led to: the
 * pairing URL's own origin (`ws:` for `http:`, `wss:` for `https:`), where pairgate's origins serve
 * it. The relay checks the pairing URLs it is given, not what the server there answers later, and
 * anyone may publish on an open relay: trusted as given, a confirmation steered the person's
 * machine into its own network (a WebSocket upgrade to 127.0.0.1 or a LAN host, the session's
 * credential in its first message). 502 `session_channel_elsewhere` otherwise.
 */
export function sessionChannelOf(pairingUrl: string, meshServer: unknown): string {
  const server = new URL(pairingUrl);
  const expected = `${server.protocol === 'https:' ? 'wss:' : 'ws:'}//${server.host}`;
  let channel: URL | undefined;
  try {
    channel = typeof meshServer === 'string' ? new URL(meshServer) : undefined;
  } catch {
    channel = undefined;
  }
  if (channel && `${channel.protocol}//${channel.host}` === expected && !channel.username && !channel.password) return channel.href;
  const named = typeof meshServer === 'string' ? ` (${meshServer.slice(0, 100)})` : '';
  throw new PairgateApiError(502, 'session_channel_elsewhere', `The supporter's server (${server.origin}) named a session channel on another server${named}, where pairgate connects only to the server the code led to: nothing was connected. Tell your supporter: their server is misconfigured, or it is not who it claims to be.`);
}

/** Options of `connectAgent`; its `signal` cancels the opening and the wait for the welcome (code `aborted`). */
export interface ConnectAgentOptions extends CallOptions {
  /**
   * Ask for the chat so far: right after the welcome, the server sends one `history` event whose
   * `messages` are the latest messages both ways, oldest first; later events are only what is said
   * after it. For an agent that shows the conversation after a reconnect.
   */
  history?: boolean;
}

/** Opens the agent's end of the session channel and presents the credential; resolves once welcomed. */
export async function connectAgent(meshServer: string, credential: string | undefined, agentName = 'pairgate-join', options: ConnectAgentOptions = {}): Promise<SessionChannel> {
  const { signal } = options;
  const channel = await openChannel(meshServer, {}, signal);
  const welcomed = channel.next((event) => event.type === 'welcome' || event.type === 'error', 15_000);
  // Aborted while waiting for the welcome: the socket closes, which ends `next` at once.
  const onAbort = (): void => channel.socket.terminate();
  signal?.addEventListener('abort', onAbort, { once: true });
  channel.socket.send(JSON.stringify({ type: 'hello', credential, agent: agentName, ...(options.history ? { history: true } : {}) }));
  const answer = await welcomed.catch((error: Error) => ({ type: 'error', code: 'network_error', message: error.message }) as ChannelEvent);
  signal?.removeEventListener('abort', onAbort);
  if (signal?.aborted) {
    channel.socket.terminate();
    throw abortedCall(signal);
  }
  if (answer.type !== 'welcome') {
    channel.close();
    throw new PairgateApiError(401, String(answer.code ?? 'unauthorized'), String(answer.message ?? 'The session refused the agent.'));
  }
  channel.welcome = answer;
  return channel;
}
