import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { systemClock } from '../../src/core/clock.js';
import { GrantEngine } from '../../src/engine/grant-engine.js';
import { WAKES_PER_TURN, WakeQueue } from '../../src/engine/wake-queue.js';
import { MemoryNotifier } from '../../src/store/memory/memory-notifier.js';
import { coreMigrations } from '../../src/store/migrations/core.js';
import type { Stores } from '../../src/store/ports.js';
import { openSqliteStores } from '../../src/store/sqlite/sqlite-stores.js';
import { testCodes } from '../helpers/code-hasher.js';

/** Resolves at the next turn of the event loop's check phase (after its I/O). */
const nextTurn = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

describe('WakeQueue', () => {
  it('runs a turn\'s first wake-ups at once and the rest a turn at a time, in order', async () => {
    const queue = new WakeQueue(3);
    const ran: number[] = [];
    for (let i = 0; i < 8; i++) queue.run(() => ran.push(i));
    expect(ran).toEqual([0, 1, 2]);
    expect(queue.waiting).toBe(5);
    await nextTurn();
    expect(ran).toEqual([0, 1, 2, 3, 4, 5]);
    await nextTurn();
    expect(ran).toEqual([0, 1, 2, 3, 4, 5, 6, 7]);
    expect(queue.waiting).toBe(0);
  });

  it('queues a newcomer behind those waiting, even when a later turn has room', async () => {
    const queue = new WakeQueue(2);
    const ran: string[] = [];
    for (const name of ['a', 'b', 'c']) queue.run(() => ran.push(name));
    await nextTurn();
    // 'c' ran in this turn; the turn has room for one more, and 'd' is the next.
    queue.run(() => ran.push('d'));
    queue.run(() => ran.push('e'));
    expect(ran).toEqual(['a', 'b', 'c', 'd']);
    await nextTurn();
    await nextTurn();
    expect(ran).toEqual(['a', 'b', 'c', 'd', 'e']);
  });

  it('takes queued wake-ups in turn from each grant, in order within a grant: one waiter is not queued behind another grant\'s thousands', async () => {
    const queue = new WakeQueue(4);
    const ran: string[] = [];
    // This turn's room taken, then 1,000 waiters of grant a, and one of grant b after them.
    for (let i = 0; i < 4; i++) queue.run(() => ran.push('now'), 'a');
    for (let i = 0; i < 1_000; i++) queue.run(() => ran.push(`a${i}`), 'a');
    queue.run(() => ran.push('b0'), 'b');
    queue.run(() => ran.push('b1'), 'b');
    queue.run(() => ran.push('c0'), 'c');
    await nextTurn();
    // One from each grant, then the first in line again.
    expect(ran.slice(4)).toEqual(['a0', 'b0', 'c0', 'a1']);
    await nextTurn();
    expect(ran.slice(8)).toEqual(['b1', 'a2', 'a3', 'a4']);
    while (queue.waiting > 0) await nextTurn();
    expect(ran.filter((name) => name.startsWith('a'))).toEqual(Array.from({ length: 1_000 }, (_, i) => `a${i}`));
    expect(queue.held).toBe(0);
  });

  it('a grant whose wake-ups all ran and that gets new ones goes to the back of the line; what it held is let go', async () => {
    const queue = new WakeQueue(2);
    const ran: string[] = [];
    queue.run(() => ran.push('now1'), 'x');
    queue.run(() => ran.push('now2'), 'x');
    queue.run(() => ran.push('a0'), 'a');
    for (let i = 0; i < 3; i++) queue.run(() => ran.push(`b${i}`), 'b');
    await nextTurn();
    expect(ran.slice(2)).toEqual(['a0', 'b0']);
    // a's lane ran empty; its next wake-up queues behind b's.
    queue.run(() => ran.push('a1'), 'a');
    await nextTurn();
    expect(ran.slice(4)).toEqual(['b1', 'a1']);
    await nextTurn();
    expect(ran.slice(6)).toEqual(['b2']);
    await nextTurn();
    expect(queue.waiting).toBe(0);
    expect(queue.held).toBe(0);
  });

  it('serves 20,000 grants of one wake-up each one per grant, in the order they came', async () => {
    const queue = new WakeQueue(128);
    const ran: number[] = [];
    for (let i = 0; i < 128; i++) queue.run(() => undefined, 'first');
    for (let i = 0; i < 20_000; i++) queue.run(() => ran.push(i), `g${i}`);
    while (queue.waiting > 0) await nextTurn();
    expect(ran).toEqual(Array.from({ length: 20_000 }, (_, i) => i));
    await nextTurn();
    expect(queue.held).toBe(0);
  });

  it('keeps its array within a bound when some always wait (a steady load), letting go of what ran', async () => {
    const queue = new WakeQueue(128);
    let ran = 0;
    for (let i = 0; i < 128 + 200; i++) queue.run(() => ran++);
    let most = 0;
    for (let turn = 0; turn < 2_000; turn++) {
      // As many newcomers as a turn runs: 200 always wait.
      for (let i = 0; i < 128; i++) queue.run(() => ran++);
      await nextTurn();
      most = Math.max(most, queue.held);
    }
    expect(queue.waiting).toBe(200);
    expect(ran).toBe(128 * 2_001);
    // Without the cut, the array held every wake-up ever queued: 256,328 here.
    expect(most).toBeLessThan(4_000);
  });

  it('goes on past a wake-up that throws', async () => {
    const queue = new WakeQueue(1);
    const ran: number[] = [];
    queue.run(() => ran.push(0));
    queue.run(() => {
      throw new Error('a closed socket');
    });
    queue.run(() => ran.push(2));
    await nextTurn();
    await nextTurn();
    expect(ran).toEqual([0, 2]);
  });
});

