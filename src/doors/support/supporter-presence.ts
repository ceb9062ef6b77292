import { randomId } from '../../core/ids.js';
import type { Clock } from '../../core/clock.js';
import type { EphemeralStore } from '../../store/ports.js';
import { NumberedSlots } from '../shared/numbered-slots.js';
import { keepHold } from './kept-hold.js';

/** How long a supporter's mark lasts without renewal by default: how long a crashed node's supporters still count. */
export const PRESENCE_MS = 30_000;

/** Supporter sockets one session may have attached at once, across every node, by default. */
export const MAX_SUPPORTERS = 8;

/**
 * Which supporters are attached to a session, across every node: each supporter socket keeps a
 * mark in the ephemeral store (shared by the nodes) while it is open, renewed like an agent's
 * lease, so the node holding the agent can tell the person whether anyone is on the other side.
 * Should a node die holding supporters, their marks run out within `lifetimeMs`.
 *
 * The marks are also the session's cap on supporter sockets: each is a numbered slot
 * (`NumberedSlots`, set-if-absent), so at most `maxSupporters` are attached at once, whichever
 * nodes they reached and however many open at the same moment. Without it, one supporter
 * credential could open any number of sockets to one session, each sent the history, every
 * message and the pings, and each keeping a renewed mark.
 */
export class SupporterPresence {
  private readonly slots: NumberedSlots;

  constructor(
    private readonly ephemeral: EphemeralStore,
    private readonly clock: Clock,
    /** How long a mark lasts without renewal; marks are renewed three times as often. */
    readonly lifetimeMs: number = PRESENCE_MS,
    /** Supporter sockets of one session at once (the slots of its marks). */
    readonly maxSupporters: number = MAX_SUPPORTERS,
  ) {
    // Slot keys are `support:supporter|<session id>|<n>`: a session id holds no `|`
    // (SESSION_ID_PATTERN), and marks of the random-suffixed form of earlier versions, listed under
    // the same prefix, still count as attached (and against the cap) until they lapse.
    this.slots = new NumberedSlots(ephemeral, 'support:supporter|', maxSupporters);
  }

  private static prefix(grantId: string): string {
    return `support:supporter|${grantId}|`;
  }

  private static seenKey(grantId: string): string {
    return `support:agent-saw-supporter|${grantId}`;
  }

  /**
   * Marks one more supporter attached to session `grantId`; returns the function that removes the
   * mark, or undefined when `maxSupporters` are attached already (nothing was marked).
   *
   * A renewal that finds the mark lost (it lapsed: a stalled node or store) takes a free slot
   * again; when every slot is taken by then, the supporter no longer counts as attached nor
   * against the cap, its renewals stop and `onLost` is called, once: the caller should cut it off
   * as over the cap, or one more than `maxSupporters` would stay attached.
   */
  async mark(grantId: string, onLost?: () => void): Promise<(() => Promise<void>) | undefined> {
    const holder = randomId(12);
    const taken = await this.slots.take(grantId, holder, this.lifetimeMs, this.clock.now());
    if (!taken.ok) return undefined;
    let key = taken.key;
    const hold = keepHold({
      everyMs: this.lifetimeMs / 3,
      renew: () => this.slots.renewIfHeld(key, holder, this.lifetimeMs, this.clock.now()),
      // The supporter is still attached: a mark that lapsed takes a free slot again, its key from then on.
      retake: async () => {
        const again = await this.slots.take(grantId, holder, this.lifetimeMs, this.clock.now());
        if (again.ok) key = again.key;
        return again.ok;
      },
      onLost,
    });
    return async () => {
      await hold.stop();
      // Only this supporter's own mark goes: after a stall past its lifetime, the slot may be
      // another supporter's by now, and deleting it would let one more than the cap attach.
      await this.slots.releaseIfHeld(key, holder, this.clock.now());
    };
  }

  /** Whether any supporter, on any node, is attached to session `grantId` now. */
  async anyAttached(grantId: string): Promise<boolean> {
    return (await this.ephemeral.list(SupporterPresence.prefix(grantId), this.clock.now())).length > 0;
  }

  /**
   * Notes that the person of session `grantId` was told a supporter is attached, for the rest of
   * the session (`ttlMs`): a supporter attaching later is a return, not the first one they meet.
   */
  async noteAgentSawSupporter(grantId: string, ttlMs: number): Promise<void> {
    await this.ephemeral.set(SupporterPresence.seenKey(grantId), '1', Math.max(1_000, ttlMs), this.clock.now());
  }

  /** Whether the person of session `grantId` was ever told a supporter is attached (on any node). */
  async agentSawSupporter(grantId: string): Promise<boolean> {
    return (await this.ephemeral.get(SupporterPresence.seenKey(grantId), this.clock.now())) !== undefined;
  }
}
