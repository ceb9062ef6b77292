import { join } from 'node:path';
import BetterSqlite3 from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import { createTestApp } from '../helpers/app.js';

/** Waits until `check` holds, up to `ms`. */
async function eventually(check: () => boolean, ms = 5_000): Promise<void> {
  for (const end = Date.now() + ms; !check() && Date.now() < end; ) await new Promise((resolve) => setTimeout(resolve, 20));
}

/**
 * A checkpoint of the embedded database that fails (a full disk, say) leaves the server serving,
 * but its WAL grows until one succeeds: the operator hears of it in the log and in /metrics.
 */
describe('failed checkpoints of the embedded database', () => {
  it('are counted in /metrics from the start (0 on a healthy server)', async () => {
    const t = await createTestApp();
    try {
      expect((await t.app.inject('/metrics')).body).toMatch(/^pairgate_sqlite_checkpoint_failures_total 0$/m);
    } finally {
      await t.close();
    }
  });

  it('are logged once each, with the error, at the next sweep, and counted', async () => {
    const t = await createTestApp({ PAIRGATE_SWEEP_SECONDS: '1' });
    try {
      // A real checkpoint failure cannot be arranged here: the store's report of them is replaced.
      let failures = { count: 2, lastError: 'disk I/O error' as string | undefined };
      t.app.pairgate.stores.checkpointFailures = () => failures;
      const warnings = () => t.logs.filter((line) => line.includes('copying the SQLite WAL into the database failed'));
      await eventually(() => warnings().length > 0);
      expect(warnings()).toHaveLength(1);
      expect(JSON.parse(warnings()[0]!)).toMatchObject({ level: 40, failures: 2, error: 'disk I/O error' });
      expect((await t.app.inject('/metrics')).body).toMatch(/^pairgate_sqlite_checkpoint_failures_total 2$/m);
      // No new failure, no new line; a new one is logged on its own.
      await new Promise((resolve) => setTimeout(resolve, 2_200));
      expect(warnings()).toHaveLength(1);
      failures = { count: 3, lastError: 'database or disk is full' };
      await eventually(() => warnings().length > 1);
      expect(JSON.parse(warnings()[1]!)).toMatchObject({ failures: 1, error: 'database or disk is full' });
    } finally {
      await t.close();
    }
  });
});

/**
 * Another program writing to pairgate.db while the server runs: the server reads its memory again
 * from the tables, answers what they hold, and says so in its log.
 */
describe('writes to the embedded database by another program', () => {
  it('are made good within seconds and logged as an error', async () => {
    const t = await createTestApp({ PAIRGATE_SWEEP_SECONDS: '1' });
    try {
      const created = await t.app.inject({ method: 'POST', url: '/api/v1/grants', payload: { label: 'deleted behind its back' } });
      expect(created.statusCode).toBe(201);
      const { id, code } = created.json() as { id: string; code: string };
      expect((await t.app.inject(`/api/v1/codes/${code}`)).statusCode).toBe(200);
      const other = new BetterSqlite3(join(t.config.PAIRGATE_DATA_DIR, 'pairgate.db'));
      try {
        other.prepare('delete from grants where id = ?').run(id);
      } finally {
        other.close();
      }
      const errors = () => t.logs.filter((line) => line.includes('another program wrote to pairgate.db'));
      await eventually(() => errors().length > 0);
      expect(JSON.parse(errors()[0]!)).toMatchObject({ level: 50, times: 1 });
      expect((await t.app.inject(`/api/v1/codes/${code}`)).statusCode).toBe(404);
      expect((await t.app.inject(`/api/v1/grants/${id}`)).statusCode).toBe(404);
    } finally {
      await t.close();
    }
  });
});
