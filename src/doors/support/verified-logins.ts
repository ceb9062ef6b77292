import { createHmac, randomBytes } from 'node:crypto';
import type { Clock } from '../../core/clock.js';

/** How long a verified login is taken as verified without another scrypt. */
export const VERIFIED_LOGIN_TTL_MS = 60_000;

/** How many verified logins a node keeps at most; one more evicts the oldest. */
export const VERIFIED_LOGINS_MAX = 1000;

/** Who a session's own login proved to be: the session (its grant id) and the login's name. */
export interface VerifiedLogin {
  sessionGrantId: string;
  username: string;
}

/** What a login is checked against: who it claims to be, with the session's stored scrypt hash. */
export interface LoginClaim extends VerifiedLogin {
  /** The session's `scrypt$<salt>$<hash>` as read for this request. */
  passwordHash: string;
}

interface Entry {
  login: VerifiedLogin;
  expiresAt: number;
}

/**
 * The session logins this node verified with scrypt in the last minute, so a supporter tool that
 * polls `GET /session/:id` with the session's own login pays one scrypt a minute, not one per poll
 * (each holds 16 MiB and a place of the node's password gate, shared with sign-ins).
 *
 * Only what a scrypt verified is kept: a wrong password is never found here (its key is another),
 * so it pays its scrypt and counts against the failure budget as ever, and the budget is asked
 * before this cache (`AuthFailureBudget.check` runs the check that reads it).
 *
 * Keyed by HMAC-SHA256, under a random key of this cache's own (never stored), of the session, the
 * username, the password and the session's stored hash: neither the password nor a plain hash of
 * it is held, and knowing the entries without the key tells nothing. The stored hash is in the
 * key, so a session whose login changed (removed and created again under its id, on any node: a
 * new salt) misses at once without any message between nodes; a session removed has no hash to
 * look up with (the caller's look-up finds none and checks a dummy hash), and `forgetSession`
 * drops its entries here as well. Looking an HMAC up compares values an attacker cannot compute
 * without the key, so the map's comparison of them tells nothing of the password.
 */
export class VerifiedLogins {
  private readonly key = randomBytes(32);
  /** In order of insertion, which is also order of expiry (one lifetime for all): the oldest first. */
  private readonly entries = new Map<string, Entry>();

  constructor(
    private readonly clock: Clock,
    private readonly ttlMs = VERIFIED_LOGIN_TTL_MS,
    private readonly max = VERIFIED_LOGINS_MAX,
  ) {}

  /** Whether `password` was verified for `claim` (the same session, name and stored hash) within the lifetime. */
  has(claim: LoginClaim, password: string): boolean {
    const key = this.keyOf(claim, password);
    const entry = this.entries.get(key);
    if (!entry) return false;
    if (entry.expiresAt <= this.clock.now()) {
      this.entries.delete(key);
      return false;
    }
    return entry.login.sessionGrantId === claim.sessionGrantId && entry.login.username === claim.username;
  }

  /** Notes that a scrypt verified `password` for `claim`. Call after a successful verification only. */
  remember(claim: LoginClaim, password: string): void {
    const now = this.clock.now();
    this.dropExpired(now);
    const key = this.keyOf(claim, password);
    // Again at the end: its lifetime starts now, so it is the newest.
    this.entries.delete(key);
    this.entries.set(key, { login: { sessionGrantId: claim.sessionGrantId, username: claim.username }, expiresAt: now + this.ttlMs });
    while (this.entries.size > this.max) this.entries.delete(this.entries.keys().next().value!);
  }

  /** Forgets every login verified for the session `sessionGrantId` (it was removed). */
  forgetSession(sessionGrantId: string): void {
    for (const [key, entry] of this.entries) {
      if (entry.login.sessionGrantId === sessionGrantId) this.entries.delete(key);
    }
  }

  /** How many logins are held (for tests). */
  get size(): number {
    return this.entries.size;
  }

  /** Drops the expired entries at the front (the oldest); a clock stepped back only delays it. */
  private dropExpired(now: number): void {
    for (const [key, entry] of this.entries) {
      if (entry.expiresAt > now) return;
      this.entries.delete(key);
    }
  }

  /** The HMAC of the claim and password, each field length-prefixed so no two claims share one. */
  private keyOf(claim: LoginClaim, password: string): string {
    const mac = createHmac('sha256', this.key);
    for (const field of [claim.sessionGrantId, claim.username, claim.passwordHash, password]) {
      const bytes = Buffer.from(field, 'utf8');
      const length = Buffer.alloc(4);
      length.writeUInt32BE(bytes.length);
      mac.update(length).update(bytes);
    }
    return mac.digest('base64url');
  }
}
