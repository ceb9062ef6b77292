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

/** Wake-ups run after which a lane's array may be cut (see `takeFrom`). */
const COMPACT_AFTER = 1_024;

/** What takes the place of a wake-up that ran. */
const NOTHING = (): void => undefined;

/** The wake-ups queued for one key (one grant's waiters), in order. */
interface Lane {
  wakes: (() => void)[];
  /** Index of the next wake-up (the array is cut once mostly run, not shifted each time). */
  next: number;
}

/**
 * Runs wake-ups in turns of at most `perTurn`: the first ones of a turn at once, the others queued
 * and run `perTurn` at a time in later turns (`setImmediate`, after the loop's I/O). Only for
 * wake-ups that may run late without harm: a waiter re-reads the grant when it runs, so it answers
 * with whatever the grant is by then.
 *
 * Queued wake-ups are taken in turn from each key (a grant), one at a time, in order within a key:
 * a grant with thousands of waiters (a client may open them on its own grant and approve it) gets
 * its share of each turn, and a grant with one waiter is answered in the next turn, not after the
 * thousands (tens of milliseconds per thousand).
 */
export class WakeQueue {
  private ranThisTurn = 0;
  /** Lanes with wake-ups waiting, by key. */
  private readonly lanes = new Map<string, Lane>();
  /**
   * The keys of those lanes in the order they are served next (a lane served goes last), from
   * `head` on: an array, not the map's own order, where taking the first entry of a map that was
   * deleted from and added to walks over every deleted slot (a second for 100,000 lanes).
   */
  private readonly order: string[] = [];
  private head = 0;
  private queuedCount = 0;
  private turnEnd: NodeJS.Immediate | undefined;

  constructor(private readonly perTurn: number = WAKES_PER_TURN) {}

  /**
   * Runs `wake` now when this turn has room and nothing waits; otherwise queues it behind the
   * wake-ups of the same `key` (the grant it wakes a waiter of).
   */
  run(wake: () => void, key = ''): void {
    if (this.ranThisTurn < this.perTurn && this.queuedCount === 0) {
      this.ranThisTurn++;
      this.endTurnSoon();
      wake();
      return;
    }
    const lane = this.lanes.get(key);
    if (lane) lane.wakes.push(wake);
    else {
      this.lanes.set(key, { wakes: [wake], next: 0 });
      this.order.push(key);
    }
    this.queuedCount++;
    this.endTurnSoon();
  }

  /** How many wake-ups wait for a later turn. */
  get waiting(): number {
    return this.queuedCount;
  }

  /** Length of the arrays behind the queue, run wake-ups and lanes not yet cut from their fronts included (for tests). */
  get held(): number {
    let held = this.order.length;
    for (const lane of this.lanes.values()) held += lane.wakes.length;
    return held;
  }

  /** At the end of this turn, the count starts again and the next queued wake-ups run. */
  private endTurnSoon(): void {
    if (this.turnEnd) return;
    this.turnEnd = setImmediate(() => this.nextTurn());
  }

  private nextTurn(): void {
    this.turnEnd = undefined;
    this.ranThisTurn = 0;
    while (this.ranThisTurn < this.perTurn && this.queuedCount > 0) {
      // The lane first in line gives one wake-up and goes to the back, or away once empty.
      const key = this.order[this.head]!;
      this.head++;
      const lane = this.lanes.get(key)!;
      const wake = this.takeFrom(lane);
      if (lane.next < lane.wakes.length) this.order.push(key);
      else this.lanes.delete(key);
      this.ranThisTurn++;
      try {
        wake();
      } catch {
        // A wake-up only resolves a promise; one that throws must not keep the others waiting.
      }
    }
    this.cutOrder();
    // Queued ones left, or this turn's count to start again: either way, another turn's end.
    if (this.queuedCount > 0 || this.ranThisTurn > 0) this.endTurnSoon();
  }

  /** Cuts the served keys from the front of `order` once they are most of it, or all of it. */
  private cutOrder(): void {
    if (this.head === this.order.length) {
      this.order.length = 0;
      this.head = 0;
    } else if (this.head >= COMPACT_AFTER && this.head * 2 >= this.order.length) {
      this.order.splice(0, this.head);
      this.head = 0;
    }
  }

  /** The next wake-up of `lane`, let go of in its array (a lane never quite drained would keep every closure). */
  private takeFrom(lane: Lane): () => void {
    const wake = lane.wakes[lane.next]!;
    lane.wakes[lane.next] = NOTHING;
    lane.next++;
    this.queuedCount--;
    if (lane.next >= COMPACT_AFTER && lane.next * 2 >= lane.wakes.length) {
      // The array's front, all run, cut once it is most of it: the array stays within twice what waits.
      lane.wakes.splice(0, lane.next);
      lane.next = 0;
    }
    return wake;
  }
}
