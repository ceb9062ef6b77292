import { hashToken, randomToken } from '../../core/ids.js';
import type { EphemeralStore } from '../../store/ports.js';

/**
 * How long a form of the integrations page stays good after the page was shown: a day. The record
 * of a sent form lives exactly that long, so the form is refused as too old (never sent again)
 * once its record is gone: a setup page reloaded days later cannot rotate a working installation.
 */
export const FORM_MAX_AGE_MS = 24 * 3600_000;
/** Clocks of nodes differ a little: a form "issued" this far ahead is still taken. */
const CLOCK_SKEW_MS = 60_000;
const NONCE_SHAPE = /^([0-9a-z]{1,11})\.([\w-]{22})$/;

/** What sending a form with a nonce found. */
export type NonceSpend = 'first' | 'again' | 'too-old';

/**
 * Single-use form nonces for the forms whose answer is shown once (a setup and its secret, a link
 * token). The browser's "send the form again?" on reloading such an answer re-posts the same body:
 * without a nonce the reload would make a new setup, and the secret the admin just copied would
 * stop working. Each rendering of the integrations page carries a fresh nonce (the issue time and
 * 128 random bits); sending it is recorded with the ephemeral store's set-if-absent (atomic, shared
 * by every node), under a hash of the account, the form's path and the nonce, until the nonce's
 * age limit. The second sending finds the record and changes nothing.
 *
 * The nonce is not signed: forging one gains nothing, since the account may send a fresh form
 * anyway; it only spares a person their own browser's re-post. CSRF is checked apart (the cookie
 * token and the origin), before the nonce.
 */
export class FormNonces {
  constructor(private readonly store: EphemeralStore) {}

  /** A fresh nonce for a form shown at `now`. */
  issue(now: number): string {
    return `${now.toString(36)}.${randomToken(16)}`;
  }

  /**
   * Records the sending of `nonce` by `userId` to `path`: `first` when it was never sent (go on),
   * `again` when it was (change nothing), `too-old` when it is malformed or past its age.
   */
  async spend(userId: string, path: string, nonce: string, now: number): Promise<NonceSpend> {
    const match = NONCE_SHAPE.exec(nonce);
    const issuedAt = match ? parseInt(match[1]!, 36) : NaN;
    if (!Number.isSafeInteger(issuedAt) || issuedAt > now + CLOCK_SKEW_MS || now - issuedAt >= FORM_MAX_AGE_MS) return 'too-old';
    const kept = issuedAt + FORM_MAX_AGE_MS - now + CLOCK_SKEW_MS;
    const stored = await this.store.setIfAbsent(this.key(userId, path, nonce), 'sent', kept, now);
    return stored ? 'first' : 'again';
  }

  /**
   * Forgets a sending whose action was refused (a rate limit, a membership): nothing was made, so
   * sending the same form again (a reload after the wait) must try again rather than say "already made".
   */
  async release(userId: string, path: string, nonce: string): Promise<void> {
    await this.store.delete(this.key(userId, path, nonce));
  }

  private key(userId: string, path: string, nonce: string): string {
    return `install|form-sent|${hashToken(`${userId}\n${path}\n${nonce}`)}`;
  }
}
