import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { systemClock } from '../../src/core/clock.js';
import { GrantEngine } from '../../src/engine/grant-engine.js';
import { MemoryNotifier } from '../../src/store/memory/memory-notifier.js';
import { coreMigrations } from '../../src/store/migrations/core.js';
import type { Stores } from '../../src/store/ports.js';
import { openSqliteStores } from '../../src/store/sqlite/sqlite-stores.js';
import { testCodes } from '../helpers/code-hasher.js';

/**
 * Waiting when wake-ups can be missed: two engines over one store, each with a notifier of its own,
 * stand for two nodes whose wake-ups do not reach each other (a listener that was down). A
 * notifier's `resync` makes its waiters read their grants again.
 */
describe('GrantEngine.waitForChange after missed wake-ups (real SQLite)', () => {
  let stores: Stores;
  beforeAll(async () => {
    stores = await openSqliteStores({ dataDir: mkdtempSync(join(tmpdir(), 'pairgate-wait-')), migrations: coreMigrations });
  });
  afterAll(() => stores.close());

  const turns = (ms = 20) => new Promise((resolve) => setTimeout(resolve, ms));

  it('a resync finds the change that was never notified here', async () => {
    const hereNotifier = new MemoryNotifier();
    const here = new GrantEngine(stores.grants, hereNotifier, systemClock, testCodes);
    const there = new GrantEngine(stores.grants, new MemoryNotifier(), systemClock, testCodes);
    const { grant } = await here.create({ kind: 'wait-test', request: {}, ttlMs: 60_000 });
    let answered = false;
    const waiting = here.waitForChange(grant.id, grant.version, 20_000).finally(() => {
      answered = true;
    });
    await turns();
    await there.approve(grant.id, { by: 'there' });
    await turns();
    expect(answered).toBe(false);
    hereNotifier.resync();
    const woken = await waiting;
    expect(woken?.state).toBe('approved');
    expect(woken?.version).toBe(grant.version + 1);
  });

  it('a resync that finds the grant unchanged keeps waiting for the real change', async () => {
    const notifier = new MemoryNotifier();
    const engine = new GrantEngine(stores.grants, notifier, systemClock, testCodes);
    const { grant } = await engine.create({ kind: 'wait-test', request: {}, ttlMs: 60_000 });
    let answered = false;
    const waiting = engine.waitForChange(grant.id, grant.version, 20_000).finally(() => {
      answered = true;
    });
    await turns();
    notifier.resync();
    await turns();
    expect(answered).toBe(false);
    await engine.refuse(grant.id, { reason: 'no' });
    const woken = await waiting;
    expect(woken?.state).toBe('refused');
  });

  it('still answers at its timeout with the grant unchanged', async () => {
    const notifier = new MemoryNotifier();
    const engine = new GrantEngine(stores.grants, notifier, systemClock, testCodes);
    const { grant } = await engine.create({ kind: 'wait-test', request: {}, ttlMs: 60_000 });
    const waiting = engine.waitForChange(grant.id, grant.version, 200);
    notifier.resync();
    const answer = await waiting;
    expect(answer?.state).toBe('pending');
    expect(answer?.version).toBe(grant.version);
  });
});
