import type { Clock } from '../../core/clock.js';
import { PairgateError } from '../../core/errors.js';
import type { EphemeralStore } from '../../store/ports.js';

/** Machine code of the relay's 429 for an address that holds its most live codes. */
export const ADDRESS_CAP_CODE = 'too_many_live_codes';

/**
 * The relay's cap on live codes per client address. The relay holds few live codes (its 30.5-bit
 * codes must stay within the brute-force budget), and the creation rate limit alone (one per 5 s)
 * would let one address hold 120 codes of 600 s and so fill it: every other origin would get 429.
 *
 * Each live code of an address holds a numbered slot in the ephemeral store (`relay|live|<ip>|<n>`,
 * n below the cap) for exactly the code's lifetime. A slot is taken with set-if-absent, so two
 * requests at once (on any node) never get the same one and the cap is never exceeded; counting
 * costs one prefix listing of at most `cap` entries.
 */
export class RelayAddressCap {
  constructor(
    private readonly ephemeral: EphemeralStore,
    private readonly clock: Clock,
    private readonly cap: number,
  ) {}

  // `|` never appears in an address, so one address's prefix never covers another's keys.
  private static prefix(ip: string): string {
    return `relay|live|${ip}|`;
  }

  /**
   * Takes a slot for a code of `ttlMs` made for `ip`; returns the function that gives it back (for a
   * code that could not be made after all). Throws 429 `too_many_live_codes`, with the wait until
   * the address's oldest code expires, when `ip` already holds `cap` live codes.
   */
  async take(ip: string, ttlMs: number): Promise<() => Promise<void>> {
    const prefix = RelayAddressCap.prefix(ip);
    let held: { key: string; expiresAt: number }[] = [];
    // A retry only when another request of the same address took the free slot in between.
    for (let attempt = 0; attempt < 3; attempt++) {
      const now = this.clock.now();
      held = await this.ephemeral.list(prefix, now);
      if (held.length >= this.cap) break;
      const used = new Set(held.map((entry) => entry.key.slice(prefix.length)));
      let slot = 0;
      while (used.has(String(slot))) slot++;
      const key = `${prefix}${slot}`;
      if (await this.ephemeral.setIfAbsent(key, '1', ttlMs, now)) return () => this.ephemeral.delete(key);
    }
    const now = this.clock.now();
    const firstFree = held.length ? Math.min(...held.map((entry) => entry.expiresAt)) : now + 1000;
    const wait = Math.max(1, Math.ceil((firstFree - now) / 1000));
    throw new PairgateError(ADDRESS_CAP_CODE, 429, `Your address holds ${this.cap} live codes, the most this relay allows. Try again in ${wait} s.`, { retryAfterSeconds: wait });
  }
}
