import type { EphemeralStore } from '../../store/ports.js';

/** Digits of a sequence number in a log key, so that keys sort in sequence order. */
const SEQ_DIGITS = 10;

/**
 * How many of a session's latest messages the log keeps: enough for a node cut off from the bus
 * for a moment to hand on what it missed, and at most LOG_KEEP times a report's size per session.
 */
export const LOG_KEEP = 200;

/** One logged message of a session: its sequence number and what was sent. */
export interface LoggedMessage {
  seq: number;
  message: string;
}

/**
 * The messages of a session's channel (chat both ways, diagnostics reports), numbered, the latest
 * LOG_KEEP kept in the ephemeral store (never past the session's life). The message bus is fire-and-forget: a node whose
 * listening connection is down for a moment never hears what was broadcast meanwhile. With the log
 * it reads what it missed once it listens again (`since`), and the numbers let it drop what it had
 * already handed on. Ending a session deletes its log (`forget`): chat is not kept at rest longer
 * than the session lives.
 */
export class SessionLog {
  constructor(private readonly ephemeral: EphemeralStore) {}

  private static counterKey(grantId: string): string {
    return `support:log-seq|${grantId}`;
  }

  private static prefix(grantId: string): string {
    return `support:log|${grantId}|`;
  }

  private static entryKey(grantId: string, seq: number): string {
    return `${SessionLog.prefix(grantId)}${String(seq).padStart(SEQ_DIGITS, '0')}`;
  }

  /**
   * Numbers `message` and stores it for `ttlMs` (the session's time left); returns its number. The
   * message LOG_KEEP before it goes: a session's log is bounded by its latest messages, not by how
   * much was said over the session's life (a day by default, and an agent is anyone with the code).
   */
  async append(grantId: string, message: string, ttlMs: number, now: number): Promise<number> {
    const { count: seq } = await this.ephemeral.increment(SessionLog.counterKey(grantId), ttlMs, now);
    await this.ephemeral.set(SessionLog.entryKey(grantId, seq), message, ttlMs, now);
    if (seq > LOG_KEEP) await this.ephemeral.delete(SessionLog.entryKey(grantId, seq - LOG_KEEP));
    return seq;
  }

  /** The number of the last message logged so far (0 for none). */
  async last(grantId: string, now: number): Promise<number> {
    return Number((await this.ephemeral.get(SessionLog.counterKey(grantId), now)) ?? 0);
  }

  /** The messages numbered above `after`, in order. */
  async since(grantId: string, after: number, now: number): Promise<LoggedMessage[]> {
    const prefix = SessionLog.prefix(grantId);
    return (await this.ephemeral.list(prefix, now))
      .map((entry) => ({ seq: Number(entry.key.slice(prefix.length)), message: entry.value }))
      .filter((entry) => entry.seq > after)
      .sort((a, b) => a.seq - b.seq);
  }

  /** Removes the one message `seq` of session `grantId`'s log (logged for a session its id no longer names). */
  async drop(grantId: string, seq: number): Promise<void> {
    await this.ephemeral.delete(SessionLog.entryKey(grantId, seq));
  }

  /** Deletes the session's log. */
  async forget(grantId: string, now: number): Promise<void> {
    for (const entry of await this.ephemeral.list(SessionLog.prefix(grantId), now)) await this.ephemeral.delete(entry.key);
    await this.ephemeral.delete(SessionLog.counterKey(grantId));
  }
}

/**
 * Which message numbers a node has handed on for one session: every number up to `floor`, plus
 * those above it in `above`. Messages of different nodes may arrive out of order, so a gap is not
 * a loss until the node knows it missed something (after a reconnect).
 */
export class DeliveredSeqs {
  private readonly above = new Set<number>();

  /** @param floor numbers up to this one count as handed on (history from before the node joined). */
  constructor(private floor: number) {}

  /** Records `seq`; false when it was handed on already (or is history). */
  mark(seq: number): boolean {
    if (seq <= this.floor || this.above.has(seq)) return false;
    this.above.add(seq);
    while (this.above.delete(this.floor + 1)) this.floor++;
    return true;
  }

  /** Numbers at or below this one are all handed on: a replay reads what comes after. */
  get contiguous(): number {
    return this.floor;
  }

  /** Raises the floor to `seq` when the node learns that earlier numbers are history. */
  skipTo(seq: number): void {
    if (seq <= this.floor) return;
    for (const held of this.above) if (held <= seq) this.above.delete(held);
    this.floor = seq;
    while (this.above.delete(this.floor + 1)) this.floor++;
  }
}
