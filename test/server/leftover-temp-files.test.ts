import { existsSync, mkdirSync, mkdtempSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { allDoors } from '../../src/doors/index.js';
import { removeLeftoverTempFiles } from '../../src/server/durable-file.js';
import { startServer } from '../../src/server/start.js';
import { logCollector } from '../helpers/log-lines.js';

/** Writes `name` in `dir` as a writer stopped between writing and renaming left it, `minutes` ago. */
function leave(dir: string, name: string, minutes: number): string {
  const path = join(dir, name);
  writeFileSync(path, 'a copy of a key', { mode: 0o600 });
  const then = new Date(Date.now() - minutes * 60_000);
  utimesSync(path, then, then);
  return path;
}

/**
 * A start clears the temporary files a stop between writing and renaming left in the data folder
 * (the key files') and in the DNS door's key folder: each may hold a whole copy of a key. A live
 * writer's (written within the minute) and names no writer makes are left.
 */
describe('serve: temporary files left by a stopped writer (real server)', () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'pairgate-start-leftovers-'));
  afterAll(() => rmSync(dataDir, { recursive: true, force: true }));

  it('are removed at start and named in the log; fresh ones and look-alikes are kept', async () => {
    mkdirSync(join(dataDir, 'dns-update-tls'));
    const leftovers = [leave(dataDir, 'code-hash.key.0123456789ab.tmp', 5), leave(join(dataDir, 'dns-update-tls'), 'key.pem.abcdefabcdef.tmp', 5)];
    const kept = [leave(dataDir, 'secret-box.key.fedcba987654.tmp', 0), leave(dataDir, 'notes.tmp', 5), leave(dataDir, 'code-hash.key.0123456789AB.tmp', 5)];
    const log = logCollector();
    const server = await startServer({ env: { PAIRGATE_DATA_DIR: dataDir, PAIRGATE_PORT: '0', PAIRGATE_LOG_LEVEL: 'info' } }, allDoors, log.stream);
    await server.close();
    for (const path of leftovers) expect(existsSync(path), path).toBe(false);
    for (const path of kept) expect(existsSync(path), path).toBe(true);
    expect(log.messages()).toContainEqual(`removed 2 temporary file(s) a stop between writing and renaming left in the data folder: code-hash.key.0123456789ab.tmp, ${join('dns-update-tls', 'key.pem.abcdefabcdef.tmp')}`);
  });

  it('are left to the server that holds the folder: a second one started on it stops first', async () => {
    const first = await startServer({ env: { PAIRGATE_DATA_DIR: dataDir, PAIRGATE_PORT: '0', PAIRGATE_LOG_LEVEL: 'fatal' } }, allDoors);
    try {
      const leftover = leave(dataDir, 'secret-box.key.aaaaaaaaaaaa.tmp', 5);
      await expect(startServer({ env: { PAIRGATE_DATA_DIR: dataDir, PAIRGATE_PORT: '0', PAIRGATE_LOG_LEVEL: 'fatal' } }, allDoors)).rejects.toMatchObject({ code: 'data_dir_in_use' });
      expect(existsSync(leftover)).toBe(true);
    } finally {
      await first.close();
    }
  });
});

describe('removeLeftoverTempFiles in a folder that is not pairgate\'s alone', () => {
  it('takes only the temporaries of the files it is told of (box cert --out: cert.key, cert.pem)', () => {
    const dir = mkdtempSync(join(tmpdir(), 'pairgate-shared-out-'));
    try {
      const ours = [leave(dir, 'cert.key.0123456789ab.tmp', 5), leave(dir, 'cert.pem.abcdefabcdef.tmp', 5)];
      const theirs = leave(dir, 'nginx.conf.0123456789ab.tmp', 5);
      expect(removeLeftoverTempFiles(dir, undefined, undefined, ['cert.key', 'cert.pem']).sort()).toEqual(['cert.key.0123456789ab.tmp', 'cert.pem.abcdefabcdef.tmp']);
      for (const path of ours) expect(existsSync(path), path).toBe(false);
      expect(existsSync(theirs)).toBe(true);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
