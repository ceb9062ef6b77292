import { randomBytes } from 'node:crypto';
import { closeSync, fstatSync, openSync, readFileSync, readlinkSync, unlinkSync, type Stats } from 'node:fs';
import { hostname } from 'node:os';
import { setTimeout as sleep } from 'node:timers/promises';
import { createExclusive } from './private-file.js';

/**
 * A lock shared by processes over a small file in the config folder, so that two `pairgate`
 * commands changing the same file (`peers.json`) take turns instead of each writing back what it
 * read before the other's change.
 *
 * Why not a library: proper-lockfile, the usual choice, takes over a stale lock by removing it and
 * creating its own, and two waiters that judged the same lock stale can both end up holding it (one
 * removes the lock the other just made; its issue #121, open); it has had no release since 2021.
 * Node has no flock(2). So, the classic way, with its limits said here:
 *
 * - The lock is a file created with O_CREAT|O_EXCL (`wx`, mode 0600): exactly one creator
 *   succeeds, and a link planted at its name is not followed. It names its holder: process id,
 *   host name, a random token, the time.
 * - Its holder keeps it only while `work` runs, and `work` is synchronous (a read, a change, an
 *   atomic rename: milliseconds), so a lock that is old was left behind by a holder that died.
 * - Stale: the holder is a process of this host that no longer exists (so a crashed command's lock
 *   is taken over at once), or the lock is older than `staleMs` (a holder on another machine
 *   sharing the folder, or a process id already reused by another program). "This host" is the
 *   host name and, on Linux, the process-id namespace (`pidns`): a container started with the
 *   host's network has its host name but numbers its processes apart, so there a live holder's id
 *   looks gone (ESRCH); such a lock waits out its age instead.
 * - A stale lock is removed under a second lock, `<lock>.break`, after checking again that it is
 *   still the same lock (same token, or same inode and time when it had no content yet), so two
 *   waiters that judged it stale at once cannot remove each other's new lock. A `.break` lock is
 *   held for two system calls; one left by a crash is removed by the same staleness rule.
 * - Released only if the lock file still holds this holder's token.
 *
 * What remains: a holder that stalls longer than `staleMs` inside `work` (stopped with SIGSTOP, a
 * disk that hangs) can be taken over while it still writes, and two waiters that both find a
 * `.break` left by a crash can break it together; either needs a stall or a crash in a window of
 * microseconds to milliseconds, and costs at worst the lost update this lock prevents, never a
 * half-written file (writes are atomic renames).
 */

/** Who holds a lock, as its file says. */
export interface LockHolder {
  pid: number;
  host: string;
  token: string;
  /** When it was taken (ISO 8601). */
  since: string;
  /** Linux: the holder's process-id namespace (`pid:[4026531836]`), in which `pid` means something. */
  pidns?: string;
}

/** How long to wait, when to take over, and what to throw when the wait is over. */
export interface FileLockOptions {
  /** How long to wait for the lock before giving up; default 5 s. */
  timeoutMs?: number;
  /** Age after which a lock whose holder cannot be seen alive on this host is taken over; default 10 s. */
  staleMs?: number;
  /** The error thrown when the lock was not free within `timeoutMs`; `holder` is undefined when its file could not be read. */
  busyError: (holder: LockHolder | undefined, waitedMs: number) => Error;
}

/** Default wait for a lock: a person who runs two commands at once waits a few seconds at most. */
export const DEFAULT_LOCK_TIMEOUT_MS = 5000;
/** Default age after which a lock is stale: far longer than any holder keeps it (milliseconds). */
export const DEFAULT_STALE_LOCK_MS = 10_000;

/** A lock file as seen once: what identifies it, and who it says holds it. */
interface SeenLock {
  identity: string;
  mtimeMs: number;
  holder: LockHolder | undefined;
}

/**
 * Runs `work` while holding the lock `lockPath` (a file next to what `work` changes), waiting for
 * it up to `timeoutMs` and taking over a stale one (see above). `work` must be synchronous: the lock
 * is held only as long as it runs. Throws `busyError(...)` when the lock stays held, and what
 * creating the lock file throws when the folder cannot be written.
 */
export async function withFileLock<T>(lockPath: string, work: () => T, options: FileLockOptions): Promise<T> {
  const timeoutMs = options.timeoutMs ?? DEFAULT_LOCK_TIMEOUT_MS;
  const staleMs = options.staleMs ?? DEFAULT_STALE_LOCK_MS;
  const me = newHolder();
  // The wait is elapsed time (monotonic): on the wall clock, one stepped forward gave up at once,
  // and one stepped back kept a command waiting the step's length. A lock's age stays the wall
  // clock's: a file's time is all another process leaves.
  const started = performance.now();
  while (!tryCreate(lockPath, me)) {
    // A lock released meanwhile, or stale and removed just now, is tried again at once: each of
    // those is someone's progress, so this never spins; the wait ends only while a lock is held.
    const seen = inspect(lockPath);
    if (seen === undefined) continue;
    if (isStale(seen, staleMs) && breakStale(lockPath, seen, staleMs)) continue;
    const waited = Math.round(performance.now() - started);
    if (waited >= timeoutMs) throw options.busyError(seen.holder, waited);
    // Jitter, so waiters woken together do not all try in the same instant again.
    await sleep(Math.min(5 + Math.random() * 20, Math.max(1, timeoutMs - waited)));
  }
  try {
    return work();
  } finally {
    release(lockPath, me.token);
  }
}

