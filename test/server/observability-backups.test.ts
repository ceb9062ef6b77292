import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { createTestApp } from '../helpers/app.js';

/**
 * `pairgate_backups_total` once copies are scheduled: both outcomes shown from the start, so that
 * an alert on increase(...{outcome="failed"}) sees the first failure (a series that first appears
 * at 1 reads as no increase), and one on the copies made sees them stop.
 */
describe('copies of the database on /metrics from the start (observability)', () => {
  const folders: string[] = [];
  afterAll(() => {
    for (const folder of folders) rmSync(folder, { recursive: true, force: true });
  });

  it('shows failed at 0 beside the copies made', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'pairgate-observability-backups-'));
    folders.push(dir);
    const t = await createTestApp({ PAIRGATE_BACKUP_DIR: join(dir, 'copies') });
    try {
      await t.app.backups!.runOnce();
      const body = (await t.app.inject('/metrics')).body;
      expect(body).toMatch(/^pairgate_backups_total\{outcome="failed"\} 0$/m);
      expect(body).toMatch(/^pairgate_backups_total\{outcome="ok"\} [12]$/m);
    } finally {
      await t.close();
    }
  });

  it('shows ok at 0 when every copy fails', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'pairgate-observability-backups-'));
    folders.push(dir);
    const blocker = join(dir, 'a-file');
    writeFileSync(blocker, 'not a folder');
    const t = await createTestApp({ PAIRGATE_BACKUP_DIR: join(blocker, 'copies') });
    try {
      await expect(t.app.backups!.runOnce()).rejects.toThrow();
      const body = (await t.app.inject('/metrics')).body;
      expect(body).toMatch(/^pairgate_backups_total\{outcome="ok"\} 0$/m);
      expect(body).toMatch(/^pairgate_backups_total\{outcome="failed"\} [12]$/m);
    } finally {
      await t.close();
    }
  });
});
