import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { afterEach, describe, expect, it } from 'vitest';
import { ensureBuilt, failingStart, startNode } from '../helpers/node-process.js';

/**
 * A `pairgate.db` that is no SQLite database (the wrong file restored: a compressed copy, a
 * `.partial` one, anything else) or a damaged one. `serve` said only "pairgate: file is not a
 * database" and exited 1, the status of a store that may answer later, so the systemd unit started
 * it again every 2 seconds for ever. It is a file the operator replaces: exit 2, naming the file
 * and what to do, and the file left as it was.
 */

const dirs: string[] = [];
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

function folder(): string {
  const dir = mkdtempSync(join(tmpdir(), 'pairgate-not-a-db-'));
  dirs.push(dir);
  return dir;
}

describe('a data folder whose pairgate.db is not a database (real serve)', () => {
  it('a compressed copy restored as pairgate.db: names the file and what to do, exit 2, the file untouched', async () => {
    ensureBuilt();
    // A real database, compressed as a copy kept elsewhere would be, then "restored" without unpacking.
    const source = folder();
    const node = await startNode({ PAIRGATE_DATA_DIR: source });
    await node.stop();
    const dataDir = folder();
    const restored = join(dataDir, 'pairgate.db');
    writeFileSync(restored, gzipSync(readFileSync(join(source, 'pairgate.db'))));
    const before = readFileSync(restored);
    const { code, stderr } = await failingStart({ PAIRGATE_DATA_DIR: dataDir });
    expect(code, stderr).toBe(2);
    expect(stderr).toContain(`pairgate: ${restored} is not a SQLite database pairgate can read (file is not a database).`);
    expect(stderr).toContain('[database_unreadable]');
    expect(readFileSync(restored).equals(before)).toBe(true);
  }, 30_000);

  it('a damaged database (its pages overwritten): the same, exit 2', async () => {
    ensureBuilt();
    const dataDir = folder();
    const node = await startNode({ PAIRGATE_DATA_DIR: dataDir });
    await node.stop();
    const file = join(dataDir, 'pairgate.db');
    const bytes = readFileSync(file);
    // The header kept, every page after the first written over.
    bytes.fill(0x5a, 4096);
    writeFileSync(file, bytes);
    const { code, stderr } = await failingStart({ PAIRGATE_DATA_DIR: dataDir });
    expect(code, stderr).toBe(2);
    expect(stderr).toMatch(/is not a SQLite database pairgate can read \(database disk image is malformed\)\..*\[database_unreadable\]/);
  }, 30_000);
});
