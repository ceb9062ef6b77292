import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { grantsDoor } from '../../src/doors/grants/grants-door.js';
import { allDoors } from '../../src/doors/index.js';
import type { Door } from '../../src/doors/door.js';
import { startServer } from '../../src/server/start.js';
import { logCollector } from '../helpers/log-lines.js';
import { createTestDatabase, postgresMissing } from '../helpers/services.js';

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

const pgSkip = await postgresMissing();

/**
 * A start that migrated the database and then failed still says what it did: the next start finds
 * nothing to do and says nothing, so this start's line is the only record of the upgrade.
 */
describe('start-up log of the migrations of a start that then fails', () => {
  // A port taken no longer gets this far: it is tried before the data folder is made.
  it('says a new SQLite database was prepared when Redis cannot be reached', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'pairgate-start-migrations-fail-'));
    const closed = createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const redisPort = (closed.address() as { port: number }).port;
    // Nothing listens there once closed: Redis is away.
    await new Promise((resolve) => closed.close(resolve));
    try {
      const log = logCollector();
      const env = { PAIRGATE_DATA_DIR: dataDir, PAIRGATE_REDIS_URL: `redis://127.0.0.1:${redisPort}`, PAIRGATE_PORT: '0', PAIRGATE_LOG_LEVEL: 'info' };
      await expect(startServer({ env }, [grantsDoor], log.stream)).rejects.toMatchObject({ code: 'store_unavailable' });
      expect(log.messages()).toContainEqual(expect.stringMatching(/^prepared a new database \(\d+ migrations?\)$/));
    } finally {
      rmSync(dataDir, { recursive: true, force: true });
    }
  });

  it.skipIf(Boolean(pgSkip))(`says a new PostgreSQL database was prepared when Redis cannot be reached${pgSkip ? ` (skipped: ${pgSkip})` : ''}`, async () => {
    const database = await createTestDatabase();
    const closed = createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const redisPort = (closed.address() as { port: number }).port;
    // Nothing listens there once closed: Redis is away.
    await new Promise((resolve) => closed.close(resolve));
    try {
      const log = logCollector();
      const env = { PAIRGATE_DATABASE_URL: database.url, PAIRGATE_REDIS_URL: `redis://127.0.0.1:${redisPort}`, PAIRGATE_PORT: '0', PAIRGATE_LOG_LEVEL: 'info' };
      await expect(startServer({ env }, [grantsDoor], log.stream)).rejects.toMatchObject({ code: 'store_unavailable' });
      expect(log.messages()).toContainEqual(expect.stringMatching(/^prepared a new database \(\d+ migrations?\)$/));
    } finally {
      await database.drop();
    }
  });
});
