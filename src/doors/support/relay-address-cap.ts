import type { Clock } from '../../core/clock.js';
import { PairgateError } from '../../core/errors.js';
import { randomId } from '../../core/ids.js';
import type { EphemeralStore } from '../../store/ports.js';
import { NumberedSlots, secondsUntilFirstFree } from '../shared/numbered-slots.js';

/** Machine code of the relay's 429 for an address that holds its most live codes. */
export const ADDRESS_CAP_CODE = 'too_many_live_codes';

/**
 * The relay's cap on live codes per client address. The relay holds few live codes (its 30.5-bit
 * codes must stay within the brute-force budget), and the creation rate limit alone (one per 5 s)
 * would let one address hold 120 codes of 600 s and so fill it: every other origin would get 429.
 *
 * Each live code of an address holds a numbered slot (`relay|live|<address>|<n>`) for exactly the
 * code's lifetime (`NumberedSlots`: set-if-absent, so two requests at once, on any node, never get
 * the same one and the cap is never exceeded, nor refused while a slot is free).
 */
export class RelayAddressCap {
  private readonly slots: NumberedSlots;

  constructor(
    ephemeral: EphemeralStore,
    private readonly clock: Clock,
    private readonly cap: number,
  ) {
    this.slots = new NumberedSlots(ephemeral, 'relay|live|', cap);
  }

  /**
   * Takes a slot for a code of `ttlMs` made for `address`; returns the function that gives it back
   * (for a code that could not be made after all). Throws 429 `too_many_live_codes`, with the wait
   * until the address's oldest code expires, when `address` already holds `cap` live codes.
   */
  async take(address: string, ttlMs: number): Promise<() => Promise<void>> {
    const now = this.clock.now();
    // A value of this code's own: the slot goes back only while it still holds it, so a release
    // that comes after the slot lapsed and another code took it (a stalled node) leaves that one.
    const holder = randomId(9);
    const taken = await this.slots.take(address, holder, ttlMs, now);
    if (taken.ok) return async () => void (await this.slots.releaseIfHeld(taken.key, holder, now));
    const wait = secondsUntilFirstFree(taken.held, now);
    throw new PairgateError(ADDRESS_CAP_CODE, 429, `Your address holds ${this.cap} live codes, the most this relay allows. Try again in ${wait} s.`, { retryAfterSeconds: wait });
  }
}
