import { mkdtempSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { findProgram } from './system.js';

describe('findProgram', () => {
  it('finds a program by name on PATH and by a path with spaces or quotes in it', () => {
    expect(findProgram('sh')).toMatch(/\/sh$/);
    const dir = mkdtempSync(join(tmpdir(), "pairgate find 'program' "));
    const path = join(dir, 'node');
    symlinkSync(process.execPath, path);
    expect(findProgram(path)).toBe(path);
    expect(findProgram(join(dir, 'absent'))).toBeUndefined();
    expect(findProgram('no-such-program-pairgate')).toBeUndefined();
  });
});
