import { randomId } from '../../core/ids.js';
import type { Clock } from '../../core/clock.js';
import type { EphemeralStore } from '../../store/ports.js';

/** How long a lease lasts without renewal: how long a crashed node's agent blocks a new one. */
export const AGENT_LEASE_MS = 30_000;
/** How often a connected agent's lease is renewed. */
const RENEW_MS = AGENT_LEASE_MS / 3;

/**
 * One agent per session across every node: the node that accepts an agent takes the session's
 * lease in the ephemeral store (shared by the nodes), renews it while the socket is open and gives
 * it back when it closes. A second agent, on whichever node, finds the lease taken. Should a node
 * die holding one, the lease runs out within AGENT_LEASE_MS.
 */
export class AgentLeases {
  constructor(
    private readonly ephemeral: EphemeralStore,
    private readonly clock: Clock,
  ) {}

  private static key(grantId: string): string {
    return `support:agent:${grantId}`;
  }

  /**
   * Takes the lease of session `grantId` for an agent; returns the function that gives it back
   * (call it when the agent's socket closes), or undefined when another agent holds it.
   */
  async acquire(grantId: string): Promise<(() => void) | undefined> {
    const key = AgentLeases.key(grantId);
    const holder = randomId(12);
    if (!(await this.ephemeral.setIfAbsent(key, holder, AGENT_LEASE_MS, this.clock.now()))) return undefined;
    const renewal = setInterval(() => {
      void this.ephemeral.set(key, holder, AGENT_LEASE_MS, this.clock.now()).catch(() => undefined);
    }, RENEW_MS);
    renewal.unref();
    let released = false;
    return () => {
      if (released) return;
      released = true;
      clearInterval(renewal);
      // Only our own lease goes (after a long stall another agent may hold it by now).
      void this.ephemeral
        .get(key, this.clock.now())
        .then((current) => (current === holder ? this.ephemeral.delete(key) : undefined))
        .catch(() => undefined);
    };
  }
}
