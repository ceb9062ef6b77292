import type { Clock } from '../../core/clock.js';
import { RateLimitedError } from '../../core/errors.js';
import { hashToken } from '../../core/ids.js';
import type { EphemeralStore } from '../../store/ports.js';

const HOUR_MS = 3_600_000;

/**
 * The budget of wrong link tokens. Chat calls all come from the chat server's address, so a
 * per-address budget would let one user lock out a whole workspace; the budget is instead per chat
 * user and per installation (which bounds an attacker holding many chat accounts). Only calls
 * signed with the installation's secret get here, and a token found through another organization's
 * installation is never spent nor confirmed, so guessing from an installation of one's own is
 * useless. Counters live in the ephemeral store, so they hold across nodes.
 */
export class LinkBudget {
  constructor(
    private readonly ephemeral: EphemeralStore,
    private readonly clock: Clock,
    private readonly perUser: number,
    private readonly perInstallation: number,
  ) {}

  private keys(installationId: string, externalUserId: string): { user: string; installation: string } {
    return {
      user: `install:miss:user:${hashToken(`${installationId}:${externalUserId}`)}`,
      installation: `install:miss:inst:${installationId}`,
    };
  }

  /** Throws 429 when the chat user or the installation has spent its wrong tokens. */
  async assertAllowed(installationId: string, externalUserId: string): Promise<void> {
    const now = this.clock.now();
    const { user, installation } = this.keys(installationId, externalUserId);
    for (const [key, limit] of [[user, this.perUser], [installation, this.perInstallation]] as const) {
      const count = Number((await this.ephemeral.get(key, now)) ?? 0);
      if (count >= limit) {
        const entry = (await this.ephemeral.list(key, now)).find((candidate) => candidate.key === key);
        const retryAfter = Math.max(1, Math.ceil(((entry?.expiresAt ?? now + HOUR_MS) - now) / 1000));
        throw new RateLimitedError(retryAfter, `Too many wrong link tokens. Try again in ${Math.ceil(retryAfter / 60)} minutes.`);
      }
    }
  }

  /** Counts a wrong token against both budgets. */
  async recordMiss(installationId: string, externalUserId: string): Promise<void> {
    const now = this.clock.now();
    const { user, installation } = this.keys(installationId, externalUserId);
    await this.ephemeral.increment(user, HOUR_MS, now);
    await this.ephemeral.increment(installation, HOUR_MS, now);
  }
}
