import type { Clock } from '../../core/clock.js';
import { PairgateError } from '../../core/errors.js';
import { FailureBudget, type BudgetCounter } from '../../engine/failure-budget.js';
import type { EphemeralStore } from '../../store/ports.js';

/** Limits of wrong supporter credentials. */
export interface AuthFailureLimits {
  /** Wrong credentials (admin or a session's own login) per client IP per window. */
  perIp: number;
  /** Wrong credentials tried on one session id per window. */
  perSession: number;
  windowMs: number;
}

/** Machine code of the 429 for too many wrong credentials (the door's `Code`). */
export const AUTH_FAILURES_CODE = 'auth_failures_exceeded';

/**
 * The attempt budget on the supporter's Basic auth, in the ephemeral store so every node shares it.
 * The routes that take credentials (`/session`, `/session/:id`, its channel, its new code) are
 * otherwise limited only by the global per-address rate, and a session's own password costs an
 * scrypt run to check: a spent budget is refused before any comparison or scrypt runs.
 *
 * The per-session counter is keyed by the id asked for, whether or not a session has it (as the
 * accounts' counter is keyed by the name typed), so a refusal never tells an attacker that a
 * session, or a login on it, exists. The admin's credentials skip it (they are no session's
 * password, and the per-IP budget covers them), so a supporter can still reach a session whose own
 * login is under attack.
 */
export class AuthFailureBudget {
  private readonly budget: FailureBudget;

  constructor(
    ephemeral: EphemeralStore,
    clock: Clock,
    private readonly limits: AuthFailureLimits,
  ) {
    this.budget = new FailureBudget(ephemeral, clock, limits.windowMs);
  }

  // `|` never appears in an address or a session id, so one key is never the prefix of another's.
  private ipCounter(ip: string): BudgetCounter {
    return { key: `support:authfail:ip|${ip}|`, limit: this.limits.perIp };
  }

  private sessionCounter(id: string): BudgetCounter {
    return { key: `support:authfail:session|${id}|`, limit: this.limits.perSession };
  }

  /**
   * Runs `check` (true when the credentials presented are right) unless `ip`, or session id
   * `sessionId` when given, has spent its failures (429 with Retry-After, before `check` runs: no
   * comparison, no scrypt). A wrong answer counts against both when credentials were presented
   * (`presented`); a request without any (a browser's first try) is never counted.
   */
  check<T extends { ok: boolean }>(ip: string, sessionId: string | undefined, presented: boolean, check: () => Promise<T>): Promise<T> {
    const counters = sessionId === undefined ? [this.ipCounter(ip)] : [this.ipCounter(ip), this.sessionCounter(sessionId)];
    return this.budget.run(counters, check, (outcome) => presented && !outcome.ok, (retryAfter, spent) => {
      const what = spent === counters[0] ? 'Too many wrong supporter credentials from your address.' : 'Too many wrong credentials for this session.';
      return new PairgateError(AUTH_FAILURES_CODE, 429, `${what} Try again in ${retryAfter} s.`, { retryAfterSeconds: retryAfter });
    });
  }
}
