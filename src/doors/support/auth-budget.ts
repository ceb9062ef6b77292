import type { Clock } from '../../core/clock.js';
import { PairgateError } from '../../core/errors.js';
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
  constructor(
    private readonly ephemeral: EphemeralStore,
    private readonly clock: Clock,
    private readonly limits: AuthFailureLimits,
  ) {}

  // `|` never appears in an address or a session id, so one key is never the prefix of another's.
  private static ipKey(ip: string): string {
    return `support:authfail:ip|${ip}|`;
  }

  private static sessionKey(id: string): string {
    return `support:authfail:session|${id}|`;
  }

  /** Throws 429 (with Retry-After) once `ip` has spent its failures. */
  async assertIpAllowed(ip: string): Promise<void> {
    await this.assertBelow(AuthFailureBudget.ipKey(ip), this.limits.perIp, 'Too many wrong supporter credentials from your address.');
  }

  /** Throws 429 (with Retry-After) once session id `id` has had too many wrong credentials. */
  async assertSessionAllowed(id: string): Promise<void> {
    await this.assertBelow(AuthFailureBudget.sessionKey(id), this.limits.perSession, 'Too many wrong credentials for this session.');
  }

  /** Counts wrong credentials from `ip`, and against session id `id` when given. */
  async recordFailure(ip: string, id?: string): Promise<void> {
    const now = this.clock.now();
    await this.ephemeral.increment(AuthFailureBudget.ipKey(ip), this.limits.windowMs, now);
    if (id !== undefined) await this.ephemeral.increment(AuthFailureBudget.sessionKey(id), this.limits.windowMs, now);
  }

  private async assertBelow(key: string, max: number, message: string): Promise<void> {
    const now = this.clock.now();
    const value = await this.ephemeral.get(key, now);
    if (value === undefined || Number(value) < max) return;
    // Only a refusal pays for the reset time (list matches by prefix: pick the exact key).
    const entry = (await this.ephemeral.list(key, now)).find((candidate) => candidate.key === key);
    const retryAfter = Math.max(1, Math.ceil(((entry?.expiresAt ?? now + this.limits.windowMs) - now) / 1000));
    throw new PairgateError(AUTH_FAILURES_CODE, 429, `${message} Try again in ${retryAfter} s.`, { retryAfterSeconds: retryAfter });
  }
}
