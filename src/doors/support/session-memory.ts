import type { Clock } from '../../core/clock.js';
import type { EphemeralStore } from '../../store/ports.js';
import type { SessionGrant } from './session-model.js';

/**
 * How long after its expiry a session is still answered as `expired` (then 404), as the device door
 * keeps answering `expired_token` for an hour after a device code's expiry.
 */
export const EXPIRED_MEMORY_MS = 3_600_000;

/** What is kept of a session so that it can be answered as `expired` once its grant is gone. */
export interface SessionMemory {
  grantId: string;
  id: string;
  version: number;
  supporterName: string;
  supporterAvatar: string;
  pairing: boolean;
  createdAt: number;
  expiresAt: number;
  /** The session's own login, so it may still read its session's end. */
  username: string | null;
  passwordHash: string | null;
}

/**
 * The memory of sessions after expiry. Stores never return an expired grant (the sweeper deletes
 * them), so a session's `expired` state cannot be read from its grant: each session leaves a note
 * in the ephemeral store when it is created, living until an hour after its expiry. A session that
 * ends before its expiry (deleted, or ended by either side) takes its note with it, and is 404.
 */
export class SessionMemories {
  constructor(
    private readonly ephemeral: EphemeralStore,
    private readonly clock: Clock,
  ) {}

  private static key(grantId: string): string {
    return `support:memory|${grantId}`;
  }

  /** Leaves the note of a new session (replacing that of an expired one that had the same id). */
  async remember(session: SessionGrant): Promise<void> {
    const now = this.clock.now();
    const memory: SessionMemory = {
      grantId: session.id,
      id: session.request.id,
      version: session.version,
      supporterName: session.request.supporterName,
      supporterAvatar: session.request.supporterAvatar,
      pairing: session.request.pairingGrantId !== null,
      createdAt: session.createdAt,
      expiresAt: session.expiresAt,
      username: session.request.username,
      passwordHash: session.request.passwordHash,
    };
    await this.ephemeral.set(SessionMemories.key(session.id), JSON.stringify(memory), Math.max(0, session.expiresAt - now) + EXPIRED_MEMORY_MS, now);
  }

  /** The note of session `grantId` once it has expired; undefined while it has not, or when it ended early or long ago. */
  async expired(grantId: string): Promise<SessionMemory | undefined> {
    const now = this.clock.now();
    const raw = await this.ephemeral.get(SessionMemories.key(grantId), now);
    if (raw === undefined) return undefined;
    const memory = JSON.parse(raw) as SessionMemory;
    return now >= memory.expiresAt ? memory : undefined;
  }

  /** Forgets session `grantId` (it ended before its expiry, or its end was deleted). */
  async forget(grantId: string): Promise<void> {
    await this.ephemeral.delete(SessionMemories.key(grantId));
  }
}
