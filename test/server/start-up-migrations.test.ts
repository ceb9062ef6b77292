import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { grantsDoor } from '../../src/doors/grants/grants-door.js';
import { allDoors } from '../../src/doors/index.js';
import type { Door } from '../../src/doors/door.js';
import { startServer } from '../../src/server/start.js';
import { logCollector } from '../helpers/log-lines.js';

/** Starts a server on `dataDir` with `doors`, closes it, and returns the messages it logged at info and up. */
async function startAndStop(dataDir: string, doors: readonly Door[]): Promise<string[]> {
  const log = logCollector();
  const server = await startServer({ env: { PAIRGATE_DATA_DIR: dataDir, PAIRGATE_PORT: '0', PAIRGATE_LOG_LEVEL: 'info' } }, doors, log.stream);
  await server.close();
  return log.messages();
}

/**
 * The start-up log says what the database's migrations did: a new database prepared, an existing
 * one upgraded (the migrations named), and nothing on a start with nothing to do, so an operator
 * can find an upgrade in the log afterwards.
 */
describe('start-up log of the database migrations (real SQLite)', () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'pairgate-start-migrations-'));
  afterAll(() => rmSync(dataDir, { recursive: true, force: true }));

  it('says a new database was prepared, then an upgrade with the migrations it ran, then nothing', async () => {
    // A first start with the generic door only: its tables and the engine's.
    const first = await startAndStop(dataDir, [grantsDoor]);
    expect(first).toContainEqual(expect.stringMatching(/^prepared a new database \(\d+ migrations?\)$/));
    // The next version brings more doors, and their migrations.
    const upgraded = (await startAndStop(dataDir, allDoors)).filter((line) => line.includes('database'));
    expect(upgraded).toHaveLength(1);
    expect(upgraded[0]).toMatch(/^upgraded the database: ran \d+ migrations \(\d+_\w+(, \d+_\w+)*\) on a database that had run \d+$/);
    const again = await startAndStop(dataDir, allDoors);
    expect(again.filter((line) => /prepared a new database|upgraded the database/.test(line))).toEqual([]);
  });
});
