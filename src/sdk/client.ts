import { abortedCall, PairgateApiError, UNREACHABLE_ADVICE } from './errors.js';
import { callJson, type CallOptions } from './http-call.js';
import { LongPollPacer, longPollSeconds, monotonicNow, waitParameter } from './long-poll.js';
import { PassingFailureRetry } from './passing-failures.js';

/** Seconds a wait for a decision goes on past the grant's lifetime, for the server to say it expired. */
const EXPIRY_MARGIN_SECONDS = 30;

/** A grant as the generic API shows it to its creator. */
export interface GrantView {
  /** The grant's id, for `getGrant`, `waitForDecision` and `redeem`. */
  id: string;
  /** The grant's kind: `pair` for the generic API's grants. */
  kind: string;
  /** Where it stands; `expired` only as `waitForDecision` reports a grant that is gone. */
  state: 'pending' | 'approved' | 'refused' | 'redeemed' | 'expired';
  /** Goes up at each change: the `since` of a long-poll. */
  version: number;
  /** What the approver is asked, as created. */
  label: string;
  /** The facts shown to the approver, as created. */
  data: Record<string, string>;
  /** When it was created (ISO 8601, the server's clock). */
  createdAt: string;
  /** When it expires and is deleted (ISO 8601, the server's clock). */
  expiresAt: string;
}

/** A new grant: the code to read out and the secret to redeem it with (shown once). */
export interface CreatedGrant extends GrantView {
  /** The code the approver types or opens (shown once: it is stored hashed). */
  code: string;
  /** The secret `redeem` takes (shown once: keep it with the creator only). */
  secret: string;
  /** The grant's long-poll URL (`?wait=` the server's maximum). */
  waitUrl: string;
  /** The grant's server-sent events URL. */
  eventsUrl: string;
}

/** What the person holding a code sees before deciding. */
export interface CodeView {
  /** What they are asked. */
  label: string;
  /** The facts the creator attached. */
  data: Record<string, string>;
  /** Where the grant stands (`pending` while a decision is awaited). */
  state: string;
  /** When the code stops working (ISO 8601). */
  expiresAt: string;
}

export type { CallOptions } from './http-call.js';

/** What {@link PairgateClient.waitForDecision} takes. */
export interface WaitForDecisionOptions extends CallOptions {
  /** Longest wait in seconds; default: as long as the grant can live. */
  maxSeconds?: number;
  /** Told of every view that differs from the one before. */
  onChange?: (view: GrantView) => void;
  /** Told of each passing failure (server away, 408, 429, 502, 503, 504) and the pause before asking again. */
  onRetry?: (error: PairgateApiError, pauseMs: number) => void;
  /** First pause (ms) after a passing failure without a Retry-After above 0; it doubles up to 15 s. Default 1 s. */
  firstRetryPauseMs?: number;
}

/** Options of the client. */
export interface ClientOptions {
  /** Base URL of the server, e.g. `http://127.0.0.1:8080`. */
  baseUrl: string;
  /** Per-request timeout in milliseconds (long-polls add their wait). Default 15 s. */
  timeoutMs?: number;
  /** A fetch implementation (default: the global one). */
  fetch?: typeof fetch;
  /**
   * The server's creation token (its PAIRGATE_GRANTS_CREATE_TOKEN), sent with `createGrant` only,
   * for a server that requires one.
   */
  createToken?: string;
}

/**
 * The typed client of a pairgate server, used by the CLI, the tests and third parties. Errors are
 * PairgateApiError with the server's machine code.
 */
export class PairgateClient {
  readonly baseUrl: string;
  private readonly timeoutMs: number;
  private readonly fetchImpl: typeof fetch;
  private readonly createToken: string | undefined;

  constructor(options: ClientOptions) {
    this.baseUrl = options.baseUrl.replace(/\/+$/, '');
    this.timeoutMs = options.timeoutMs ?? 15_000;
    this.fetchImpl = options.fetch ?? fetch;
    this.createToken = options.createToken || undefined;
  }

  /**
   * Sends a request and parses a JSON answer; throws PairgateApiError on a non-2xx answer,
   * `network_error` when no whole answer came (none, or one cut or stalled halfway) within the
   * timeout, `aborted` when `signal` cancelled it.
   */
  async request<T>(method: string, path: string, body?: unknown, extraTimeoutMs = 0, headers: Record<string, string> = {}, signal?: AbortSignal): Promise<T> {
    return callJson<T>({
      origin: this.baseUrl,
      url: `${this.baseUrl}${path}`,
      method,
      headers: { accept: 'application/json', ...(body === undefined ? {} : { 'content-type': 'application/json' }), ...headers },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      timeoutMs: this.timeoutMs + extraTimeoutMs,
      ...(signal ? { signal } : {}),
      advice: UNREACHABLE_ADVICE,
      fetch: this.fetchImpl,
    });
  }

  /** Liveness of the server. */
  health(options: CallOptions = {}): Promise<{ status: string }> {
    return this.request('GET', '/healthz', undefined, 0, {}, options.signal);
  }

  /** Creates a grant for a person to approve by its code. */
  createGrant(input: { label: string; ttl?: number; data?: Record<string, string> }, options: CallOptions = {}): Promise<CreatedGrant> {
    return this.request('POST', '/api/v1/grants', input, 0, this.createToken ? { authorization: `Bearer ${this.createToken}` } : {}, options.signal);
  }

