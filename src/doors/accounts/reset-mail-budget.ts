import { latestWindowEnd, type Clock } from '../../core/clock.js';
import type { EphemeralStore } from '../../store/ports.js';

/** The window of the reset-mail budget. */
const HOUR_MS = 3_600_000;

/**
 * How many password-reset mails one account may be sent per hour, so that nobody can make the
 * server mail a person over and over (the per-address rate limit alone allows it from many
 * addresses). Counted per account id, whichever of its names the request typed, so the username
 * and the e-mail do not each get a budget; this is safe because it runs after the answer
 * (`AfterAnswer`), which therefore never says whether an account exists or was over budget.
 *
 * Not a `FailureBudget`: every request counts, not only failures, so one atomic increment both
 * counts and decides, exact under requests sent at once and across nodes.
 */
export class ResetMailBudget {
  constructor(
    private readonly ephemeral: EphemeralStore,
    private readonly clock: Clock,
    private readonly perHour: number,
  ) {}

  /** Counts a reset mail for `userId`; true when it is within the hour's budget and may be sent. */
  async take(userId: string): Promise<boolean> {
    const now = this.clock.now();
    // A window opened by a clock since stepped back is restarted from now, its count kept, in the
    // same atomic step: else a day's step back held a spent budget for 25 hours.
    const { count } = await this.ephemeral.increment(`reset:mail:${userId}`, HOUR_MS, now, latestWindowEnd(now, HOUR_MS));
    return count <= this.perHour;
  }
}
