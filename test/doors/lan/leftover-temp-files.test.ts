import { existsSync, mkdirSync, readdirSync, symlinkSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { resolveConfigDir } from '../../../src/doors/lan/config-dir.js';
import { removeLeftoverTempFiles } from '../../../src/server/durable-file.js';
import { TrustedPeerStore } from '../../../src/doors/lan/trusted-peers.js';
import { deviceDir } from './lan-fixtures.js';

const minutesAgo = (path: string, minutes: number) => {
  const then = new Date(Date.now() - minutes * 60_000);
  utimesSync(path, then, then);
};

/**
 * A config folder as a command killed between writing a temporary file and renaming it leaves it
 * (old temporary files of device.json, peers.json and the lock), with a fresh one of a live writer
 * and names that only look alike.
 */
function folderWithLeftovers(): { dir: string; leftovers: string[]; kept: string[] } {
  const dir = deviceDir('leftovers');
  const leftovers = ['device.json.0123456789ab.tmp', 'peers.json.a1b2c3d4e5f6.tmp', 'peers.json.lock.ffffffffffff.tmp'];
  for (const name of leftovers) {
    writeFileSync(join(dir, name), '{"secret":"copy"}', { mode: 0o600 });
    minutesAgo(join(dir, name), 2);
  }
  // A live writer's (written just now), and names a writer never makes, however old.
  writeFileSync(join(dir, 'peers.json.abcdefabcdef.tmp'), '{}', { mode: 0o600 });
  const lookalikes = ['peers.json.tmp', 'notes.0123456789AB.tmp', 'peers.json.0123456789ab.tmp.bak', 'peers.json.0123456789a.tmp', 'device.json'];
  for (const name of lookalikes) {
    writeFileSync(join(dir, name), 'mine', { mode: 0o600 });
    minutesAgo(join(dir, name), 10);
  }
  mkdirSync(join(dir, 'folder.0123456789ab.tmp'));
  minutesAgo(join(dir, 'folder.0123456789ab.tmp'), 10);
  symlinkSync(join(dir, 'device.json'), join(dir, 'link.0123456789ab.tmp'));
  return { dir, leftovers, kept: ['peers.json.abcdefabcdef.tmp', ...lookalikes, 'folder.0123456789ab.tmp', 'link.0123456789ab.tmp'] };
}

describe('temporary files left by a writer that died before its rename', () => {
  it('are removed when the config folder is opened: only <file>.<12 hex>.tmp regular files over a minute old', () => {
    const { dir, leftovers, kept } = folderWithLeftovers();
    expect(resolveConfigDir(dir)).toBe(dir);
    const left = readdirSync(dir);
    for (const name of leftovers) expect(left).not.toContain(name);
    expect(left.sort()).toEqual([...kept].sort());
  });

  it('are removed when peers.json is changed under its lock (the SDK never opens the folder by resolveConfigDir)', async () => {
    const { dir, leftovers, kept } = folderWithLeftovers();
    await new TrustedPeerStore(dir).save({ deviceId: 'a'.repeat(22), name: 'phone', keySha256: 'k'.repeat(43), addresses: [] });
    const left = readdirSync(dir);
    for (const name of leftovers) expect(left).not.toContain(name);
    expect(left.sort()).toEqual([...kept, 'peers.json'].sort());
  });

  it('leave a file dated in the future (a clock that moved) and a folder that cannot be listed alone', () => {
    const dir = deviceDir('leftovers');
    const future = join(dir, 'peers.json.0123456789ab.tmp');
    writeFileSync(future, '{}', { mode: 0o600 });
    const later = new Date(Date.now() + 10 * 60_000);
    utimesSync(future, later, later);
    expect(removeLeftoverTempFiles(dir)).toEqual([]);
    expect(existsSync(future)).toBe(true);
    expect(removeLeftoverTempFiles(join(dir, 'missing'))).toEqual([]);
  });
});
