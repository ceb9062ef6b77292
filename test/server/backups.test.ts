import { copyFileSync, existsSync, mkdtempSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import { allDoors } from '../../src/doors/index.js';
import { copyName } from '../../src/server/backups.js';
import { loadConfig } from '../../src/server/config.js';
import { checkConfig, startServer } from '../../src/server/start.js';
import { createTestApp } from '../helpers/app.js';

const sections = allDoors.flatMap((door) => (door.configSchema ? [door.configSchema] : []));

/** The copies in `dir`, oldest first. */
const copiesIn = (dir: string) => (existsSync(dir) ? readdirSync(dir) : []).filter((name) => /^pairgate-.*\.db$/.test(name)).sort();

/** Waits until `dir` holds `count` copies (the start-up copy runs in the background). */
async function waitForCopies(dir: string, count: number): Promise<string[]> {
  for (let i = 0; i < 200; i++) {
    const copies = copiesIn(dir);
    if (copies.length >= count) return copies;
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
  throw new Error(`expected ${count} copies in ${dir}, found ${copiesIn(dir).length}`);
}

describe('copies of the embedded database (PAIRGATE_BACKUP_DIR, real SQLite)', () => {
  it('copies at start-up, on demand while serving, keeps the newest ones, and each copy opens with the data', async () => {
    const backupDir = join(mkdtempSync(join(tmpdir(), 'pairgate-backups-')), 'copies');
    const t = await createTestApp({ PAIRGATE_BACKUP_DIR: backupDir, PAIRGATE_BACKUP_KEEP: '2' });
    try {
      await waitForCopies(backupDir, 1);
      const created = await t.app.inject({ method: 'POST', url: '/api/v1/grants', payload: { label: 'kept in the copy' } });
      expect(created.statusCode).toBe(201);
      // A leftover of an interrupted copy goes at the next copy.
      writeFileSync(join(backupDir, `${copyName(new Date(0))}.partial`), 'half');
      const second = await t.app.backups!.runOnce();
      const third = await t.app.backups!.runOnce();
      expect(copiesIn(backupDir)).toEqual([second, third].map((path) => path.slice(backupDir.length + 1)));
      expect(readdirSync(backupDir).some((name) => name.endsWith('.partial'))).toBe(false);
      expect(statSync(third).mode & 0o777).toBe(0o600);
      const metrics = (await t.app.inject('/metrics')).body;
      expect(metrics).toMatch(/^pairgate_backups_total\{outcome="ok"\} 3$/m);
      const last = Number(/^pairgate_backup_last_success_timestamp_seconds (\S+)$/m.exec(metrics)?.[1]);
      expect(Math.abs(last - Date.now() / 1000)).toBeLessThan(60);

      const copy = new Database(third, { readonly: true });
      try {
        expect(copy.pragma('integrity_check', { simple: true })).toBe('ok');
        const row = copy.prepare('select request from grants where id = ?').get(created.json().id) as { request: string } | undefined;
        expect(JSON.parse(row!.request)).toMatchObject({ label: 'kept in the copy' });
      } finally {
        copy.close();
      }

      // Restoring is putting a copy in place of pairgate.db in a (stopped) server's data folder.
      const restoredDir = mkdtempSync(join(tmpdir(), 'pairgate-restored-'));
      copyFileSync(third, join(restoredDir, 'pairgate.db'));
      const restored = await createTestApp({ PAIRGATE_DATA_DIR: restoredDir });
      try {
        const found = await restored.app.inject(`/api/v1/grants/${created.json().id}`);
        expect(found.statusCode).toBe(200);
        expect(found.json().label).toBe('kept in the copy');
      } finally {
        await restored.close();
      }
    } finally {
      await t.close();
    }
  });

  it('a copy that fails is logged and counted, and the server goes on serving', async () => {
    const blocker = join(mkdtempSync(join(tmpdir(), 'pairgate-backups-')), 'a-file');
    writeFileSync(blocker, 'not a folder');
    const t = await createTestApp({ PAIRGATE_BACKUP_DIR: join(blocker, 'copies') });
    try {
      await expect(t.app.backups!.runOnce()).rejects.toThrow();
      expect((await t.app.inject({ method: 'POST', url: '/api/v1/grants', payload: { label: 'still serving' } })).statusCode).toBe(201);
      expect((await t.app.inject('/metrics')).body).toMatch(/^pairgate_backups_total\{outcome="failed"\} [12]$/m);
      for (let i = 0; i < 100 && !t.logs.some((line) => line.includes('database copy failed')); i++) await new Promise((resolve) => setTimeout(resolve, 20));
      expect(t.logs.some((line) => line.includes('database copy failed'))).toBe(true);
    } finally {
      await t.close();
    }
  });

  it('makes no copy without PAIRGATE_BACKUP_DIR', async () => {
    const t = await createTestApp();
    try {
      expect(t.app.backups).toBeUndefined();
    } finally {
      await t.close();
    }
  });

  it('refuses a backup folder with PostgreSQL, saying what to use instead', () => {
    const config = loadConfig(sections, { env: { PAIRGATE_BACKUP_DIR: '/tmp/x', PAIRGATE_DATABASE_URL: 'postgres://127.0.0.1/db' } });
    expect(() => checkConfig(config, allDoors)).toThrow(/PAIRGATE_BACKUP_DIR: .*pg_dump/);
  });

  it('a backup folder that is a file (or under one) stops the start naming the key, before anything runs', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'pairgate-backups-'));
    const file = join(dir, 'a-file');
    writeFileSync(file, '');
    const env = { PAIRGATE_DATA_DIR: join(dir, 'data'), PAIRGATE_PORT: '0', PAIRGATE_LOG_LEVEL: 'silent' };
    // It started, and logged Node's "EEXIST: file already exists, mkdir" at each copy it could not make.
    await expect(startServer({ env: { ...env, PAIRGATE_BACKUP_DIR: file } }, allDoors)).rejects.toThrow(`PAIRGATE_BACKUP_DIR: ${file} is not a folder; choose a folder this user may write to`);
    await expect(startServer({ env: { ...env, PAIRGATE_BACKUP_DIR: join(file, 'copies') } }, allDoors)).rejects.toThrow(`PAIRGATE_BACKUP_DIR: ${file} is not a folder`);
  });

  it('deletes what an interrupted copy left, its journal too, and nothing else', async () => {
    const backupDir = mkdtempSync(join(tmpdir(), 'pairgate-backups-'));
    const left = ['pairgate-20260101T000000000Z.db.partial', 'pairgate-20260101T000000000Z.db.partial-journal'];
    const kept = ['notes.txt', 'pairgate.db-journal'];
    for (const name of [...left, ...kept]) writeFileSync(join(backupDir, name), 'x');
    const t = await createTestApp({ PAIRGATE_BACKUP_DIR: backupDir });
    try {
      await waitForCopies(backupDir, 1);
      await t.app.backups!.runOnce();
      const names = readdirSync(backupDir);
      for (const name of left) expect(names).not.toContain(name);
      for (const name of kept) expect(names).toContain(name);
    } finally {
      await t.close();
    }
  });

  it('names copies by the time they were made, in an order that sorts', () => {
    expect(copyName(new Date('2026-12-01T17:05:00.123Z'))).toBe('pairgate-20261201T170500123Z.db');
    expect(copyName(new Date('2026-12-01T17:05:00.123Z')) < copyName(new Date('2026-12-01T17:05:01.000Z'))).toBe(true);
  });
});
