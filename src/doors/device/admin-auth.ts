import type { FastifyReply, FastifyRequest } from 'fastify';
import type { Clock } from '../../core/clock.js';
import { NotFoundError, RateLimitedError, UnauthorizedError } from '../../core/errors.js';
import { constantTimeEqual, hashToken } from '../../core/ids.js';
import { FailureBudget } from '../../engine/failure-budget.js';
import type { EphemeralStore } from '../../store/ports.js';

/** Wrong admin tokens one address may present per hour; past it every attempt from it is refused. */
export const ADMIN_FAILURES_PER_HOUR = 10;
const HOUR_MS = 3_600_000;

/**
 * Who may use the device client admin API: whoever presents PAIRGATE_DEVICE_ADMIN_TOKEN as a
 * Bearer token. Empty, the API is off and says which key turns it on. Wrong tokens are counted per
 * address in the ephemeral store (so the budget holds across nodes); once an address has spent
 * its budget even the right token is refused until the hour is over, so the answer never tells a
 * guesser that a guess was right. A request without any token is not a guess and is not counted.
 */
export class DeviceAdminAuth {
  private readonly budget: FailureBudget;

  constructor(
    private readonly token: string,
    ephemeral: EphemeralStore,
    clock: Clock,
  ) {
    this.budget = new FailureBudget(ephemeral, clock, HOUR_MS);
  }

  /** Throws 404 (off), 429 (budget spent) or 401 (no token, wrong token) unless the request may go on. */
  async authenticate(request: FastifyRequest, reply: FastifyReply): Promise<void> {
    if (!this.token) {
      throw new NotFoundError('The device client admin API is off: set PAIRGATE_DEVICE_ADMIN_TOKEN (a secret of at least 32 characters) to turn it on.', 'device_admin_disabled');
    }
    const header = request.headers.authorization;
    const presented = typeof header === 'string' ? /^Bearer\s+(\S+)\s*$/i.exec(header)?.[1] : undefined;
    // The counter is keyed by the hash of the address, so its key has one shape for any address.
    const counter = { key: `device:admin-fail:${hashToken(request.clientNetwork)}`, limit: ADMIN_FAILURES_PER_HOUR };
    const right = await this.budget.run([counter], async () => presented !== undefined && constantTimeEqual(presented, this.token),
      // A request without any token is not a guess.
      (ok) => !ok && presented !== undefined,
      (retryAfter) => new RateLimitedError(retryAfter, `Too many wrong admin tokens from this address. Try again in ${retryAfter} s.`));
    if (right) return;
    reply.header('www-authenticate', 'Bearer realm="pairgate-device-admin"');
    if (presented === undefined) {
      throw new UnauthorizedError('Present PAIRGATE_DEVICE_ADMIN_TOKEN as "Authorization: Bearer <token>".', 'device_admin_unauthorized');
    }
    throw new UnauthorizedError('This admin token is not the one configured (PAIRGATE_DEVICE_ADMIN_TOKEN).', 'device_admin_unauthorized');
  }
}
