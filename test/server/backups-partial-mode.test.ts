import { existsSync, mkdtempSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { startBackups } from '../../src/server/backups.js';
import type { Config } from '../../src/server/config.js';
import type { Stores } from '../../src/store/ports.js';

/**
 * A copy holds password and token hashes: it must be its owner's alone from its first byte, not
 * only once whole. Made by SQLite's backup, the file took the process's umask until the chmod at
 * the end, so a local user could open it mid-copy in a folder others may enter.
 */
describe('backups: the copy being written', () => {
  it('exists, owner-only, before the database is copied into it', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'pairgate-backup-mode-'));
    const seen: { existed: boolean; mode?: number }[] = [];
    const backup = async (path: string): Promise<void> => {
      seen.push({ existed: existsSync(path), mode: existsSync(path) ? statSync(path).mode & 0o777 : undefined });
      writeFileSync(path, 'copied pages');
    };
    const config = { PAIRGATE_BACKUP_DIR: dir, PAIRGATE_BACKUP_KEEP: 3, PAIRGATE_BACKUP_INTERVAL_HOURS: 24 } as Config;
    const log = { info: () => undefined, warn: () => undefined };
    const previous = process.umask(0o022);
    try {
      const schedule = startBackups(config, { backup } as unknown as Stores, log)!;
      const path = await schedule.runOnce();
      await schedule.stop();
      expect(seen.length).toBeGreaterThan(0);
      expect(seen.every((call) => call.existed && call.mode === 0o600)).toBe(true);
      expect(statSync(path).mode & 0o777).toBe(0o600);
    } finally {
      process.umask(previous);
    }
  });
});
