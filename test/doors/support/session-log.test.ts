import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DeliveredSeqs, SessionLog } from '../../../src/doors/support/session-log.js';
import { coreMigrations } from '../../../src/store/migrations/core.js';
import type { Stores } from '../../../src/store/ports.js';
import { openSqliteStores } from '../../../src/store/sqlite/sqlite-stores.js';

describe('SessionLog (real SQLite ephemeral store)', () => {
  let stores: Stores;
  beforeAll(async () => {
    stores = await openSqliteStores({ dataDir: mkdtempSync(join(tmpdir(), 'pairgate-session-log-')), migrations: coreMigrations });
  });
  afterAll(() => stores.close());

  it('numbers messages per session, reads them back in order after a number, forgets them, and lets them expire', async () => {
    const log = new SessionLog(stores.ephemeral);
    const now = Date.now();
    // Past nine, so that an order by text would put 10 before 2.
    for (let i = 1; i <= 12; i++) expect(await log.append('s1', `m${i}`, 60_000, now)).toBe(i);
    expect(await log.append('s2', 'other', 60_000, now)).toBe(1);
    expect(await log.last('s1', now)).toBe(12);
    expect((await log.since('s1', 9, now)).map((entry) => [entry.seq, entry.message])).toEqual([[10, 'm10'], [11, 'm11'], [12, 'm12']]);
    expect(await log.since('s1', 0, now + 60_001)).toEqual([]);
    await log.forget('s1', now);
    expect(await log.since('s1', 0, now)).toEqual([]);
    expect(await log.last('s1', now)).toBe(0);
    expect((await log.since('s2', 0, now)).map((entry) => entry.message)).toEqual(['other']);
  });
});

describe('DeliveredSeqs', () => {
  it('hands each number on once, in whatever order they come, and treats history as handed on', () => {
    const delivered = new DeliveredSeqs(0);
    expect(delivered.mark(2)).toBe(true);
    expect(delivered.contiguous).toBe(0);
    expect(delivered.mark(1)).toBe(true);
    expect(delivered.contiguous).toBe(2);
    expect(delivered.mark(2)).toBe(false);
    expect(delivered.mark(5)).toBe(true);
    delivered.skipTo(3);
    expect(delivered.contiguous).toBe(3);
    expect(delivered.mark(3)).toBe(false);
    expect(delivered.mark(5)).toBe(false);
    expect(delivered.mark(4)).toBe(true);
    expect(delivered.contiguous).toBe(5);
    delivered.skipTo(2);
    expect(delivered.contiguous).toBe(5);
  });
});
