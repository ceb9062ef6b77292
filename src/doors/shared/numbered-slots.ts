import { randomInt } from 'node:crypto';
import { randomId } from '../../core/ids.js';
import type { EphemeralStore } from '../../store/ports.js';

/** A slot held in the ephemeral store: its key, its number, who holds it and until when. */
export interface HeldSlot {
  key: string;
  slot: number;
  value: string;
  expiresAt: number;
}

/** What `take` found: the slot it took, or (when none was free) the slots held then. */
export type SlotTaken = { ok: true; key: string } | { ok: false; held: HeldSlot[] };

/**
 * The whole seconds (at least 1) from `now` until the first of `held` expires: the wait a cap's 429
 * tells. A `take` that gave up with no slot listed (every one lapsed between its tries and its last
 * listing) says one second, not an endless wait.
 */
export function secondsUntilFirstFree(held: readonly HeldSlot[], now: number): number {
  const firstFree = held.length > 0 ? Math.min(...held.map((slot) => slot.expiresAt)) : now + 1000;
  return Math.max(1, Math.ceil((firstFree - now) / 1000));
}

/** How hard `take` tries before it believes the slots full. */
export interface TakeOptions {
  /**
   * Slot numbers tried with set-if-absent before listing the scope (see `probe`). Worth it for
   * large caps, where a listing reads up to `cap` entries while a probed slot is nearly always
   * free; 0 (the default) lists first, which small caps prefer since the listing is short and tells
   * who holds what.
   */
  randomProbes?: number;
  /** A listing already made at `now` (the caller needed it anyway), so the first round reuses it. */
  held?: HeldSlot[];
}

// A taken-from-under-us round means another request took each slot the listing showed free; it
// cannot recur more often than there are slots, but a bound keeps a misbehaving store from looping.
const MAX_ROUNDS = 16;

/**
 * A cap of `cap` holders per scope made exact under concurrency, on one node or many: each holder
 * takes a numbered slot (`<prefix><scope>|<n>`, n below the cap) in the ephemeral store with
 * set-if-absent, which the SQL and Redis stores do atomically, so two requests at once never get
 * the same slot and there are never more than `cap` live slots. A slot lives exactly as long as
 * what it counts (the caller gives the TTL and `now`), so nothing has to give it back on expiry.
 *
 * A count followed by a write, by contrast, lets every request of a burst read the same count and
 * pass. A request that finds every free slot taken by others before it lists again; it is refused
 * only when a listing shows all `cap` slots live, so of N requests at once exactly `cap` (less what
 * was held) succeed.
 */
export class NumberedSlots {
  /** The slot number this node probes next; -1 until the first probe. */
  private cursor = -1;

  constructor(
    private readonly store: EphemeralStore,
    /** Namespace of this cap's keys; ends with `|`. */
    private readonly prefix: string,
    private readonly cap: number,
  ) {}

  // `|` occurs in no scope (an address, a network, a name of ours), so one scope's prefix never
  // covers another's keys.
  private scopePrefix(scope: string): string {
    return `${this.prefix}${scope}|`;
  }

  /** The key of slot `n` of `scope`. */
  keyOf(scope: string, n: number): string {
    return `${this.scopePrefix(scope)}${n}`;
  }

  /** The live slots of `scope` at `now`. */
  async held(scope: string, now: number): Promise<HeldSlot[]> {
    const prefix = this.scopePrefix(scope);
    const entries = await this.store.list(prefix, now);
    return entries.map((entry) => ({ key: entry.key, slot: Number(entry.key.slice(prefix.length)), value: entry.value, expiresAt: entry.expiresAt }));
  }

  /**
   * Takes a free slot of `scope` for `value`, alive `ttlMs` from `now`; see `SlotTaken`. `value`
   * names the holder alone (a random id of its own, or a box's name): the slot is renewed and
   * given back only by that value (`renewIfHeld`, `releaseIfHeld`), so a holder that stalled past
   * its slot's lifetime never takes back nor frees a slot another holder took meanwhile.
   */
  async take(scope: string, value: string, ttlMs: number, now: number, options: TakeOptions = {}): Promise<SlotTaken> {
    for (let probe = 0; probe < (options.randomProbes ?? 0); probe++) {
      const key = this.keyOf(scope, this.probe());
      if (await this.store.setIfAbsent(key, value, ttlMs, now)) return { ok: true, key };
      // Held: most likely by another node whose cursor runs just ahead; start elsewhere.
      this.cursor = randomInt(this.cap);
    }
    let held = options.held ?? (await this.held(scope, now));
    for (let round = 0; round < MAX_ROUNDS; round++) {
      if (held.length >= this.cap) return { ok: false, held };
      const used = new Set(held.map((slot) => slot.slot));
      const free: number[] = [];
      for (let n = 0; n < this.cap; n++) if (!used.has(n)) free.push(n);
      // Requests at once start at different free slots, so most take one in their first try.
      const start = randomInt(free.length);
      for (let i = 0; i < free.length; i++) {
        const key = this.keyOf(scope, free[(start + i) % free.length]!);
        if (await this.store.setIfAbsent(key, value, ttlMs, now)) return { ok: true, key };
      }
      held = await this.held(scope, now);
    }
    return { ok: false, held };
  }

  /**
   * The slot number to probe: consecutive ones from a cursor, which starts at a random number (so
   * nodes start apart) and jumps to another after a probe finds its slot held. Consecutive keys sort
   * together, so the store writes its key index in one place rather than into a random page per
   * take (in SQLite, a random page of a large index cost more than the rest of the write); and
   * when holders live equally long, the slot after the last one taken is the one taken longest ago,
   * the likeliest to be free again. Who takes which slot is still decided by set-if-absent alone.
   */
  private probe(): number {
    const n = this.cursor < 0 ? randomInt(this.cap) : this.cursor;
    this.cursor = (n + 1) % this.cap;
    return n;
  }

  /**
   * Takes a slot of `scope` for a holder alive `ttlMs` from `now` (two random probes first, so a
   * scope well below its cap takes one without listing its slots). Returns the function that gives
   * it back, or, when every slot is held, the whole seconds until the oldest holder expires: what a
   * per-network cap answers in its 429's Retry-After.
   *
   * Each reservation holds its slot under a value of its own, and gives it back only while the
   * slot still holds that value (`releaseIfHeld`): a release that comes after the slot lapsed and
   * another request took it (a stalled process) leaves that request's slot alone.
   */
  async reserve(scope: string, ttlMs: number, now: number): Promise<{ ok: true; release: () => Promise<void> } | { ok: false; retryAfterSeconds: number }> {
    const holder = randomId(9);
    const taken = await this.take(scope, holder, ttlMs, now, { randomProbes: 2 });
    // The reservation's `now` is enough for the release: the value is this reservation's alone, so
    // whether its own lapsed entry is still there does not matter (deleting it is harmless).
    if (taken.ok) return { ok: true, release: async () => void (await this.releaseIfHeld(taken.key, holder, now)) };
    return { ok: false, retryAfterSeconds: secondsUntilFirstFree(taken.held, now) };
  }

  /**
   * Extends slot `key` to `ttlMs` from `now` only while it is live and held by `value`; false when
   * the holder lost it (it lapsed, and may be another's by now): it must not count as held then.
   */
  renewIfHeld(key: string, value: string, ttlMs: number, now: number): Promise<boolean> {
    return this.store.renewIfHeld(key, value, ttlMs, now);
  }

  /** Gives slot `key` back only while `value` holds it live; true when it did. */
  releaseIfHeld(key: string, value: string, now: number): Promise<boolean> {
    return this.store.deleteIfHeld(key, value, now);
  }
}
