import { readdirSync, readFileSync } from 'node:fs';
import type { Server } from 'node:net';
import { RepeatedLines } from './repeated-lines.js';

/**
 * A cap on the HTTP listener's connections, under the process's open-file limit. Without one, a
 * server out of file descriptors (EMFILE) had libuv accept each new connection and close it at once
 * (its reserve-descriptor trick), silently: clients saw resets, the operator no word in the log,
 * and nothing was left for the rest of the process (a backup's copy, a mail, a store's new socket).
 * With `server.maxConnections` below the limit, Node closes a connection beyond it itself and says
 * so (`drop`), which is logged, and the descriptors kept back stay free for the rest.
 */

/** Descriptors kept back for everything but the listener's connections, at the least. */
const MIN_RESERVE = 32;

/** How often, at most, refused connections are logged while they go on: once per minute. */
export const DROP_LOG_INTERVAL_MS = 60_000;

/** The part of what remains kept back: a sixteenth. */
const RESERVE_SHARE = 16;

/**
 * This process's soft limit on open files, read from `/proc/self/limits` (Linux): Node raises it
 * to the hard limit as it starts, so it is the hard limit of the shell or unit (`ulimit -Hn`,
 * systemd's `LimitNOFILE=`), not what `ulimit -n` shows;
 * undefined where that cannot be read or says unlimited.
 */
export function openFileLimit(limits: () => string = () => readFileSync('/proc/self/limits', 'utf8')): number | undefined {
  let text: string;
  try {
    text = limits();
  } catch {
    return undefined;
  }
  const match = /^Max open files\s+(\d+)\s/m.exec(text);
  return match ? Number(match[1]) : undefined;
}

/** Descriptors this process holds now (Linux: `/proc/self/fd`), or undefined where unknown. */
export function openFileCount(): number | undefined {
  try {
    return readdirSync('/proc/self/fd').length;
  } catch {
    return undefined;
  }
}

/**
 * The connections the listener may hold with `limit` descriptors in all, `openNow` of them taken
 * already (the stores, the doors' listeners, the log) and `heldByOthers` more that the rest of the
 * process may open as it runs (the DNS listeners' connections, a PostgreSQL pool growing to its
 * size): what remains, less a reserve of a sixteenth (at least 32) for the files and sockets the
 * server opens besides. At least 1.
 */
export function connectionCap(limit: number, openNow: number, heldByOthers = 0): number {
  const free = limit - openNow - heldByOthers;
  return Math.max(1, free - Math.max(MIN_RESERVE, Math.floor(free / RESERVE_SHARE)));
}

/**
 * Connections the HTTP listener keeps, at the least, when the rest of the process claims the
 * descriptors it would have (a DNS listener's cap set near the open-file limit): health checks and
 * an operator's requests still get through, and the start-up warning says what to change.
 */
export const MIN_HTTP_CONNECTIONS = 64;

/**
 * The HTTP listener's cap (`connectionCap` with `heldByOthers`), but never below
 * `MIN_HTTP_CONNECTIONS` (or what the limit leaves without the others, if less), and the warning
 * to log when the others squeezed it there: the other listeners then share what is left, each
 * still refusing beyond its own cap.
 */
export function httpConnectionCap(limit: number, openNow: number, heldByOthers: number): { cap: number; warning?: string } {
  const shared = connectionCap(limit, openNow, heldByOthers);
  if (shared >= MIN_HTTP_CONNECTIONS || heldByOthers === 0) return { cap: shared };
  const cap = Math.max(shared, Math.min(MIN_HTTP_CONNECTIONS, connectionCap(limit, openNow)));
  return {
    cap,
    warning: `the open-file limit (${limit}: the hard limit, ulimit -Hn or LimitNOFILE=) leaves the HTTP listener ${shared} connection(s) once the DNS listeners and the database pool have room for theirs (${heldByOthers} in all); it keeps ${cap}. ` +
      'Raise the limit, or lower PAIRGATE_DNS_MAX_TCP_CONNECTIONS, PAIRGATE_DNS_UPDATE_MAX_CONNECTIONS or PAIRGATE_DATABASE_POOL_SIZE.',
  };
}

/** Where the cap's refusals are told: the app's logger, or anything with its `warn`. */
export interface DropLog {
  warn(message: string): void;
}

/**
 * Caps `server`'s connections at `cap` and logs the connections refused beyond it
 * (`throttledDropLog`).
 */
export function capConnections(server: Server, cap: number, limit: number, log: DropLog, now: () => number = () => performance.now()): void {
  server.maxConnections = cap;
  const refused = throttledDropLog(
    log,
    (count) =>
      `refused ${connections(count)}: ${cap} are open, the most the open-file limit (${limit}: the hard limit, ulimit -Hn or LimitNOFILE=) leaves room for. ` +
      'Raise the limit, or lower PAIRGATE_WAITS_MAX and PAIRGATE_WAITS_PER_CLIENT (each open wait or stream holds a connection). Told at most once a minute.',
    now,
  );
  server.on('drop', refused);
}

/** "1 connection", "2 connections". */
export function connections(count: number): string {
  return `${count} connection${count === 1 ? '' : 's'}`;
}

/**
 * A function to call for each connection refused, which logs `words(count)`: the first at once,
 * then at most once per `DROP_LOG_INTERVAL_MS` with how many were refused since, never once per
 * connection (a flood would fill the log as fast as it came).
 */
export function throttledDropLog(log: DropLog, words: (count: number) => string, now: () => number = () => performance.now()): () => void {
  // RepeatedLines times it on the monotonic clock by default: a wall clock stepped back would
  // have silenced the warning for as long as the step.
  const lines = new RepeatedLines(DROP_LOG_INTERVAL_MS, now);
  return () => {
    const leftOut = lines.admit('refused');
    if (leftOut !== undefined) log.warn(words(leftOut + 1));
  };
}

/**
 * The warning to give at start-up when PAIRGATE_WAITS_MAX lets the waits alone hold more
 * connections than `cap` (0, no limit, always does): a node full of waits would refuse every other
 * connection, health checks included.
 */
export function waitsOverCapWarning(waitsMax: number, cap: number, limit: number): string | undefined {
  if (waitsMax > 0 && waitsMax < cap) return undefined;
  return `PAIRGATE_WAITS_MAX (${waitsMax === 0 ? '0, no limit' : waitsMax}) lets open waits and streams take every connection the open-file limit (${limit}) leaves room for (${cap}): ` +
    `raise the hard limit (ulimit -Hn, LimitNOFILE=), or set PAIRGATE_WAITS_MAX well below ${cap}.`;
}
