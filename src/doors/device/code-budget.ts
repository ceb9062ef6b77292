import type { FastifyRequest } from 'fastify';
import type { Clock } from '../../core/clock.js';
import { RateLimitedError } from '../../core/errors.js';
import { hashToken } from '../../core/ids.js';
import type { CodeGuard } from '../../engine/code-guard.js';
import type { EphemeralStore } from '../../store/ports.js';
import { CSRF_COOKIE } from '../../web/pages.js';
import type { User } from '../accounts/users.js';
import { DEVICE_KIND } from './device-grant.js';

const HOUR_MS = 3_600_000;

/**
 * The budget of wrong user codes on /device: per client address (the shared code guard, whose
 * figure the brute-force budget is computed with) and per browser session (the signed-in account,
 * else the browser's CSRF cookie), so one person behind a shared address is stopped early and a
 * signed-in attacker cannot spread guesses over addresses. Counters live in the ephemeral store.
 */
export class CodeBudget {
  constructor(
    private readonly guard: CodeGuard,
    private readonly ephemeral: EphemeralStore,
    private readonly clock: Clock,
    private readonly perSession: number,
  ) {}

  /** The session's counter key; hashed so the store never holds a cookie value. */
  private sessionKey(request: FastifyRequest, user: User | undefined): string {
    const who = user ? `user:${user.id}` : `browser:${request.cookies?.[CSRF_COOKIE] ?? request.ip}`;
    return `device:miss:${hashToken(who)}`;
  }

  /** Throws 429 when the address or the session has spent its wrong codes. */
  async assertAllowed(request: FastifyRequest, user: User | undefined): Promise<void> {
    await this.guard.assertAllowed(DEVICE_KIND, request.ip);
    const now = this.clock.now();
    const key = this.sessionKey(request, user);
    const count = Number((await this.ephemeral.get(key, now)) ?? 0);
    if (count >= this.perSession) {
      const entry = (await this.ephemeral.list(key, now)).find((candidate) => candidate.key === key);
      const retryAfter = Math.max(1, Math.ceil(((entry?.expiresAt ?? now + HOUR_MS) - now) / 1000));
      throw new RateLimitedError(retryAfter, `Too many wrong codes. Try again in ${retryAfter} s.`);
    }
  }

  /** Counts a wrong code against both budgets. */
  async recordMiss(request: FastifyRequest, user: User | undefined): Promise<void> {
    await this.guard.recordMiss(DEVICE_KIND, request.ip);
    await this.ephemeral.increment(this.sessionKey(request, user), HOUR_MS, this.clock.now());
  }
}
