import { spawn } from 'node:child_process';
import { existsSync, readFileSync, readlinkSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { withFileLock, type LockHolder } from '../../../src/doors/lan/file-lock.js';
import { deviceDir } from './lan-fixtures.js';

/** The id of a process that has exited. */
async function deadPid(): Promise<number> {
  const child = spawn('node', ['-e', '']);
  await new Promise((resolve) => child.once('exit', resolve));
  return child.pid!;
}

const holderFile = (holder: Partial<LockHolder>) => JSON.stringify({ pid: process.pid, host: hostname(), token: 'theirs', since: new Date().toISOString(), ...holder });
const secondsAgo = (path: string, seconds: number) => {
  const then = new Date(Date.now() - seconds * 1000);
  utimesSync(path, then, then);
};

/** Runs `withFileLock` with a short wait; resolves with what `busyError` was told, or 'locked'. */
async function attempt(lockPath: string, options: { timeoutMs?: number; staleMs?: number } = {}): Promise<'locked' | { holder: LockHolder | undefined; waitedMs: number }> {
  try {
    return await withFileLock(lockPath, () => {
      expect(JSON.parse(readFileSync(lockPath, 'utf8'))).toMatchObject({ pid: process.pid, host: hostname() });
      return 'locked' as const;
    }, { timeoutMs: 200, ...options, busyError: (holder, waitedMs) => Object.assign(new Error('busy'), { told: { holder, waitedMs } }) });
  } catch (error) {
    return (error as { told: { holder: LockHolder | undefined; waitedMs: number } }).told;
  }
}

describe('file lock shared by processes', () => {
  it('holds the lock file (mode 0600) while the work runs, and removes it after, also when the work throws', async () => {
    const lock = join(deviceDir('lock'), 'x.lock');
    expect(await withFileLock(lock, () => statSync(lock).mode & 0o777, { busyError: () => new Error('busy') })).toBe(0o600);
    expect(existsSync(lock)).toBe(false);
    await expect(withFileLock(lock, () => { throw new Error('refused'); }, { busyError: () => new Error('busy') })).rejects.toThrow('refused');
    expect(existsSync(lock)).toBe(false);
  });

  it('waits for a live holder of this host and gives up after the timeout, naming it', async () => {
    const lock = join(deviceDir('lock'), 'x.lock');
    writeFileSync(lock, holderFile({}));
    const told = await attempt(lock);
    expect(told).toMatchObject({ holder: { pid: process.pid, token: 'theirs' } });
    expect((told as { waitedMs: number }).waitedMs).toBeGreaterThanOrEqual(200);
    expect(readFileSync(lock, 'utf8')).toContain('theirs'); // not ours to remove
  });

  it('takes over at once the lock of a process of this host that no longer exists', async () => {
    const lock = join(deviceDir('lock'), 'x.lock');
    writeFileSync(lock, holderFile({ pid: await deadPid() }));
    expect(await attempt(lock, { timeoutMs: 0 })).toBe('locked');
    expect(existsSync(lock)).toBe(false);
  });

  it('does not take over at once a lock of this host name from another process-id namespace (a container), where the id means another process', async () => {
    const lock = join(deviceDir('lock'), 'x.lock');
    const dead = await deadPid();
    writeFileSync(lock, holderFile({ pid: dead, pidns: 'pid:[1]' }));
    expect(await attempt(lock, { staleMs: 2000 })).toMatchObject({ holder: { pid: dead, pidns: 'pid:[1]' } });
    secondsAgo(lock, 3);
    expect(await attempt(lock, { staleMs: 2000 })).toBe('locked');
    // Of this namespace (as every lock this process takes says), or of an older pairgate that did not say: at once.
    for (const pidns of existsSync('/proc/self/ns/pid') ? [readlinkSync('/proc/self/ns/pid'), undefined] : [undefined]) {
      writeFileSync(lock, holderFile({ pid: dead, ...(pidns ? { pidns } : {}) }));
      expect(await attempt(lock, { timeoutMs: 0 })).toBe('locked');
    }
  });

  it('takes over a lock older than staleMs, whoever it names: a reused process id, another machine, no holder yet', async () => {
    for (const content of [holderFile({}), holderFile({ host: 'other-machine', pid: 1 }), '']) {
      const lock = join(deviceDir('lock'), 'x.lock');
      writeFileSync(lock, content);
      // Fresh, it is waited for (another machine's process cannot be looked up; an empty lock is being written).
      expect(await attempt(lock, { staleMs: 2000 })).not.toBe('locked');
      secondsAgo(lock, 3);
      expect(await attempt(lock, { staleMs: 2000 })).toBe('locked');
    }
  });

  it('says who holds it on another machine, and that it could not tell for an empty lock', async () => {
    const lock = join(deviceDir('lock'), 'x.lock');
    writeFileSync(lock, holderFile({ host: 'other-machine', pid: 1 }));
    expect(await attempt(lock)).toMatchObject({ holder: { host: 'other-machine', pid: 1 } });
    writeFileSync(lock, '');
    expect(await attempt(lock)).toMatchObject({ holder: undefined });
  });

  it('removes a stale lock only under the .break lock: waits while a live waiter breaks it, takes a .break left by a crash', async () => {
    const lock = join(deviceDir('lock'), 'x.lock');
    const dead = await deadPid();
    writeFileSync(lock, holderFile({ pid: dead }));
    writeFileSync(`${lock}.break`, holderFile({ token: 'breaking' }));
    expect(await attempt(lock)).toMatchObject({ holder: { pid: dead } });
    expect(readFileSync(`${lock}.break`, 'utf8')).toContain('breaking');
    writeFileSync(`${lock}.break`, holderFile({ pid: dead, token: 'breaking' }));
    expect(await attempt(lock)).toBe('locked');
    expect(existsSync(lock)).toBe(false);
    expect(existsSync(`${lock}.break`)).toBe(false);
  });

  it('does not remove a lock that is no longer its own when it lets go', async () => {
    const lock = join(deviceDir('lock'), 'x.lock');
    // As if this holder had stalled past staleMs and another process had taken the lock over.
    await withFileLock(lock, () => writeFileSync(lock, holderFile({ token: 'new holder' })), { busyError: () => new Error('busy') });
    expect(readFileSync(lock, 'utf8')).toContain('new holder');
  });
});
