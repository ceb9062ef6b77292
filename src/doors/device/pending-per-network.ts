import { randomId } from '../../core/ids.js';
import type { EphemeralStore } from '../../store/ports.js';
import { NumberedSlots, secondsUntilFirstFree } from '../shared/numbered-slots.js';
import { OAuthError } from './oauth-errors.js';

/** pairgate's machine code (`pairgate_error`) of the 429 for a network holding its most waiting device authorizations. */
export const TOO_MANY_PENDING_CODE = 'too_many_pending';

/**
 * Which slot a device authorization holds and under which value (none when no share is kept): kept
 * with the authorization, so that any node can give the place back when the authorization ends
 * before its time (`PendingPerNetwork.giveBack`).
 */
export interface PendingSlot {
  key: string;
  holder: string;
}

/** A network's place taken: how to give it back, and how many the network then holds. */
export interface PendingPlace {
  release: () => Promise<void>;
  /** The slot taken, to keep with the authorization (undefined when no share is kept). */
  slot: PendingSlot | undefined;
  /** The network's waiting authorizations, this one included (0 when no share is kept). */
  held: number;
  /** Seconds until the network's oldest waiting authorization expires. */
  oldestEndsIn: number;
}

/**
 * The cap on device authorizations one client network (an IPv4 address or an IPv6 /64) may have
 * waiting at once. The server-wide cap (PAIRGATE_DEVICE_MAX_PENDING, what the brute-force budget is
 * computed for) alone let a few addresses fill it: at the rate one address may ask
 * (PAIRGATE_DEVICE_AUTHORIZATIONS_PER_MINUTE, 30) and the codes' lifetime (600 s) it holds 300, so
 * four addresses kept every device of every client from pairing for as long as they went on.
 *
 * Each authorization holds a numbered slot (`device|pending|<network>|<n>`) for its lifetime, taken
 * with set-if-absent, so the cap holds under bursts and across nodes (NumberedSlots). An
 * authorization counts until it would expire, decided or not, unless it is ended because its client
 * may no longer be granted what it asked for (`giveBack`): then no one can ever decide it.
 */
export class PendingPerNetwork {
  private readonly slots: NumberedSlots | undefined;

  constructor(ephemeral: EphemeralStore, private readonly cap: number, serverWide: number) {
    // A cap at or above the server-wide one adds nothing: that one refuses first.
    this.slots = cap < serverWide ? new NumberedSlots(ephemeral, 'device|pending|', cap) : undefined;
  }

  /**
   * Takes a slot for an authorization of `ttlMs` asked from `network`; returns the place (its
   * `release` gives it back, for an authorization that could not be made after all). Throws 429 (OAuth
   * `rate_limited`, `pairgate_error` `too_many_pending`) with the wait until the network's oldest
   * authorization expires, when the network holds `cap` of them.
   */
  async take(network: string, ttlMs: number, now: number): Promise<PendingPlace> {
    if (!this.slots) return { release: async () => {}, slot: undefined, held: 0, oldestEndsIn: 0 };
    const holder = randomId(9);
    const taken = await this.slots.take(network, holder, ttlMs, now, { randomProbes: 2 });
    if (!taken.ok) {
      const wait = secondsUntilFirstFree(taken.held, now);
      throw new OAuthError(TOO_MANY_PENDING_CODE, `Your network already has ${this.cap} device authorizations waiting, the most this server allows one network (PAIRGATE_DEVICE_MAX_PENDING_PER_IP). Finish or abandon some, or try again in ${wait} s.`, 429, { retryAfterSeconds: wait });
    }
    const slot = { key: taken.key, holder };
    const release = async (): Promise<void> => this.giveBack(slot, now);
    let held;
    try {
      held = await this.slots.held(network, now);
    } catch (error) {
      // The place was taken: given back, or it would stay held, counted, until it expired.
      await release().catch(() => undefined);
      throw error;
    }
    const oldest = Math.min(...held.map((slot) => slot.expiresAt));
    return { release, slot, held: held.length, oldestEndsIn: Math.max(1, Math.ceil((oldest - now) / 1000)) };
  }

  /**
   * Gives back the place `slot` holds, only while it still holds it (a slot that lapsed and was
   * taken by another authorization since stays that one's); giving it back twice does nothing.
   */
  async giveBack(slot: PendingSlot | undefined, now: number): Promise<void> {
    if (slot && this.slots) await this.slots.releaseIfHeld(slot.key, slot.holder, now);
  }
}

/** The 429 of a crowded network when half the server's places are taken (`crowdedCapacity`). */
export function crowdedNetworkRefusal(place: PendingPlace): OAuthError {
  return new OAuthError(TOO_MANY_PENDING_CODE, `This server has many device authorizations waiting, and your network already has ${place.held - 1} of them. Finish or abandon some, or try again in ${place.oldestEndsIn} s.`, 429, { retryAfterSeconds: place.oldestEndsIn });
}
