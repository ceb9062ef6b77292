/**
 * Pacing shared by the SDK's long-poll loops (`PairgateClient.waitForDecision`,
 * `SupportOriginClient.waitForState`): a long-poll normally holds until something changes, but one
 * answered at once with nothing changed (a proxy or cache that drops `wait`, a server with a short
 * maximum) must not be sent again at once, or a wait turns into a stream of requests.
 */

/** Longest long-poll to ask for (below the usual 60 s of proxies and of the server's maximum). */
export const MAX_LONG_POLL_SECONDS = 55;
/** First pause after a long-poll answered early with nothing changed; it doubles up to the maximum. */
export const MIN_POLL_PAUSE_MS = 1_000;
/** Longest pause between two such long-polls. */
export const MAX_POLL_PAUSE_MS = 15_000;

/**
 * Resolves after `ms` (at once for 0 or less), or as soon as `signal` is aborted (its timer
 * cleared): the caller checks `signal.aborted` after it.
 */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  if (ms <= 0 || signal?.aborted) return Promise.resolve();
  return new Promise((resolve) => {
    const done = (): void => {
      clearTimeout(timer);
      signal?.removeEventListener('abort', done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal?.addEventListener('abort', done, { once: true });
  });
}

/**
 * Resolves once {@link monotonicNow} reached `until`, or at once when `signal` is aborted. A timer
 * may fire a fraction of a millisecond before the monotonic clock gets there; a pause cut at a
 * wait's deadline must end past it, or the wait sends one more long-poll (of at least 1 s) after it.
 */
export async function sleepUntil(until: number, signal?: AbortSignal): Promise<void> {
  while (!signal?.aborted && monotonicNow() < until) await sleep(Math.max(1, until - monotonicNow()), signal);
}

/**
 * `seconds` as a `?wait=` value: decimal digits, as servers take it (`invalid_wait` otherwise).
 * `String` writes a very large or very small number in exponent form (`1e+21`, `1e-7`); the
 * server bounds a wait anyway, so a day is as good as more, and a thousandth of a second the least.
 */
export function waitParameter(seconds: number): string {
  return String(Number(Math.min(Math.max(seconds, 0), 86_400).toFixed(3)));
}

/**
 * Now on the monotonic clock (ms), which the waits' deadlines and elapsed times are measured on:
 * a step of the wall clock (NTP, a suspended laptop's correction, an administrator) neither ends a
 * wait early nor stretches it.
 */
export function monotonicNow(): number {
  return performance.now();
}

/**
 * The `wait` to ask for with `deadline` ({@link monotonicNow} ms) ahead: at least 1 s, at most
 * {@link MAX_LONG_POLL_SECONDS}.
 */
export function longPollSeconds(deadline: number): number {
  return Math.max(1, Math.min(MAX_LONG_POLL_SECONDS, Math.ceil((deadline - monotonicNow()) / 1000)));
}

/**
 * Decides the pause before the next long-poll of one wait. After a change, or a long-poll the
 * server did hold for at least the current pause, the next one may go at once; after one answered
 * sooner with nothing changed, the pause (1 s, doubling up to 15 s while that lasts) is waited out
 * first, never past the wait's deadline.
 */
export class LongPollPacer {
  private pauseMs = MIN_POLL_PAUSE_MS;

  /**
   * Call after each long-poll answer with whether anything changed and how long it took (ms);
   * resolves when the next long-poll may be sent, or at once when `signal` is aborted. `deadline`
   * is the wait's end in {@link monotonicNow} ms.
   */
  async after(changed: boolean, tookMs: number, deadline: number, signal?: AbortSignal): Promise<void> {
    if (changed || tookMs >= this.pauseMs) {
      this.pauseMs = MIN_POLL_PAUSE_MS;
      return;
    }
    await sleepUntil(Math.min(monotonicNow() + this.pauseMs - tookMs, deadline), signal);
    this.pauseMs = Math.min(this.pauseMs * 2, MAX_POLL_PAUSE_MS);
  }
}
