import type { FastifyReply, FastifyRequest } from 'fastify';
import { hashToken, isTokenShaped, randomToken } from '../../core/ids.js';
import type { DurableDb } from '../../store/durable-schema.js';
import { hostCookieName } from '../../web/pages.js';
import type { UserStore, User } from './users.js';
import './account-rows.js';

/** Name of the session cookie. */
export const SESSION_COOKIE = 'pg_session';

/**
 * Sign-in sessions: a 256-bit random token in a Secure (over https), HttpOnly, SameSite=Lax cookie;
 * the table holds only its SHA-256. Lax, not Strict, because a person arrives at the auth page by a
 * link from the app's site and must be recognised there.
 */
export class Sessions {
  /** The cookie's name here: `__Host-pg_session` over https, so a sibling subdomain cannot plant one (see hostCookieName). */
  private readonly cookie: string;

  constructor(
    private readonly db: DurableDb,
    private readonly users: UserStore,
    private readonly ttlMs: number,
    private readonly secureCookies: boolean,
  ) {
    this.cookie = hostCookieName(SESSION_COOKIE, secureCookies);
  }

  /**
   * Starts a session for `userId` and sets its cookie. A session the browser already had is ended
   * first: a sign-in always gets a fresh token (no session fixation).
   *
   * `provenHash`: the password hash the password typed was checked against. A password changed
   * or reset while that check ran (a scrypt long) has ended every session before this one was
   * written, so this one would outlive the password it was opened with: the hash is read again
   * once the row is written and, when it is another, the row is deleted and no cookie set (false).
   * Written first, read after: a change that ends sessions after writing its hash either finds this
   * row or is seen here.
   */
  async start(request: FastifyRequest, reply: FastifyReply, userId: string, now: number, provenHash?: string): Promise<boolean> {
    const previous = request.cookies?.[this.cookie];
    if (previous) await this.db.deleteFrom('account_sessions').where('token_hash', '=', hashToken(previous)).execute();
    const token = randomToken();
    const tokenHash = hashToken(token);
    await this.db.insertInto('account_sessions').values({ token_hash: tokenHash, user_id: userId, created_at: now, expires_at: now + this.ttlMs }).execute();
    if (provenHash !== undefined && (await this.users.passwordHashOf(userId)) !== provenHash) {
      await this.db.deleteFrom('account_sessions').where('token_hash', '=', tokenHash).execute();
      return false;
    }
    reply.setCookie(this.cookie, token, { path: '/', httpOnly: true, sameSite: 'lax', secure: this.secureCookies, maxAge: Math.floor(this.ttlMs / 1000) });
    return true;
  }

  /**
   * The session token this request's cookie carries, live or not (`current` says whether it is):
   * a secret of this browser's alone, which something sealed for this very session is sealed under.
   */
  token(request: FastifyRequest): string | undefined {
    const token = request.cookies?.[this.cookie];
    return token && isTokenShaped(token) ? token : undefined;
  }

  /** The signed-in user of this request, if any. */
  async current(request: FastifyRequest, now: number): Promise<User | undefined> {
    const token = this.token(request);
    if (!token) return undefined;
    const row = await this.db.selectFrom('account_sessions').select(['user_id', 'expires_at']).where('token_hash', '=', hashToken(token)).executeTakeFirst();
    if (!row || Number(row.expires_at) <= now) return undefined;
    return this.users.findById(row.user_id);
  }

  /**
   * True when the request carries a session cookie that no longer names a live session: the
   * session was ended elsewhere (a password changed or reset on another device, the account
   * deleted) or has expired, so the person can be told why they must sign in again.
   */
  async endedHere(request: FastifyRequest, now: number): Promise<boolean> {
    const token = request.cookies?.[this.cookie];
    return token !== undefined && token !== '' && (await this.current(request, now)) === undefined;
  }

  /** Ends this request's session and clears the cookie. */
  async end(request: FastifyRequest, reply: FastifyReply): Promise<void> {
    const token = request.cookies?.[this.cookie];
    if (token) await this.db.deleteFrom('account_sessions').where('token_hash', '=', hashToken(token)).execute();
    // A __Host- cookie is only cleared by a Set-Cookie that is Secure too.
    reply.clearCookie(this.cookie, { path: '/', secure: this.secureCookies });
  }

  /** Ends every session of a user (after a password reset). */
  async endAll(userId: string): Promise<void> {
    await this.db.deleteFrom('account_sessions').where('user_id', '=', userId).execute();
  }

  /** Deletes expired sessions. */
  async sweep(now: number): Promise<void> {
    await this.db.deleteFrom('account_sessions').where('expires_at', '<=', now).execute();
  }
}
