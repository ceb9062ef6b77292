import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { readStraceLog } from './strace.js';

describe('readStraceLog', () => {
  it('puts a call another thread interrupted back on one line, where it began', () => {
    const path = join(mkdtempSync(join(tmpdir(), 'pairgate-strace-')), 'trace.log');
    writeFileSync(path, [
      '8949  openat(AT_FDCWD</w>, "/d/code-hash.key", O_RDONLY|O_CLOEXEC) = -1 ENOENT (No such file or directory)',
      '8949  link("/d/code-hash.key.6134500d92ad.tmp", "/d/code-hash.key" <unfinished ...>',
      '8875  write(16<anon_inode:[eventfd]>, "\\1\\0\\0\\0\\0\\0\\0\\0", 8 <unfinished ...>',
      '8874  openat(AT_FDCWD</w>, "/w/esm.mjs", O_RDONLY|O_CLOEXEC) = 19</w/esm.mjs>',
      '8949  <... link resumed>)            = 0',
      '8875  <... write resumed>)              = 8',
      '',
    ].join('\n'));
    expect(readStraceLog(path)).toEqual([
      '8949  openat(AT_FDCWD</w>, "/d/code-hash.key", O_RDONLY|O_CLOEXEC) = -1 ENOENT (No such file or directory)',
      '8949  link("/d/code-hash.key.6134500d92ad.tmp", "/d/code-hash.key")            = 0',
      '8875  write(16<anon_inode:[eventfd]>, "\\1\\0\\0\\0\\0\\0\\0\\0", 8)              = 8',
      '8874  openat(AT_FDCWD</w>, "/w/esm.mjs", O_RDONLY|O_CLOEXEC) = 19</w/esm.mjs>',
      '',
    ]);
  });
});
