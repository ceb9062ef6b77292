import type { FastifyReply, FastifyRequest } from 'fastify';
import type { Clock } from '../../core/clock.js';
import { NotFoundError, RateLimitedError, UnauthorizedError } from '../../core/errors.js';
import { constantTimeEqual, hashToken } from '../../core/ids.js';
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
  constructor(
    private readonly token: string,
    private readonly ephemeral: EphemeralStore,
    private readonly clock: Clock,
  ) {}

  /** The failure counter of an address; hashed so that the key has a fixed shape for any address. */
  private static failuresKey(address: string): string {
    return `device:admin-fail:${hashToken(address)}`;
  }

  /** Throws 404 (off), 429 (budget spent) or 401 (no token, wrong token) unless the request may go on. */
  async authenticate(request: FastifyRequest, reply: FastifyReply): Promise<void> {
    if (!this.token) {
      throw new NotFoundError('The device client admin API is off: set PAIRGATE_DEVICE_ADMIN_TOKEN (a secret of at least 32 characters) to turn it on.', 'device_admin_disabled');
    }
    const now = this.clock.now();
    const key = DeviceAdminAuth.failuresKey(request.clientNetwork);
    const failures = Number((await this.ephemeral.get(key, now)) ?? 0);
    if (failures >= ADMIN_FAILURES_PER_HOUR) {
      const entry = (await this.ephemeral.list(key, now)).find((candidate) => candidate.key === key);
      const retryAfter = Math.max(1, Math.ceil(((entry?.expiresAt ?? now + HOUR_MS) - now) / 1000));
      throw new RateLimitedError(retryAfter, `Too many wrong admin tokens from this address. Try again in ${retryAfter} s.`);
    }
    const header = request.headers.authorization;
    const presented = typeof header === 'string' ? /^Bearer\s+(\S+)\s*$/i.exec(header)?.[1] : undefined;
    if (presented !== undefined && constantTimeEqual(presented, this.token)) return;
    reply.header('www-authenticate', 'Bearer realm="pairgate-device-admin"');
    if (presented === undefined) {
      throw new UnauthorizedError('Present PAIRGATE_DEVICE_ADMIN_TOKEN as "Authorization: Bearer <token>".', 'device_admin_unauthorized');
    }
    await this.ephemeral.increment(key, HOUR_MS, now);
    throw new UnauthorizedError('This admin token is not the one configured (PAIRGATE_DEVICE_ADMIN_TOKEN).', 'device_admin_unauthorized');
  }
}
