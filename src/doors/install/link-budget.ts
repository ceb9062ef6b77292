import type { Clock } from '../../core/clock.js';
import { RateLimitedError } from '../../core/errors.js';
import { hashToken } from '../../core/ids.js';
import type { EphemeralStore } from '../../store/ports.js';
import { FailureBudget, type BudgetCounter } from '../../engine/failure-budget.js';
import { lifetimeText } from './lifetime.js';
import { changedNothing } from './unchanged-refusals.js';

const HOUR_MS = 3_600_000;

/**
 * The budget of wrong link tokens. Chat calls all come from the chat server's address, so a
 * per-address budget would let one user lock out a whole workspace; the budget is instead per chat
 * user and per installation (which bounds an attacker holding many chat accounts). Only calls
 * signed with the installation's secret get here, and a token found through another organization's
 * installation is never spent nor confirmed, so guessing from an installation of one's own is
 * useless. Counters live in the ephemeral store, so they hold across nodes, and a FailureBudget
 * keeps them exact under guesses sent at once.
 */
export class LinkBudget {
  private readonly budget: FailureBudget;

  constructor(
    ephemeral: EphemeralStore,
    clock: Clock,
    private readonly perUser: number,
    private readonly perInstallation: number,
  ) {
    this.budget = new FailureBudget(ephemeral, clock, HOUR_MS);
  }

  private counters(installationId: string, externalUserId: string): BudgetCounter[] {
    return [
      { key: `install:miss:user:${hashToken(`${installationId}:${externalUserId}`)}`, limit: this.perUser },
      { key: `install:miss:inst:${installationId}`, limit: this.perInstallation },
    ];
  }

  /**
   * Runs `attempt` (spending a typed token) unless the chat user or the installation has spent its
   * wrong tokens (429), and counts a wrong token against both when `wrong(result)` says so.
   */
  run<T>(installationId: string, externalUserId: string, attempt: () => Promise<T>, wrong: (result: T) => boolean): Promise<T> {
    // Refused, the attempt did not run and nothing was counted: the call's claim is given back.
    return this.budget.run(this.counters(installationId, externalUserId), attempt, wrong, (retryAfter) =>
      changedNothing(new RateLimitedError(retryAfter, `Too many wrong link tokens. Try again in ${lifetimeText(Math.ceil(retryAfter / 60) * 60)}.`)));
  }
}
