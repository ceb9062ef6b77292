import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SupporterPresence } from '../../../src/doors/support/supporter-presence.js';
import { systemClock } from '../../../src/core/clock.js';
import { coreMigrations } from '../../../src/store/migrations/core.js';
import type { EphemeralStore, Stores } from '../../../src/store/ports.js';
import { openSqliteStores } from '../../../src/store/sqlite/sqlite-stores.js';

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

describe('SupporterPresence (real SQLite ephemeral store)', () => {
  let stores: Stores;
  beforeAll(async () => {
    stores = await openSqliteStores({ dataDir: mkdtempSync(join(tmpdir(), 'pairgate-presence-')), migrations: coreMigrations });
  });
  afterAll(() => stores.close());

  it('a renewal under way as the supporter leaves does not bring its mark back', async () => {
    // The real store, its writes slowed down as over a busy network: a renewal is still on its way
    // when the supporter leaves.
    const real = stores.ephemeral;
    const slow: EphemeralStore = {
      shared: real.shared,
      increment: (...args) => real.increment(...args),
      decrement: (...args) => real.decrement(...args),
      setIfAbsent: (...args) => real.setIfAbsent(...args),
      get: (...args) => real.get(...args),
      take: (...args) => real.take(...args),
      delete: (...args) => real.delete(...args),
      deleteIfHeld: (...args) => real.deleteIfHeld(...args),
      list: (...args) => real.list(...args),
      set: async (...args) => {
        await sleep(150);
        await real.set(...args);
      },
      renewIfHeld: async (...args) => {
        await sleep(150);
        return real.renewIfHeld(...args);
      },
    };
    const presence = new SupporterPresence(slow, systemClock, 300);
    const unmark = (await presence.mark('race'))!;
    expect(await presence.anyAttached('race')).toBe(true);
    // The renewal starts at 100 ms and writes at 250 ms; the supporter leaves in between.
    await sleep(130);
    await unmark();
    expect(await presence.anyAttached('race')).toBe(false);
    await sleep(200);
    expect(await presence.anyAttached('race')).toBe(false);
  });

  it('remembers whether the person was told of a supporter', async () => {
    const presence = new SupporterPresence(stores.ephemeral, systemClock);
    expect(await presence.agentSawSupporter('seen')).toBe(false);
    await presence.noteAgentSawSupporter('seen', 60_000);
    expect(await presence.agentSawSupporter('seen')).toBe(true);
  });
});
