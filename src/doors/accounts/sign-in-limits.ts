import { RateLimitedError } from '../../core/errors.js';
import { hashToken } from '../../core/ids.js';
import type { Clock } from '../../core/clock.js';
import type { EphemeralStore } from '../../store/ports.js';

/** Limits of failed sign-ins. */
export interface SignInLimitOptions {
  perAccount: number;
  perIp: number;
  windowMs: number;
}

/**
 * Failed sign-in budgets, per account name and per client IP, in the ephemeral store (so every
 * node shares them). The account counter is keyed by the name typed, whether or not it exists, so
 * a refusal never tells an attacker that an account exists.
 */
export class SignInLimits {
  constructor(
    private readonly ephemeral: EphemeralStore,
    private readonly clock: Clock,
    private readonly options: SignInLimitOptions,
  ) {}

  private keys(login: string, ip: string): { account: string; ip: string } {
    // The typed name is hashed: the store never holds names people typed (they may be passwords).
    return { account: `signin:acct:${hashToken(login.trim().toLowerCase())}`, ip: `signin:ip:${ip}` };
  }

  /** Throws 429 when the account name or the IP has spent its failures. */
  async assertAllowed(login: string, ip: string): Promise<void> {
    const now = this.clock.now();
    const keys = this.keys(login, ip);
    for (const [key, max] of [[keys.account, this.options.perAccount], [keys.ip, this.options.perIp]] as const) {
      const value = await this.ephemeral.get(key, now);
      if (value !== undefined && Number(value) >= max) {
        // list() matches by prefix: pick the exact key for its reset time.
        const entry = (await this.ephemeral.list(key, now)).find((candidate) => candidate.key === key);
        throw new RateLimitedError(Math.max(1, Math.ceil(((entry?.expiresAt ?? now + this.options.windowMs) - now) / 1000)), 'Too many failed sign-ins. Try again later.');
      }
    }
  }

  /** Counts a failure against both budgets. */
  async recordFailure(login: string, ip: string): Promise<void> {
    const now = this.clock.now();
    const keys = this.keys(login, ip);
    await this.ephemeral.increment(keys.account, this.options.windowMs, now);
    await this.ephemeral.increment(keys.ip, this.options.windowMs, now);
  }
}
