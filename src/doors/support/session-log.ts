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
 *
 * A log is the log of one session, not of its id (`logIdOf`): a session made again under the id of
 * one that ended has a log of its own, which nothing of the one before (its end deleting its log,
 * a message of it logged late) can touch.
 */
export class SessionLog {
  constructor(private readonly ephemeral: EphemeralStore) {}

  private static counterKey(logId: string): string {
    return `support:log-seq|${logId}`;
  }

  private static prefix(logId: string): string {
    return `support:log|${logId}|`;
  }

  private static entryKey(logId: string, seq: number): string {
    return `${SessionLog.prefix(logId)}${String(seq).padStart(SEQ_DIGITS, '0')}`;
  }

  /**
   * Numbers `message` and stores it for `ttlMs` (the session's time left); returns its number. The
   * message LOG_KEEP before it goes: a session's log is bounded by its latest messages, not by how
   * much was said over the session's life (a day by default, and an agent is anyone with the code).
   */
  async append(logId: string, message: string, ttlMs: number, now: number): Promise<number> {
    const { count: seq } = await this.ephemeral.increment(SessionLog.counterKey(logId), ttlMs, now);
    await this.ephemeral.set(SessionLog.entryKey(logId, seq), message, ttlMs, now);
    if (seq > LOG_KEEP) await this.ephemeral.delete(SessionLog.entryKey(logId, seq - LOG_KEEP));
    return seq;
  }

  /** The number of the last message logged so far (0 for none). */
  async last(logId: string, now: number): Promise<number> {
    return Number((await this.ephemeral.get(SessionLog.counterKey(logId), now)) ?? 0);
  }

  /** The messages numbered above `after`, in order. */
  async since(logId: string, after: number, now: number): Promise<LoggedMessage[]> {
    const prefix = SessionLog.prefix(logId);
    return (await this.ephemeral.list(prefix, now))
      .map((entry) => ({ seq: Number(entry.key.slice(prefix.length)), message: entry.value }))
      .filter((entry) => entry.seq > after)
      .sort((a, b) => a.seq - b.seq);
  }

  /** Deletes the session's log. */
  async forget(logId: string, now: number): Promise<void> {
    for (const entry of await this.ephemeral.list(SessionLog.prefix(logId), now)) await this.ephemeral.delete(entry.key);
    await this.ephemeral.delete(SessionLog.counterKey(logId));
  }
}

/**
 * The id of the log of one session: its grant id and the first 128 bits of its incarnation (the
 * mesh identity drawn at its creation, see session-channel.ts `incarnationOf`), which tell it from
 * any other session made under the same id. Every node works it out alike from the session.
 */
export function logIdOf(grantId: string, incarnation: string): string {
  return `${grantId}|${incarnation.slice(0, 32)}`;
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
