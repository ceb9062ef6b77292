import type { FastifyRequest } from 'fastify';
import { RateLimitedError } from '../../core/errors.js';
import { hashToken } from '../../core/ids.js';
import type { CodeGuard } from '../../engine/code-guard.js';
import type { Pages } from '../../web/pages.js';
import type { User } from '../accounts/users.js';
import { DEVICE_KIND } from './device-grant.js';

/**
 * The budget of wrong user codes on /device: per client address (the shared code guard's counter,
 * whose figure the brute-force budget is computed with) and per browser session (the signed-in
 * account, else the browser's CSRF cookie), so one person behind a shared address is stopped early
 * and a signed-in attacker cannot spread guesses over addresses. Counters live in the ephemeral
 * store; the guard's FailureBudget keeps them exact under concurrent guesses.
 */
export class CodeBudget {
  constructor(
    private readonly guard: CodeGuard,
    private readonly perSession: number,
    private readonly pages: Pages,
  ) {}

  /** The session's counter key; hashed so the store never holds a cookie value. */
  private sessionKey(request: FastifyRequest, user: User | undefined): string {
    const who = user ? `user:${user.id}` : `browser:${this.pages.csrfCookieValue(request) ?? request.clientNetwork}`;
    return `device:miss:${hashToken(who)}`;
  }

  /**
   * Runs `lookup` unless the address or the session has spent its wrong codes (429), counting a
   * wrong code against both when it finds nothing; a malformed code (the lookup throws) is not counted.
   */
  lookup<T>(request: FastifyRequest, user: User | undefined, lookup: () => Promise<T | undefined>): Promise<T | undefined> {
    const counters = [...this.guard.counters(DEVICE_KIND, request.clientNetwork), { key: this.sessionKey(request, user), limit: this.perSession }];
    return this.guard.budget.run(counters, lookup, (found) => found === undefined, (retryAfter) => new RateLimitedError(retryAfter, `Too many wrong codes. Try again in ${retryAfter} s.`));
  }
}
