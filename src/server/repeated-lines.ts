/**
 * Which of many alike log lines to write: the first of each kind in a window, and then the next
 * one after the window with how many were left out meanwhile. A store that fails fails every
 * request: at a thousand requests a second, a line with its stack for each would fill the disk the
 * logs share with the database that is full already, and hide the first line, which says what to do.
 * Timed on the monotonic clock: a wall clock stepped back must not silence the log.
 */
export class RepeatedLines {
  private readonly kinds = new Map<string, { openedAt: number; left: number }>();

  /**
   * @param windowMs - how long after a written line the same kind is left out.
   * @param now - milliseconds on a monotonic clock (`performance.now`); tests, and callers that time
   * by an injected clock, give their own. A `now` before the last line written (a wall clock stepped
   * back) ends the window at once rather than silencing the kind for as long as the step.
   */
  constructor(
    private readonly windowMs: number,
    private readonly now: () => number = () => performance.now(),
  ) {}

  /**
   * Whether to write a line of `kind` now: undefined to leave it out, else how many of its kind
   * were left out since the last one written (0 for none).
   */
  admit(kind: string): number | undefined {
    const now = this.now();
    const seen = this.kinds.get(kind);
    if (seen && now >= seen.openedAt && now - seen.openedAt < this.windowMs) {
      seen.left++;
      return undefined;
    }
    const left = seen?.left ?? 0;
    this.kinds.set(kind, { openedAt: now, left: 0 });
    return left;
  }
}