  /**
   * Reads a grant; with `waitSeconds`, answers when it changes past `since` (or its current
   * version), or when the wait ends unchanged (the server holds at most its PAIRGATE_WAIT_MAX_SECONDS).
   */
  getGrant(id: string, options: { waitSeconds?: number; since?: number } & CallOptions = {}): Promise<GrantView> {
    const query = new URLSearchParams();
    const wait = options.waitSeconds ? waitParameter(options.waitSeconds) : undefined;
    if (wait) query.set('wait', wait);
    if (options.since !== undefined) query.set('since', String(options.since));
    const suffix = query.size ? `?${query}` : '';
    // Whole milliseconds: a timer refuses a fraction (a wait of 2/3 s).
    return this.request('GET', `/api/v1/grants/${encodeURIComponent(id)}${suffix}`, undefined, Math.ceil(Number(wait ?? 0) * 1000), {}, options.signal);
  }

  /**
   * Waits (by long-poll) until the grant is decided, expired or `maxSeconds` passed; returns its last
   * view. Without `maxSeconds`, it waits as long as the grant can live (its lifetime by the
   * server's clock, so a client clock that is off does not cut it short). `onChange` is told of
   * every view that differs from the one before. A long-poll answered at once with nothing changed
   * (a proxy dropping `wait`) is sent again only after a pause, 1 s doubling up to 15 s, never in a
   * tight loop (the same pacing as the support SDK's `waitForState`). A server that goes away
   * meanwhile (restarting, or a node behind a load balancer stopping: no answer, 502, 503, 504),
   * or that says to come back (408, 429: the rate limit), is asked again after the same pauses, or
   * its Retry-After when above 0, until the deadline; `onRetry` is told of each such failure, so a person
   * waiting is not left wondering. An aborted `signal` ends the
   * wait at once, in a long-poll or a pause, with PairgateApiError code `aborted`.
   */
  waitForDecision(id: string, options?: WaitForDecisionOptions): Promise<GrantView>;
  /** The same with the options as arguments (no `signal`). */
  waitForDecision(id: string, maxSeconds?: number, onChange?: (view: GrantView) => void, onRetry?: (error: PairgateApiError, pauseMs: number) => void): Promise<GrantView>;
  async waitForDecision(
    id: string,
    optionsOrMaxSeconds?: WaitForDecisionOptions | number,
    onChangeArgument?: (view: GrantView) => void,
    onRetryArgument?: (error: PairgateApiError, pauseMs: number) => void,
  ): Promise<GrantView> {
    const options: WaitForDecisionOptions =
      typeof optionsOrMaxSeconds === 'object' ? optionsOrMaxSeconds : { maxSeconds: optionsOrMaxSeconds, onChange: onChangeArgument, onRetry: onRetryArgument };
    const { maxSeconds, onChange, onRetry, signal } = options;
    let view = await this.getGrant(id, { signal });
    // The lifetime, not what is left of it: both dates are the server's, and an expired grant ends
    // the wait by itself (the server wakes waiters at expiry), so a little too long costs nothing.
    const seconds = maxSeconds ?? (Date.parse(view.expiresAt) - Date.parse(view.createdAt)) / 1000 + EXPIRY_MARGIN_SECONDS;
    const deadline = monotonicNow() + seconds * 1000;
    const pacer = new LongPollPacer();
    const retry = new PassingFailureRetry({ onRetry, signal, firstPauseMs: options.firstRetryPauseMs });
    while (view.state === 'pending' && monotonicNow() < deadline) {
      const askedAt = monotonicNow();
      let next: GrantView;
      try {
        next = await this.getGrant(id, { waitSeconds: longPollSeconds(deadline), since: view.version, signal });
      } catch (error) {
        if (error instanceof PairgateApiError && error.code === 'grant_not_found') return { ...view, state: 'expired' };
        await retry.pauseAfter(error, deadline);
        continue;
      }
      retry.answered();
      const changed = next.version !== view.version || next.state !== view.state;
      view = next;
      if (changed) onChange?.(view);
      if (view.state === 'pending') await pacer.after(changed, monotonicNow() - askedAt, deadline, signal);
      if (signal?.aborted) throw abortedCall(signal);
    }
    return view;
  }

  /** What a code asks. */
  lookupCode(code: string, options: CallOptions = {}): Promise<CodeView> {
    return this.request('GET', `/api/v1/codes/${encodeURIComponent(code)}`, undefined, 0, {}, options.signal);
  }

  /** Approves the request a code names. */
  approveCode(code: string, note?: string, options: CallOptions = {}): Promise<GrantView> {
    return this.request('POST', `/api/v1/codes/${encodeURIComponent(code)}/approve`, note === undefined ? {} : { note }, 0, {}, options.signal);
  }

  /** Refuses the request a code names. */
  refuseCode(code: string, note?: string, options: CallOptions = {}): Promise<GrantView> {
    return this.request('POST', `/api/v1/codes/${encodeURIComponent(code)}/refuse`, note === undefined ? {} : { note }, 0, {}, options.signal);
  }

  /** Redeems an approved grant with its secret; works once. */
  redeem(id: string, secret: string, options: CallOptions = {}): Promise<{ id: string; state: 'redeemed'; approvedBy: string; note: string | null }> {
    return this.request('POST', `/api/v1/grants/${encodeURIComponent(id)}/redeem`, { secret }, 0, {}, options.signal);
  }
}
