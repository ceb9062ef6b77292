import { randomId } from '../../core/ids.js';
import type { Clock } from '../../core/clock.js';
import type { EphemeralStore } from '../../store/ports.js';

/** How long a supporter's mark lasts without renewal: how long a crashed node's supporters still count. */
export const PRESENCE_MS = 30_000;
/** How often an attached supporter's mark is renewed. */
const RENEW_MS = PRESENCE_MS / 3;

/**
 * Which supporters are attached to a session, across every node: each supporter socket keeps a
 * mark in the ephemeral store (shared by the nodes) while it is open, renewed like an agent's
 * lease, so the node holding the agent can tell the person whether anyone is on the other side.
 * Should a node die holding supporters, their marks run out within PRESENCE_MS.
 */
export class SupporterPresence {
  constructor(
    private readonly ephemeral: EphemeralStore,
    private readonly clock: Clock,
  ) {}

  private static prefix(grantId: string): string {
    return `support:supporter|${grantId}|`;
  }

  /** Marks one more supporter attached to session `grantId`; returns the function that removes the mark. */
  async mark(grantId: string): Promise<() => Promise<void>> {
    const key = `${SupporterPresence.prefix(grantId)}${randomId(12)}`;
    await this.ephemeral.set(key, '1', PRESENCE_MS, this.clock.now());
    const renewal = setInterval(() => {
      void this.ephemeral.set(key, '1', PRESENCE_MS, this.clock.now()).catch(() => undefined);
    }, RENEW_MS);
    renewal.unref();
    return async () => {
      clearInterval(renewal);
      await this.ephemeral.delete(key);
    };
  }

  /** Whether any supporter, on any node, is attached to session `grantId` now. */
  async anyAttached(grantId: string): Promise<boolean> {
    return (await this.ephemeral.list(SupporterPresence.prefix(grantId), this.clock.now())).length > 0;
  }
}
