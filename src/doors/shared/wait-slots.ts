/**
 * How many long-polls and event streams each client network holds open on this node at once.
 * A wait costs the server a socket, a subscription and a timer for up to PAIRGATE_WAIT_MAX_SECONDS;
 * the request rate limit alone would let one address hold hundreds of them (each request counts
 * once, however long it stays). Beyond `perClient`, a long-poll is answered at once instead of
 * waiting (the client polls again, within its rate limit) and a new event stream is refused.
 */
export class WaitSlots {
  private readonly held = new Map<string, number>();
  private total = 0;

  /** @param perClient open waits allowed to one client network (0 = no limit). */
  constructor(private readonly perClient: number) {}

  /** Takes a slot for `client`; returns its release, or undefined when the client holds them all. */
  take(client: string): (() => void) | undefined {
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

  /** Waits held open on this node now, every client's (`pairgate_waiting_clients`). */
  get size(): number {
    return this.total;
  }
}
