import { closeSync, fsyncSync, lstatSync, mkdtempSync, openSync, readFileSync, readdirSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { createFileDurably, replaceFileDurably, replaceFilesDurably, syncFolder } from '../../src/server/durable-file.js';

/**
 * The shared durable write (the order of its system calls is shown on the real commands in
 * test/e2e/durable-writes.test.ts): what it promises besides, on real files.
 */

const fresh = () => mkdtempSync(join(tmpdir(), 'pairgate-durable-file-'));

describe('syncFolder', () => {
  it('passes over a file system that cannot sync a folder (EINVAL: /proc), and throws a real error', () => {
    // The premise, on this machine: fsync of /proc's folder is refused with EINVAL.
    const fd = openSync('/proc', 'r');
    try {
      expect(() => fsyncSync(fd)).toThrow(expect.objectContaining({ code: 'EINVAL' }));
    } finally {
      closeSync(fd);
    }
    expect(() => syncFolder('/proc')).not.toThrow();
    expect(() => syncFolder(join(fresh(), 'missing'))).toThrow(expect.objectContaining({ code: 'ENOENT' }));
  });
});

describe('replaceFileDurably', () => {
  it('replaces a file with a wider mode and a planted link, never writing through them; leaves no temporary file', () => {
    const dir = fresh();
    writeFileSync(join(dir, 'wide'), 'old', { mode: 0o644 });
    replaceFileDurably(join(dir, 'wide'), 'new');
    expect(readFileSync(join(dir, 'wide'), 'utf8')).toBe('new');
    expect(statSync(join(dir, 'wide')).mode & 0o777).toBe(0o600);
    writeFileSync(join(dir, 'target'), 'theirs');
    symlinkSync(join(dir, 'target'), join(dir, 'planted'));
    replaceFileDurably(join(dir, 'planted'), 'mine');
    expect(lstatSync(join(dir, 'planted')).isFile()).toBe(true);
    expect(readFileSync(join(dir, 'target'), 'utf8')).toBe('theirs');
    expect(readdirSync(dir).sort()).toEqual(['planted', 'target', 'wide']);
  });

  it('a set of files whose last cannot be written replaces none of them and leaves no temporary file', () => {
    const dir = fresh();
    writeFileSync(join(dir, 'a'), 'old a');
    expect(() => replaceFilesDurably([{ path: join(dir, 'a'), data: 'new a' }, { path: join(dir, 'missing', 'b'), data: 'b' }])).toThrow(expect.objectContaining({ code: 'ENOENT' }));
    expect(readFileSync(join(dir, 'a'), 'utf8')).toBe('old a');
    expect(readdirSync(dir)).toEqual(['a']);
  });
});

describe('createFileDurably', () => {
  it('creates once with its mode; a second creation is false and leaves the first as it was, with no temporary file', () => {
    const dir = fresh();
    expect(createFileDurably(join(dir, 'key'), 'first', 0o600)).toBe(true);
    expect(createFileDurably(join(dir, 'key'), 'second', 0o600)).toBe(false);
    expect(readFileSync(join(dir, 'key'), 'utf8')).toBe('first');
    expect(statSync(join(dir, 'key')).mode & 0o777).toBe(0o600);
    expect(readdirSync(dir)).toEqual(['key']);
  });
});