/** This process, as a lock file names it. */
function newHolder(): LockHolder {
  const pidns = ownPidNamespace();
  return { pid: process.pid, host: hostname(), token: randomBytes(12).toString('base64url'), since: new Date().toISOString(), ...(pidns ? { pidns } : {}) };
}

let pidNamespace: string | null | undefined;

/** This process's pid namespace on Linux (read once); undefined where there is none to read. */
function ownPidNamespace(): string | undefined {
  if (pidNamespace === undefined) {
    try {
      pidNamespace = readlinkSync('/proc/self/ns/pid');
    } catch {
      pidNamespace = null; // not Linux, or no /proc: the host name alone says "this host"
    }
  }
  return pidNamespace ?? undefined;
}

/**
 * Creates the lock file naming `holder`; false when a lock is already there. One that names no
 * holder (a full disk) would only wait out its age, so a failed write takes it back at once.
 */
function tryCreate(path: string, holder: LockHolder): boolean {
  return createExclusive(path, JSON.stringify(holder));
}

/** The lock at `path` as it is now, or undefined when there is none. */
function inspect(path: string): SeenLock | undefined {
  let fd: number;
  try {
    fd = openSync(path, 'r');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
  let stat: Stats;
  let text: string;
  try {
    // One open file for both, so the time and the content are of the same lock.
    stat = fstatSync(fd);
    text = readFileSync(fd, 'utf8');
  } finally {
    closeSync(fd);
  }
  // Empty between its creation and the write of its content, or damaged: judged by age alone.
  const holder = parseHolder(text);
  return { identity: `${stat.ino}:${stat.mtimeMs}:${holder?.token ?? ''}`, mtimeMs: stat.mtimeMs, holder };
}

function parseHolder(text: string): LockHolder | undefined {
  try {
    const value = JSON.parse(text) as Partial<LockHolder> | null;
    if (value && Number.isSafeInteger(value.pid) && typeof value.host === 'string' && typeof value.token === 'string' && typeof value.since === 'string'
      && (value.pidns === undefined || typeof value.pidns === 'string')) return value as LockHolder;
  } catch {
    // Not JSON: no holder to name.
  }
  return undefined;
}

/** True when the lock's holder is gone (see the module comment for the rule). */
function isStale(seen: SeenLock, staleMs: number): boolean {
  const { holder } = seen;
  // A lock without pidns (an older pairgate, or no /proc) is taken to be of this namespace, as before.
  const samePidNamespace = holder?.pidns === undefined || holder.pidns === ownPidNamespace();
  if (holder && holder.host === hostname() && samePidNamespace && !processExists(holder.pid)) return true;
  // Either way: a lock "from the future" by that much means the clock moved, not a live holder.
  return Math.abs(Date.now() - seen.mtimeMs) > staleMs;
}

function processExists(pid: number): boolean {
  if (pid === process.pid) return true;
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    // EPERM: it exists, but is another user's.
    return (error as NodeJS.ErrnoException).code !== 'ESRCH';
  }
}

/**
 * Removes the stale lock `seen` if it is still the lock at `path`, under the `.break` lock so that
 * no other waiter removes a lock made meanwhile. True when the caller should try to lock at once.
 */
function breakStale(path: string, seen: SeenLock, staleMs: number): boolean {
  const breakPath = `${path}.break`;
  const me = newHolder();
  if (!tryCreate(breakPath, me)) {
    const breaker = inspect(breakPath);
    if (breaker === undefined) return true;
    if (isStale(breaker, staleMs)) {
      unlinkIfPresent(breakPath);
      return true;
    }
    return false; // another waiter is breaking it: wait and look again
  }
  try {
    if (inspect(path)?.identity === seen.identity) unlinkIfPresent(path);
  } finally {
    release(breakPath, me.token);
  }
  return true;
}

/** Removes the lock at `path` if it is still the one `token` took (not taken over meanwhile). */
function release(path: string, token: string): void {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch {
    return; // gone: taken over as stale and released by its new holder
  }
  if (parseHolder(text)?.token === token) unlinkIfPresent(path);
}

function unlinkIfPresent(path: string): void {
  try {
    unlinkSync(path);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
  }
}
