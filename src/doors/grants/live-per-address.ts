import { PairgateError } from '../../core/errors.js';
import type { EphemeralStore } from '../../store/ports.js';
import { NumberedSlots } from '../shared/numbered-slots.js';

/** Machine code of the 429 for an address that holds its most live grants. */
export const LIVE_PER_ADDRESS_CODE = 'too_many_live_grants';

/**
 * The generic grant API's cap on live grants per client network. The server-wide cap
 * (PAIRGATE_MAX_LIVE_CODES, what the brute-force budget is computed for) alone let one address
 * fill it: at the creation rate allowed to one address (120 a minute) and the default lifetime
 * (600 s) it holds 1200, and every other client was refused for as long as it went on.
 *
 * On the shared stores (PostgreSQL, Redis) each grant holds a numbered slot
 * (`grants|live|<network>|<n>`) for its lifetime, taken with set-if-absent, so the cap holds under
 * bursts and across nodes (NumberedSlots). A store that counts owners (the SQLite store) keeps the
 * cap itself instead, from the grant's owner column (`NewGrant.ownerCap`), and this class is not
 * used. Either way a grant counts until it would expire, decided or not, as it does toward the
 * server-wide cap.
 */
export class LiveGrantsPerAddress {
  private readonly slots: NumberedSlots;

  constructor(ephemeral: EphemeralStore, private readonly cap: number) {
    this.slots = new NumberedSlots(ephemeral, 'grants|live|', cap);
  }

  /**
   * Takes a slot for a grant of `ttlMs` created by `network`; returns the function that gives it
   * back (for a grant that could not be made after all). Throws 429 `too_many_live_grants`, with
   * the wait until the network's oldest grant expires, when it holds `cap` live grants.
   */
  async take(network: string, ttlMs: number, now: number): Promise<() => Promise<void>> {
    const reserved = await this.slots.reserve(network, ttlMs, now);
    if (reserved.ok) return reserved.release;
    throw tooManyLiveGrants(this.cap, reserved.retryAfterSeconds);
  }
}

/** The 429 for an address that holds `cap` live grants, to retry in `wait` seconds (at least 1). */
export function tooManyLiveGrants(cap: number, wait: number): PairgateError {
  const seconds = Math.max(1, wait);
  return new PairgateError(LIVE_PER_ADDRESS_CODE, 429, `Your address holds ${cap} live grants, the most this server allows one address. Try again in ${seconds} s.`, { retryAfterSeconds: seconds });
}