/**
 * Thousands of waiters on one grant (a client may hold a hundred waits, and networks are cheap)
 * are answered a turn of the event loop at a time, so the node's other requests are served in
 * between: all at once, 5,000 long-polls held the loop for about a second.
 */
describe('GrantEngine wakes its waiters a turn at a time (real SQLite)', () => {
  let stores: Stores;
  beforeAll(async () => {
    stores = await openSqliteStores({ dataDir: mkdtempSync(join(tmpdir(), 'pairgate-wake-turns-')), migrations: coreMigrations });
  });
  afterAll(() => stores.close());

  it('answers at most WAKES_PER_TURN waiters per turn after an approval, and every one of them', async () => {
    const engine = new GrantEngine(stores.grants, new MemoryNotifier(), systemClock, testCodes);
    const { grant } = await engine.create({ kind: 'wake-test', request: {}, ttlMs: 60_000 });
    const count = WAKES_PER_TURN * 3 + 10;
    let answered = 0;
    const waits = Array.from({ length: count }, () =>
      engine.waitForChange(grant.id, grant.version, 20_000).then((seen) => {
        answered++;
        return seen;
      }),
    );
    // Every waiter subscribed and read the grant before the approval.
    for (let i = 0; i < 5; i++) await nextTurn();
    expect(answered).toBe(0);
    await engine.approve(grant.id, { by: 'test' });
    // The approval's own turn: its publish woke the first ones.
    const perTurn: number[] = [answered];
    let before = answered;
    while (answered < count && perTurn.length < 50) {
      await nextTurn();
      perTurn.push(answered - before);
      before = answered;
    }
    // No turn answered more than its share, and it took several.
    expect(Math.max(...perTurn)).toBeLessThanOrEqual(WAKES_PER_TURN);
    expect(perTurn.filter((n) => n > 0).length).toBeGreaterThanOrEqual(4);
    const seen = await Promise.all(waits);
    expect(seen.every((g) => g?.state === 'approved')).toBe(true);
  });

  it('answers the waiter of a grant approved just after one with thousands of waiters in the next turns, not after them', async () => {
    const engine = new GrantEngine(stores.grants, new MemoryNotifier(), systemClock, testCodes);
    const { grant: crowded } = await engine.create({ kind: 'wake-test', request: {}, ttlMs: 60_000 });
    const { grant: single } = await engine.create({ kind: 'wake-test', request: {}, ttlMs: 60_000 });
    const count = WAKES_PER_TURN * 10;
    let crowdAnswered = 0;
    const crowd = Array.from({ length: count }, () => engine.waitForChange(crowded.id, crowded.version, 20_000).then(() => crowdAnswered++));
    let answeredAfter: number | undefined;
    const alone = engine.waitForChange(single.id, single.version, 20_000).then((seen) => {
      answeredAfter = crowdAnswered;
      return seen;
    });
    for (let i = 0; i < 5; i++) await nextTurn();
    await engine.approve(crowded.id, { by: 'test' });
    await engine.approve(single.id, { by: 'test' });
    expect((await alone)?.state).toBe('approved');
    // Within the first turns' share of the crowd (first come first served, it came after all of them).
    expect(answeredAfter).toBeLessThan(WAKES_PER_TURN * 4);
    await Promise.all(crowd);
    expect(crowdAnswered).toBe(count);
  });
});
