/**
 * How many long-polls and event streams each client network holds open on this node at once.
 * A wait costs the server a socket, a subscription and a timer for up to PAIRGATE_WAIT_MAX_SECONDS;
 * the request rate limit alone would let one address hold hundreds of them (each request counts
 * once, however long it stays). Beyond `perClient`, a long-poll is answered at once instead of
 * waiting (the client polls again, within its rate limit) and a new event stream is refused. The
 * same beyond `max` waits of all clients together: each holds a file descriptor, and a few hundred
 * networks at `perClient` each would otherwise take them all (then nothing else opens a socket).
 */
export class WaitSlots {
  private readonly held = new Map<string, number>();
  private total = 0;

  /**
   * @param perClient - open waits allowed to one client network (0 = no limit).
   * @param max - open waits allowed to all clients together (0 = no limit).
   */
  constructor(
    private readonly perClient: number,
    private readonly max = 0,
  ) {}

  /**
   * Takes a slot for `client`; returns its release, or undefined when the client holds all of its
   * own or the node holds `max` (`full` says which).
   */
  take(client: string): (() => void) | undefined {
    if (this.full) return undefined;
    const count = this.held.get(client) ?? 0;
    if (this.perClient > 0 && count >= this.perClient) return undefined;
    this.held.set(client, count + 1);
    this.total++;
    let released = false;
    return () => {
      if (released) return;
      released = true;
      this.total--;
      const left = (this.held.get(client) ?? 1) - 1;
      if (left <= 0) this.held.delete(client);
      else this.held.set(client, left);
    };
  }

  /** Whether the node holds `max` waits, all clients together. */
  get full(): boolean {
    return this.max > 0 && this.total >= this.max;
  }

  /** Waits held open on this node now, every client's (`pairgate_waiting_clients`). */
  get size(): number {
    return this.total;
  }
}
