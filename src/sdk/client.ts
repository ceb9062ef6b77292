import { NOT_PAIRGATE_CODE, PairgateApiError, toApiError, unreachable } from './errors.js';
import { LongPollPacer, MAX_POLL_PAUSE_MS, MIN_POLL_PAUSE_MS, longPollSeconds, sleep, waitParameter } from './long-poll.js';

/** Seconds a wait for a decision goes on past the grant's lifetime, for the server to say it expired. */
const EXPIRY_MARGIN_SECONDS = 30;

/**
 * A failure that says nothing about the grant, only that the server is away for now: no answer,
 * or a proxy's or a stopping node's 502, 503, 504. Worth asking again while waiting.
 */
function isPassing(error: PairgateApiError): boolean {
  return (error.code === 'network_error' && error.status === 0) || error.status === 502 || error.status === 503 || error.status === 504;
}

/** A grant as the generic API shows it to its creator. */
export interface GrantView {
  id: string;
  kind: string;
  state: 'pending' | 'approved' | 'refused' | 'redeemed' | 'expired';
  version: number;
  label: string;
  data: Record<string, string>;
  createdAt: string;
  expiresAt: string;
}

/** A new grant: the code to read out and the secret to redeem it with (shown once). */
export interface CreatedGrant extends GrantView {
  code: string;
  secret: string;
  waitUrl: string;
  eventsUrl: string;
}

/** What the person holding a code sees before deciding. */
export interface CodeView {
  label: string;
  data: Record<string, string>;
  state: string;
  expiresAt: string;
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

  /** Sends a request and parses a JSON answer; throws PairgateApiError on a non-2xx answer. */
  async request<T>(method: string, path: string, body?: unknown, extraTimeoutMs = 0, headers: Record<string, string> = {}): Promise<T> {
    let response: Response;
    try {
      response = await this.fetchImpl(`${this.baseUrl}${path}`, {
        method,
        headers: { accept: 'application/json', ...(body === undefined ? {} : { 'content-type': 'application/json' }), ...headers },
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
        signal: AbortSignal.timeout(this.timeoutMs + extraTimeoutMs),
        redirect: 'manual',
      });
    } catch (error) {
      throw unreachable(this.baseUrl, error, 'Check the address and that the server runs.');
    }
    if (!response.ok) throw await toApiError(response);
    try {
      return (await response.json()) as T;
    } catch {
      // A success that is not JSON: a web server or a proxy's page answered, not pairgate.
      const type = response.headers.get('content-type')?.split(';')[0] ?? 'no content type';
      throw new PairgateApiError(response.status, NOT_PAIRGATE_CODE, `${this.baseUrl} answered ${method} ${path.split('?')[0]} with ${type}, not pairgate's JSON: check that the URL is the pairgate server (or that a proxy in front of it passes requests on).`);
    }
  }

  /** Liveness of the server. */
  health(): Promise<{ status: string }> {
    return this.request('GET', '/healthz');
  }

  /** Creates a grant for a person to approve by its code. */
  createGrant(input: { label: string; ttl?: number; data?: Record<string, string> }): Promise<CreatedGrant> {
    return this.request('POST', '/api/v1/grants', input, 0, this.createToken ? { authorization: `Bearer ${this.createToken}` } : {});
  }

  /** Reads a grant; with `waitSeconds`, answers when it changes past `since` (or its current version). */
  getGrant(id: string, options: { waitSeconds?: number; since?: number } = {}): Promise<GrantView> {
    const query = new URLSearchParams();
    const wait = options.waitSeconds ? waitParameter(options.waitSeconds) : undefined;
    if (wait) query.set('wait', wait);
    if (options.since !== undefined) query.set('since', String(options.since));
    const suffix = query.size ? `?${query}` : '';
    // Whole milliseconds: a timer refuses a fraction (a wait of 2/3 s).
    return this.request('GET', `/api/v1/grants/${encodeURIComponent(id)}${suffix}`, undefined, Math.ceil(Number(wait ?? 0) * 1000));
  }

  /**
   * Waits (by long-poll) until the grant is decided, expired or `maxSeconds` passed; returns its last
   * view. Without `maxSeconds`, it waits as long as the grant can live (its lifetime by the
   * server's clock, so a client clock that is off does not cut it short). `onChange` is told of
   * every view that differs from the one before. A long-poll answered at once with nothing changed
   * (a proxy dropping `wait`) is sent again only after a pause, 1 s doubling up to 15 s, never in a
   * tight loop (the same pacing as the support SDK's `waitForState`). A server that goes away
   * meanwhile (restarting, or a node behind a load balancer stopping: no answer, 502, 503, 504)
   * is asked again after the same pauses, or its Retry-After, until the deadline; `onRetry` is told
   * of each such failure, so a person waiting is not left wondering.
   */
  async waitForDecision(
    id: string,
    maxSeconds?: number,
    onChange?: (view: GrantView) => void,
    onRetry?: (error: PairgateApiError, pauseMs: number) => void,
  ): Promise<GrantView> {
    let view = await this.getGrant(id);
    // The lifetime, not what is left of it: both dates are the server's, and an expired grant ends
    // the wait by itself (the server wakes waiters at expiry), so a little too long costs nothing.
    const seconds = maxSeconds ?? (Date.parse(view.expiresAt) - Date.parse(view.createdAt)) / 1000 + EXPIRY_MARGIN_SECONDS;
    const deadline = Date.now() + seconds * 1000;
    const pacer = new LongPollPacer();
    let retryPauseMs = MIN_POLL_PAUSE_MS;
    while (view.state === 'pending' && Date.now() < deadline) {
      const askedAt = Date.now();
      let next: GrantView;
      try {
        next = await this.getGrant(id, { waitSeconds: longPollSeconds(deadline), since: view.version });
      } catch (error) {
        if (error instanceof PairgateApiError && error.code === 'grant_not_found') return { ...view, state: 'expired' };
        if (!(error instanceof PairgateApiError) || !isPassing(error)) throw error;
        const pauseMs = Math.min(error.retryAfterSeconds !== undefined ? error.retryAfterSeconds * 1000 : retryPauseMs, Math.max(0, deadline - Date.now()));
        onRetry?.(error, pauseMs);
        await sleep(pauseMs);
        retryPauseMs = Math.min(retryPauseMs * 2, MAX_POLL_PAUSE_MS);
        continue;
      }
      retryPauseMs = MIN_POLL_PAUSE_MS;
      const changed = next.version !== view.version || next.state !== view.state;
      view = next;
      if (changed) onChange?.(view);
      if (view.state === 'pending') await pacer.after(changed, Date.now() - askedAt, deadline);
    }
    return view;
  }

  /** What a code asks. */
  lookupCode(code: string): Promise<CodeView> {
    return this.request('GET', `/api/v1/codes/${encodeURIComponent(code)}`);
  }

  /** Approves the request a code names. */
  approveCode(code: string, note?: string): Promise<GrantView> {
    return this.request('POST', `/api/v1/codes/${encodeURIComponent(code)}/approve`, note === undefined ? {} : { note });
  }

  /** Refuses the request a code names. */
  refuseCode(code: string, note?: string): Promise<GrantView> {
    return this.request('POST', `/api/v1/codes/${encodeURIComponent(code)}/refuse`, note === undefined ? {} : { note });
  }

  /** Redeems an approved grant with its secret; works once. */
  redeem(id: string, secret: string): Promise<{ id: string; state: string; approvedBy: string; note: string | null }> {
    return this.request('POST', `/api/v1/grants/${encodeURIComponent(id)}/redeem`, { secret });
  }
}
