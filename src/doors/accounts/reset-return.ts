import type { FastifyReply, FastifyRequest } from 'fastify';
import { localPath } from '../../web/local-path.js';

/** Name of the cookie that keeps a reset's way back (`__Secure-pg_reset_next` over https). */
export const RESET_NEXT_COOKIE = 'pg_reset_next';

/** The paths the cookie is sent to: the reset request page and the new-password form under it. */
const RESET_PATH = '/account/reset';

/**
 * Where a person asking for a password reset was going (`next`), kept in the browser that asked
 * rather than in the mailed link. A flow's `next` can hold a bearer secret: the access door's is
 * `/access/auth?key=<id+secret>`, and that key opens the accepted token of an app not pinned to a
 * return origin. In the mail it sat in a mailbox, its provider's copies and the outbox folder for as
 * long as they keep mail; here it lives only as long as the link (the reset's lifetime), only in
 * the browser that was already on that page, and goes once the new password is set.
 *
 * The cookie is HttpOnly, sent only under `/account/reset` (not to every page, as a `__Host-`
 * cookie would be), Secure over https, and SameSite=Lax: the mailed link is opened from a mail
 * client or webmail, another site, and Strict would not send it on that first page. A link opened
 * in another browser (a phone) sets the password all the same and leads to the sign-in page
 * without the way back: the flow the app opened is in the first browser, which still shows it.
 * Its value is read as any `next` is (`localPath`): a cookie planted by a sibling subdomain can
 * lead nowhere a `?next=` could not.
 */
export class ResetReturn {
  private readonly name: string;

  /** `lifetimeMs`: the reset links' lifetime; `secure`: whether the server is reached over https. */
  constructor(private readonly lifetimeMs: number, private readonly secure: boolean) {
    this.name = secure ? `__Secure-${RESET_NEXT_COOKIE}` : RESET_NEXT_COOKIE;
  }

  /**
   * Keeps `next` for this browser's reset (a request without one drops what an earlier request
   * kept, which would otherwise lead this reset into a flow left behind).
   */
  keep(reply: FastifyReply, next: string): void {
    if (!next) {
      this.forget(reply);
      return;
    }
    reply.setCookie(this.name, next, { path: RESET_PATH, httpOnly: true, sameSite: 'lax', secure: this.secure, maxAge: Math.max(1, Math.floor(this.lifetimeMs / 1000)) });
  }

  /** The `next` this browser's reset request kept, if it is still a path on this server; else ''. */
  next(request: FastifyRequest): string {
    return localPath(request.cookies?.[this.name]) ?? '';
  }

  /** Drops the kept `next` (the new password is set: the way back is on the page that says so). */
  forget(reply: FastifyReply): void {
    reply.clearCookie(this.name, { path: RESET_PATH, httpOnly: true, sameSite: 'lax', secure: this.secure });
  }
}
