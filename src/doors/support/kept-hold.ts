/** How a hold in the ephemeral store (an agent's lease, a supporter's mark) is kept: see `keepHold`. */
export interface HoldKeeping {
  /** How often the hold is renewed: a fraction of its lifetime, so one late renewal does not lose it. */
  everyMs: number;
  /**
   * Renews the hold only while it is still this holder's (`renewIfHeld`); false once it is lost
   * (it lapsed, and may be another's by now). A renewal that wrote it whoever held it would take
   * back a hold another took after a stall, and both would count as one.
   */
  renew(): Promise<boolean>;
  /** Takes the hold again once it was found lost; false when it cannot (another holds it, or every slot is taken). */
  retake(): Promise<boolean>;
  /** Called once when the hold is lost and could not be taken again, unless `stop` was called first. */
  onLost?: (() => void) | undefined;
}

/** A hold being kept. */
export interface KeptHold {
  /**
   * Stops the renewals. Resolves once the renewal under way, if any, has landed: the caller gives
   * the hold back after that, or a renewal landing just after the release would bring the hold
   * back for a whole lifetime after its holder left.
   */
  stop(): Promise<void>;
}

/**
 * Keeps a hold for as long as its holder is there: renews it every `everyMs`; a renewal that finds
 * it lost takes it again, and when that fails too the renewals stop and `onLost` is called, once,
 * so that the caller cuts the holder off (another is the session's agent now, or one supporter
 * more than the cap would stay attached). One renewal runs at a time: with a store slower than
 * `everyMs`, two that each found the hold lost would both try to take it again, and the one that
 * lost that race to the other would call `onLost` on a hold still held (or take a second slot).
 * After `stop`, a lost hold is not taken again: its holder left.
 */
export function keepHold(keeping: HoldKeeping): KeptHold {
  let stopped = false;
  let inFlight = false;
  let renewing: Promise<void> = Promise.resolve();
  const keptOnce = async (): Promise<boolean> => (await keeping.renew()) || (!stopped && (await keeping.retake()));
  const renewal = setInterval(() => {
    if (inFlight) return;
    inFlight = true;
    renewing = keptOnce()
      .then((held) => {
        if (held) return;
        clearInterval(renewal);
        // A holder that left meanwhile is gone already: nothing to cut off.
        if (!stopped) keeping.onLost?.();
      })
      // A store that failed says nothing of the hold: the next renewal asks again.
      .catch(() => undefined)
      .finally(() => (inFlight = false));
  }, keeping.everyMs);
  renewal.unref();
  return {
    stop: () => {
      stopped = true;
      clearInterval(renewal);
      return renewing;
    },
  };
}
