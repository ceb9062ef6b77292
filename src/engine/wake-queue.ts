/**
 * Waiters woken in one turn of the event loop, at most: the rest wait for the next turns, with the
 * server's I/O in between. With the embedded store a waiter woken reads the grant and writes its
 * answer (a long-poll's, an event stream's) in the same turn, some hundred microseconds each:
 * 5,000 long-polls on one grant, woken together by its approval, held the event loop for about a
 * second, and every other request of the node waited that long (a client may hold 100 waits and
 * networks are cheap). With Redis or PostgreSQL the read is a round trip, and the answers of
 * several turns' wake-ups may arrive, and be written, together: the bound is looser there (a few
 * hundred in one stretch measured), still far from all at once.
 */
export const WAKES_PER_TURN = 128;

/** Wake-ups run after which the queue's array may be cut (see `nextTurn`). */
const COMPACT_AFTER = 1_024;

/** What takes the place of a wake-up that ran. */
const NOTHING = (): void => undefined;

/**
 * Runs wake-ups in turns of at most `perTurn`: the first ones of a turn at once, the others queued
 * in order and run `perTurn` at a time in later turns (`setImmediate`, after the loop's I/O). Only
 * for wake-ups that may run late without harm: a waiter re-reads the grant when it runs, so it
 * answers with whatever the grant is by then. One queue for every grant, first come first served:
 * a waiter of another grant approved just after one with thousands of waiters is answered after
 * them (tens of milliseconds per thousand), as it was before, when all ran in one stretch.
 */
export class WakeQueue {
  private ranThisTurn = 0;
  private readonly queued: (() => void)[] = [];
  /** Index of the next queued wake-up (the array is cut once drained, not shifted each time). */
  private next = 0;
  private turnEnd: NodeJS.Immediate | undefined;

  constructor(private readonly perTurn: number = WAKES_PER_TURN) {}

  /** Runs `wake` now when this turn has room and nothing waits before it; otherwise queues it. */
  run(wake: () => void): void {
    if (this.ranThisTurn < this.perTurn && this.next === this.queued.length) {
      this.ranThisTurn++;
      this.endTurnSoon();
      wake();
      return;
    }
    this.queued.push(wake);
    this.endTurnSoon();
  }

  /** How many wake-ups wait for a later turn. */
  get waiting(): number {
    return this.queued.length - this.next;
  }

  /** Length of the array behind the queue, run wake-ups not yet cut from its front included (for tests). */
  get held(): number {
    return this.queued.length;
  }

  /** At the end of this turn, the count starts again and the next queued wake-ups run. */
  private endTurnSoon(): void {
    if (this.turnEnd) return;
    this.turnEnd = setImmediate(() => this.nextTurn());
  }

  private nextTurn(): void {
    this.turnEnd = undefined;
    this.ranThisTurn = 0;
    const until = Math.min(this.queued.length, this.next + this.perTurn);
    while (this.next < until) {
      const wake = this.queued[this.next]!;
      // Let go of what ran: a queue never quite drained (a steady load) kept every closure, each
      // holding its wait's state.
      this.queued[this.next] = NOTHING;
      this.next++;
      this.ranThisTurn++;
      try {
        wake();
      } catch {
        // A wake-up only resolves a promise; one that throws must not keep the others waiting.
      }
    }
    if (this.next === this.queued.length) {
      this.queued.length = 0;
      this.next = 0;
    } else if (this.next >= COMPACT_AFTER && this.next * 2 >= this.queued.length) {
      // The array's front, all run, cut once it is most of it: the array stays within twice what waits.
      this.queued.splice(0, this.next);
      this.next = 0;
    }
    // Queued ones left, or this turn's count to start again: either way, another turn's end.
    if (this.waiting > 0 || this.ranThisTurn > 0) this.endTurnSoon();
  }
}
