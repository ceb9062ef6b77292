import { abortedCall, PairgateApiError } from './errors.js';
import { MAX_POLL_PAUSE_MS, MIN_POLL_PAUSE_MS, monotonicNow, sleepUntil } from './long-poll.js';

/**
 * Riding out passing failures in the SDK's long waits (`PairgateClient.waitForDecision`,
 * `SupportOriginClient.waitForState`): a wait lasts minutes, and a server restarting or a node behind
 * a load balancer stopping meanwhile says nothing about what is awaited. Both waits pause and ask
 * again the same way, so a script or a person waiting is not failed by a rolling restart.
 */

/** Told of each passing failure of a wait and of the pause (ms) before it asks again. */
export type RetryListener = (error: PairgateApiError, pauseMs: number) => void;

/** How a wait rides out passing failures. */
export interface PassingFailureOptions {
  /** Told of each passing failure and the pause before asking again. */
  onRetry?: RetryListener | undefined;
  /** The first pause when the failure gives no Retry-After (ms); it doubles up to 15 s. Default 1 s. */
  firstPauseMs?: number | undefined;
  /** Ends a pause at once (the wait then rejects with code `aborted`). */
  signal?: AbortSignal | undefined;
}

/**
 * A failure that says nothing about what is awaited, only that the server is away or busy for now:
 * no (whole) answer, a proxy's or a stopping node's 502, 503, 504, or a 408 or 429 (the rate limit
 * counts every request of the address, so a service waiting on many things meets it). A refusal
 * about the request itself (401, 404 `session_not_found`, ...) and a call its caller cancelled are not.
 */
export function isPassingFailure(error: unknown): error is PairgateApiError {
  return error instanceof PairgateApiError && error.retryable;
}

/**
 * The pauses of one wait between a passing failure and the next attempt: the failure's Retry-After
 * when it has one above 0, else the first pause doubling up to 15 s while failures follow each
 * other (back to the first once an attempt is answered); never past the wait's deadline.
 */
export class PassingFailureRetry {
  private readonly firstPauseMs: number;
  private readonly maxPauseMs: number;
  private nextPauseMs: number;

  constructor(private readonly options: PassingFailureOptions = {}) {
    // A negative or NaN pause would turn the retries into a tight loop.
    this.firstPauseMs = Number.isFinite(options.firstPauseMs) && options.firstPauseMs! > 0 ? options.firstPauseMs! : MIN_POLL_PAUSE_MS;
    this.maxPauseMs = Math.max(MAX_POLL_PAUSE_MS, this.firstPauseMs);
    this.nextPauseMs = this.firstPauseMs;
  }

  /**
   * Call with what an attempt threw. Rethrows it unless it is a passing failure; otherwise tells
   * `onRetry` and resolves after the pause (cut at `deadline`, in {@link monotonicNow} ms), or
   * rejects with code `aborted` as soon as the signal is aborted.
   */
  async pauseAfter(error: unknown, deadline: number): Promise<void> {
    if (!isPassingFailure(error)) throw error;
    const { signal, onRetry } = this.options;
    if (signal?.aborted) throw abortedCall(signal);
    // A Retry-After of 0 (or an HTTP date already past) says "now": honoured as it stands, each
    // repeat of it would ask again with no pause at all, so it counts as no Retry-After.
    const retryAfterMs = (error.retryAfterSeconds ?? 0) * 1000;
    const wanted = retryAfterMs > 0 ? retryAfterMs : this.nextPauseMs;
    const pauseMs = Math.min(wanted, Math.max(0, deadline - monotonicNow()));
    onRetry?.(error, pauseMs);
    await sleepUntil(monotonicNow() + pauseMs, signal);
    if (signal?.aborted) throw abortedCall(signal);
    this.nextPauseMs = Math.min(this.nextPauseMs * 2, this.maxPauseMs);
  }

  /** Call after an attempt was answered: the next failure's pause starts from the first again. */
  answered(): void {
    this.nextPauseMs = this.firstPauseMs;
  }
}
