import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ManualClock } from '../../../src/core/clock.js';
import { SignInLimits } from '../../../src/doors/accounts/sign-in-limits.js';
import { coreMigrations } from '../../../src/store/migrations/core.js';
import type { Stores } from '../../../src/store/ports.js';
import { openSqliteStores } from '../../../src/store/sqlite/sqlite-stores.js';

const KEY = Buffer.alloc(32, 7);
const wrong = async (): Promise<string | undefined> => undefined;
const right = async (): Promise<string | undefined> => 'proved';

/**
 * `SignInLimits.check` on a trusted device, each way it can go: on the device's own budget; that
 * one spent, on the account's (as any other browser); that one only full of attempts still running
 * (busy), a refusal to try again in a second, not a fall-back to the account's.
 */
describe('SignInLimits on a trusted device (real SQLite ephemeral store)', () => {
  let stores: Stores;
  const clock = new ManualClock(Date.now());
  beforeAll(async () => {
    stores = await openSqliteStores({ dataDir: mkdtempSync(join(tmpdir(), 'pairgate-signin-limits-')), migrations: coreMigrations });
  });
  afterAll(() => stores.close());

  const limits = (): SignInLimits => new SignInLimits(stores.ephemeral, clock, { attemptsPerMinute: 1000, perAccount: 3, perIp: 1000, perDevice: 2, windowMs: 600_000 }, KEY);

  it('counts on the device\'s budget, then, that one spent, on the account\'s, and is then refused as any browser', async () => {
    const budgets = limits();
    const subject = { accountId: 'acc-spent', device: 'dev-spent' };
    // The device's two failures leave the account's budget whole.
    for (let i = 0; i < 2; i++) expect(await budgets.check(subject, 'net-1', wrong)).toBeUndefined();
    expect(await stores.ephemeral.get('signin:user:acc-spent', clock.now())).toBeUndefined();
    // Spent: the next attempts count on the account's (3), then are refused with the account's words.
    for (let i = 0; i < 3; i++) expect(await budgets.check(subject, 'net-1', wrong)).toBeUndefined();
    expect(await stores.ephemeral.get('signin:user:acc-spent', clock.now())).toBe('3');
    await expect(budgets.check(subject, 'net-1', right)).rejects.toMatchObject({ status: 429, code: 'rate_limited', details: { budget: 'account' } });
  });

  it('a device whose account is spent still signs in on its own budget', async () => {
    const budgets = limits();
    for (let i = 0; i < 3; i++) await budgets.check({ accountId: 'acc-locked' }, 'net-2', wrong);
    await expect(budgets.check({ accountId: 'acc-locked' }, 'net-2', right)).rejects.toMatchObject({ status: 429 });
    expect(await budgets.check({ accountId: 'acc-locked', device: 'dev-owner' }, 'net-2', right)).toBe('proved');
  });

  it('a device budget only full of attempts still running is a 429 to try again in a second, not a fall-back to the account\'s', async () => {
    const budgets = limits();
    const subject = { accountId: 'acc-busy', device: 'dev-busy' };
    let tried = 0;
    const slow = async (): Promise<string | undefined> => {
      tried++;
      await new Promise((resolve) => setTimeout(resolve, 30));
      return 'proved';
    };
    const outcomes = await Promise.allSettled([1, 2, 3, 4].map(() => budgets.check(subject, 'net-3', slow)));
    // Two (the device's limit) are tried on the device's budget; the others are told to wait a second.
    expect(tried).toBe(2);
    expect(outcomes.filter((outcome) => outcome.status === 'fulfilled')).toHaveLength(2);
    for (const outcome of outcomes.filter((o) => o.status === 'rejected')) {
      expect((outcome as PromiseRejectedResult).reason).toMatchObject({ status: 429, details: { retryAfterSeconds: 1, budget: 'account' } });
    }
    expect(await stores.ephemeral.get('signin:user:acc-busy', clock.now())).toBeUndefined();
  });
});
