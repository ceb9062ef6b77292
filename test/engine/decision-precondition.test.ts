import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ManualClock } from '../../src/core/clock.js';
import { GrantEngine } from '../../src/engine/grant-engine.js';
import { MemoryNotifier } from '../../src/store/memory/memory-notifier.js';
import { coreMigrations } from '../../src/store/migrations/core.js';
import type { GrantStore, Stores } from '../../src/store/ports.js';
import { openSqliteStores } from '../../src/store/sqlite/sqlite-stores.js';
import { testCodes } from '../helpers/code-hasher.js';

interface Paired {
  code: string;
}

/**
 * A decision's precondition (`GrantEngine.approve`/`refuse`) over the real SQLite store, with another
 * writer changing the grant between the engine's read and its compare-and-set, as a second request
 * does (the support door: a new code asked for while the old one's confirmation is on the way).
 */
describe('GrantEngine decisions with a precondition (real SQLite, a writer in between)', () => {
  let stores: Stores;
  let engine: GrantEngine;
  /** Run once, before the next compare-and-set reaches the store. */
  let inBetween: (() => Promise<void>) | undefined;
  beforeAll(async () => {
    stores = await openSqliteStores({ dataDir: mkdtempSync(join(tmpdir(), 'pairgate-precondition-')), migrations: coreMigrations });
    const real = stores.grants;
    const racing = Object.create(real) as GrantStore;
    racing.update = async (...args) => {
      const writer = inBetween;
      inBetween = undefined;
      await writer?.();
      return real.update(...args);
    };
    engine = new GrantEngine(racing, new MemoryNotifier(), new ManualClock(Date.now()), testCodes);
  });
  afterAll(() => stores.close());

  const stillCode = (code: string) => (grant: { request: Paired }): void => {
    if (grant.request.code !== code) throw new Error('replaced');
  };

  it('a change between the read and the decision is seen: the precondition refuses on the retry, and the grant stays pending', async () => {
    const { grant } = await engine.create<Paired>({ kind: 'precondition', request: { code: 'first' }, ttlMs: 60_000 });
    inBetween = async () => {
      await engine.update<Paired, unknown>(grant.id, (current) => ({ request: { ...current.request, code: 'second' } }));
    };
    await expect(engine.approve(grant.id, { by: 'first' }, stillCode('first'))).rejects.toThrow('replaced');
    const after = await engine.get<Paired, unknown>(grant.id);
    expect(after?.state).toBe('pending');
    expect(after?.request.code).toBe('second');
    // The grant's current code decides it.
    await expect(engine.refuse(grant.id, { by: 'second' }, stillCode('second'))).resolves.toMatchObject({ state: 'refused', result: { by: 'second' } });
  });

  it('a precondition that holds decides as without one', async () => {
    const { grant } = await engine.create<Paired>({ kind: 'precondition', request: { code: 'only' }, ttlMs: 60_000 });
    await expect(engine.approve(grant.id, { by: 'only' }, stillCode('only'))).resolves.toMatchObject({ state: 'approved' });
  });
});
