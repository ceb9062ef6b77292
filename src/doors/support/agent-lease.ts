import { randomId } from '../../core/ids.js';
import type { Clock } from '../../core/clock.js';
import type { EphemeralStore } from '../../store/ports.js';
import { keepHold } from './kept-hold.js';

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
   *
   * Renewals and the release touch the lease only while this agent holds it: a node that stalled
   * past the lease's lifetime (a GC pause, a stopped VM, a slow store) must neither take back a
   * lease another agent took meanwhile (both would then count as the session's one agent) nor
   * give that agent's lease away. A renewal that finds the lease lapsed and free takes it again;
   * one that finds it held by another stops renewing and calls `onLost`, once: the caller should
   * cut this agent off, as another is the session's agent now.
   */
  async acquire(grantId: string, onLost?: () => void): Promise<(() => void) | undefined> {
    const key = AgentLeases.key(grantId);
    const holder = randomId(12);
    if (!(await this.ephemeral.setIfAbsent(key, holder, AGENT_LEASE_MS, this.clock.now()))) return undefined;
    const hold = keepHold({
      everyMs: RENEW_MS,
      renew: () => this.ephemeral.renewIfHeld(key, holder, AGENT_LEASE_MS, this.clock.now()),
      // Lapsed and taken by nobody: still this agent's to take.
      retake: () => this.ephemeral.setIfAbsent(key, holder, AGENT_LEASE_MS, this.clock.now()),
      onLost,
    });
    let released = false;
    return () => {
      if (released) return;
      released = true;
      // Only our own lease goes (after a long stall another agent may hold it by now), in one step.
      void hold.stop().then(() => this.ephemeral.deleteIfHeld(key, holder, this.clock.now())).catch(() => undefined);
    };
  }

  /**
   * Whether some agent, on any node, holds the lease of session `grantId` now: after an agent lost
   * it (`onLost`), whether another is the session's agent, still connected.
   */
  async held(grantId: string): Promise<boolean> {
    return (await this.ephemeral.get(AgentLeases.key(grantId), this.clock.now())) !== undefined;
  }
}
