import type { FastifyReply, FastifyRequest } from 'fastify';
import { hashToken, isTokenShaped, randomToken } from '../../core/ids.js';
import type { DurableDb } from '../../store/durable-schema.js';
import { deleteInBatches } from '../../store/sql/batched-delete.js';
import { hostCookieName } from '../../web/pages.js';
import type { UserStore, User } from './users.js';
import './account-rows.js';

/** Name of the session cookie. */
export const SESSION_COOKIE = 'pg_session';

/** The most a session's `last_seen_at` may lag behind its use: it is written at most this often. */
export const LAST_SEEN_REFRESH_MAX_MS = 60_000;

/**
 * Sessions one account holds at most; a sign-in beyond ends the oldest (`Sessions.start`). A
 * successful sign-in spends no failure budget, so without a bound whoever holds the password (a
 * script signing in on every call) wrote a row per sign-in, each living until its idle time, and
 * filled the table from one network at the global rate limit. Fifty is more browsers and devices
 * than a person signs in from within a day.
 */
export const MAX_SESSIONS_PER_ACCOUNT = 50;

/** How long a session lives: at most `ttlMs` from its start, and `idleMs` from its last use. */
export interface SessionLifetimes {
  ttlMs: number;
  /** At most `ttlMs` (`sessionIdleSeconds`). */
  idleMs: number;
}

/**
 * Sign-in sessions: a 256-bit random token in a Secure (over https), HttpOnly, SameSite=Lax cookie;
 * the table holds only its SHA-256. Lax, not Strict, because a person arrives at the auth page by a
 * link from the app's site and must be recognised there.
 *
 * A session ends at the first of two limits (OWASP's Session Management cheat sheet): its lifetime
 * from the sign-in (`expires_at`, PAIRGATE_SESSION_TTL_SECONDS), and a time without use
 * (`last_seen_at` + PAIRGATE_SESSION_IDLE_SECONDS), so a browser left signed in on a shared
 * computer is not signed in for the rest of the week. The cookie keeps the lifetime's Max-Age and is
 * not set again when the session is used: the server's row decides, and a cookie that outlives its
 * session only leads to the sign-in page saying the session has ended (`endedHere`).
 */
export class Sessions {
  /** The cookie's name here: `__Host-pg_session` over https, so a sibling subdomain cannot plant one (see hostCookieName). */
  private readonly cookie: string;
  private readonly ttlMs: number;
  private readonly idleMs: number;
  /** How stale `last_seen_at` may get before a use writes it again. */
  private readonly refreshMs: number;

