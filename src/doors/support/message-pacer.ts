import type { RawData, WebSocket } from 'ws';

/** Messages waiting on one socket beyond which the server stops reading it. */
const PAUSE_AT = 8;

/** How fast one socket's messages are handled. */
export interface PacerLimits {
  /** Messages a second, sustained. */
  perSecond: number;
  /** Messages handled at once before the pace applies (a pasted block of lines). */
  burst: number;
}

/**
 * Hands the messages of one session-channel socket to `handle` one after the other (so they are
 * numbered and relayed in the order sent), at most `perSecond` a second after a `burst`.
 *
 * Messages on a socket are not HTTP requests: the per-address rate limit never sees them, and each
 * one costs writes to the store (the session log) and a broadcast. Without a pace one agent could
 * keep the store busy for every other user; without stopping to read, a client sending faster than
 * the server handles would make it queue every frame in memory. So while messages wait, the socket
 * is paused: the sender's frames then wait in its own buffers (TCP flow control), and nothing is
 * dropped. Messages still waiting when the socket closes are dropped, as if lost in flight.
 */
export class MessagePacer {
  private readonly queue: RawData[] = [];
  private tokens: number;
  // On the monotonic clock: on the wall clock, one stepped back an hour left the bucket an hour's
  // worth of tokens short, and the socket paused that hour (a step forward only refilled it).
  private refilledAt = performance.now();
  private running = false;

  constructor(
    private readonly socket: WebSocket,
    private readonly limits: PacerLimits,
    private readonly handle: (data: RawData) => Promise<void>,
    private readonly failed: (error: unknown) => void,
  ) {
    this.tokens = limits.burst;
    socket.on('message', (data) => this.push(data));
    socket.on('close', () => {
      this.queue.length = 0;
    });
  }

  private push(data: RawData): void {
    this.queue.push(data);
    if (this.queue.length >= PAUSE_AT && !this.socket.isPaused) this.socket.pause();
    if (!this.running) void this.drain();
  }

  private async drain(): Promise<void> {
    this.running = true;
    try {
      while (this.queue.length > 0) {
        const wait = this.takeToken();
        if (wait > 0) {
          await new Promise((resolve) => setTimeout(resolve, wait));
          continue;
        }
        const data = this.queue.shift()!;
        try {
          await this.handle(data);
        } catch (error) {
          this.failed(error);
        }
      }
    } finally {
      this.running = false;
      if (this.socket.isPaused && this.socket.readyState === this.socket.OPEN) this.socket.resume();
    }
  }

  /** Takes a token: 0 when there was one, else the milliseconds until the next. */
  private takeToken(): number {
    const now = performance.now();
    this.tokens = Math.min(this.limits.burst, this.tokens + ((now - this.refilledAt) * this.limits.perSecond) / 1000);
    this.refilledAt = now;
    if (this.tokens >= 1) {
      this.tokens -= 1;
      return 0;
    }
    return Math.max(1, Math.ceil(((1 - this.tokens) * 1000) / this.limits.perSecond));
  }
}
