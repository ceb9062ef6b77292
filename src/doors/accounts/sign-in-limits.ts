import { RateLimitedError } from '../../core/errors.js';
import { hashToken } from '../../core/ids.js';
import type { Clock } from '../../core/clock.js';
import type { EphemeralStore } from '../../store/ports.js';
import { FailureBudget, type BudgetCounter } from '../../engine/failure-budget.js';

/** Limits of failed sign-ins. */
export interface SignInLimitOptions {
  perAccount: number;
  perIp: number;
  windowMs: number;
}

/**
 * Failed sign-in budgets, per account name and per client IP, in the ephemeral store (so every
 * node shares them; a FailureBudget keeps them exact under guesses sent at once). The account
 * counter is keyed by the name typed, whether or not it exists, so a refusal never tells an
 * attacker that an account exists.
 */
export class SignInLimits {
  private readonly budget: FailureBudget;

  constructor(
    ephemeral: EphemeralStore,
    clock: Clock,
    private readonly options: SignInLimitOptions,
  ) {
    this.budget = new FailureBudget(ephemeral, clock, options.windowMs);
  }

  private counters(login: string, ip: string): BudgetCounter[] {
    // The typed name is hashed: the store never holds names people typed (they may be passwords).
    return [
      { key: `signin:acct:${hashToken(login.trim().toLowerCase())}`, limit: this.options.perAccount },
      { key: `signin:ip:${ip}`, limit: this.options.perIp },
    ];
  }

  /**
   * Runs `check` (a password check: what it proves, undefined when wrong) unless the account name
   * or the IP has spent its failures (429), and counts a failure against both when it fails.
   */
  check<T>(login: string, ip: string, check: () => Promise<T | undefined>): Promise<T | undefined> {
    return this.budget.run(this.counters(login, ip), check, (proved) => proved === undefined, (retryAfter) =>
      new RateLimitedError(retryAfter, 'Too many failed sign-ins. Try again later.'));
  }
}