  constructor(
    private readonly db: DurableDb,
    private readonly users: UserStore,
    lifetimes: SessionLifetimes,
    private readonly secureCookies: boolean,
  ) {
    this.cookie = hostCookieName(SESSION_COOKIE, secureCookies);
    this.ttlMs = lifetimes.ttlMs;
    this.idleMs = Math.min(lifetimes.idleMs, lifetimes.ttlMs);
    // Every page load reads the session; writing its row each time would make every page a write
    // (and on SQLite, one at a time for the whole server). Written at most once a minute, or a tenth
    // of the idle time when that is shorter, a session ends between 90 % of the idle time and the
    // whole of it after its last use, and an active session costs one small write a minute.
    this.refreshMs = Math.min(LAST_SEEN_REFRESH_MAX_MS, Math.floor(this.idleMs / 10));
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
   * row or is seen here. An account deleted meanwhile gets no session either (false). The account
   * keeps at most MAX_SESSIONS_PER_ACCOUNT sessions: the oldest beyond go (`endOldest`).
   */
  async start(request: FastifyRequest, reply: FastifyReply, userId: string, now: number, provenHash?: string): Promise<boolean> {
    const previous = request.cookies?.[this.cookie];
    if (previous) await this.db.deleteFrom('account_sessions').where('token_hash', '=', hashToken(previous)).execute();
    const token = randomToken();
    const tokenHash = hashToken(token);
    try {
      await this.db.insertInto('account_sessions').values({ token_hash: tokenHash, user_id: userId, created_at: now, expires_at: now + this.ttlMs, last_seen_at: now }).execute();
    } catch (error) {
      // The account was deleted while the password was checked: the row's foreign key refuses it.
      // No session, as for a password changed meanwhile (a 401 to the sign-in, not a 500).
      if ((await this.users.findById(userId)) === undefined) return false;
      throw error;
    }
    if (provenHash !== undefined && (await this.users.passwordHashOf(userId)) !== provenHash) {
      await this.db.deleteFrom('account_sessions').where('token_hash', '=', tokenHash).execute();
      return false;
    }
    await this.endOldest(userId, tokenHash);
    reply.setCookie(this.cookie, token, { path: '/', httpOnly: true, sameSite: 'lax', secure: this.secureCookies, maxAge: Math.floor(this.ttlMs / 1000) });
    return true;
  }

  /**
   * Ends the account's sessions beyond the newest MAX_SESSIONS_PER_ACCOUNT, `kept` (the one just
   * started) among them whatever its time. One statement: sign-ins at once each keep their own and
   * the newest others, so none ends another's new session.
   */
  private async endOldest(userId: string, kept: string): Promise<void> {
    const newest = this.db.selectFrom('account_sessions').select('token_hash')
      .where('user_id', '=', userId)
      .where('token_hash', '!=', kept)
      .orderBy('created_at', 'desc')
      .orderBy('token_hash', 'desc')
      .limit(MAX_SESSIONS_PER_ACCOUNT - 1);
    await this.db.deleteFrom('account_sessions')
      .where('user_id', '=', userId)
      .where('token_hash', '!=', kept)
      .where('token_hash', 'not in', newest)
      .execute();
  }

  /**
   * The session token this request's cookie carries, live or not (`current` says whether it is):
   * a secret of this browser's alone, which something sealed for this very session is sealed under.
   */
  token(request: FastifyRequest): string | undefined {
    const token = request.cookies?.[this.cookie];
    return token && isTokenShaped(token) ? token : undefined;
  }

  /**
   * The signed-in user of this request, if any: its session neither past its lifetime nor unused
   * for the idle time. Using it marks it used (`last_seen_at`), at most once per `refreshMs`.
   */
  async current(request: FastifyRequest, now: number): Promise<User | undefined> {
    const token = this.token(request);
    if (!token) return undefined;
    const tokenHash = hashToken(token);
    const row = await this.db.selectFrom('account_sessions').select(['user_id', 'created_at', 'expires_at', 'last_seen_at']).where('token_hash', '=', tokenHash).executeTakeFirst();
    if (!row || Number(row.expires_at) <= now) return undefined;
    // A row without one was written by a node of an earlier version, during a rolling upgrade.
    const lastSeen = Number(row.last_seen_at ?? row.created_at);
    if (lastSeen + this.idleMs <= now) return undefined;
    if (now - lastSeen >= this.refreshMs) {
      // Only forward, and only when still stale: of requests at once, one writes (another node's
      // clock ahead, which wrote a later time, is not taken back).
      await this.db.updateTable('account_sessions').set({ last_seen_at: now })
        .where('token_hash', '=', tokenHash)
        .where((eb) => eb.or([eb('last_seen_at', 'is', null), eb('last_seen_at', '<=', now - this.refreshMs)]))
        .execute();
    }
    return this.users.findById(row.user_id);
  }

  /**
   * True when the request carries a session cookie that no longer names a live session: the
   * session was ended elsewhere (a password changed or reset on another device, the account
   * deleted), has expired, or went unused for the idle time, so the person can be told why they
   * must sign in again.
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

  /**
   * Ends every session of a user (a new password), through `db`: the transaction writing the
   * password, so no moment passes in which the new password is written and the old sessions still
   * pass `current` (an accept or a device approval checked in that moment was made by a session
   * the new password was meant to end).
   */
  async endAll(userId: string, db: DurableDb = this.db): Promise<void> {
    await db.deleteFrom('account_sessions').where('user_id', '=', userId).execute();
  }

  /**
   * Deletes the sessions past their lifetime or unused for the idle time (`current` no longer takes
   * them), a batch at a time (`deleteInBatches`).
   */
  async sweep(now: number): Promise<void> {
    await deleteInBatches(this.db, {
      table: 'account_sessions',
      key: 'token_hash',
      where: (eb) => eb.or([
        eb('expires_at', '<=', now),
        eb('last_seen_at', '<=', now - this.idleMs),
        eb.and([eb('last_seen_at', 'is', null), eb('created_at', '<=', now - this.idleMs)]),
      ]),
    });
  }
}
