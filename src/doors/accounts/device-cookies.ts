import { createHmac, timingSafeEqual } from 'node:crypto';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { hashToken, randomId } from '../../core/ids.js';
import type { GrantEngine } from '../../engine/grant-engine.js';

/** Name of the device cookie (`__Secure-pg_device` over https: see `deviceCookieName`). */
export const DEVICE_COOKIE = 'pg_device';

/**
 * The paths whose posts are sign-ins (`signInFromForm`): the account page's, the access door's auth
 * page's and the device door's. The device cookie is sent to these only; a door not enabled leaves
 * its path unused, which costs the browser one cookie it never sends.
 */
export const SIGN_IN_PATHS: readonly string[] = ['/account/signin', '/access/auth/signin', '/device/signin'];

/**
 * The paths whose posts check a signed-in person's current password again (changing it, deleting
 * the account: `Accounts.confirmPassword`), on the same failure budgets as a sign-in. The cookie
 * goes to these too: without it, someone spending the account's budget from elsewhere kept the
 * owner, signed in, from changing the password or deleting the account.
 */
export const PASSWORD_CHECK_PATHS: readonly string[] = ['/account/password', '/account/delete'];

/** Every path the device cookie is sent to: the posts that check a password, and nothing else. */
export const DEVICE_COOKIE_PATHS: readonly string[] = [...SIGN_IN_PATHS, ...PASSWORD_CHECK_PATHS];

/**
 * What the device cookies' key is derived under from the server's code key, as `signInNameKey`
 * derives the names' key: a kind no door's grants have and a "code" with spaces, which no canonical
 * code holds, so the key is never a code's stored hash nor the names' key.
 */
const DEVICE_KEY_KIND = 'signin-device-key';
const DEVICE_KEY_LABEL = 'device cookies of sign-in';

/** Cookies checked per request at most: one a browser sent per path, and a few a sibling subdomain planted beside it. */
const MOST_CHECKED = 8;

/** A cookie's value: issue time (seconds, base 36), nonce (128 bits), MAC (HMAC-SHA-256), base64url, dot-separated. */
const VALUE_SHAPE = /^([0-9a-z]{1,10})\.([A-Za-z0-9_-]{22})\.([A-Za-z0-9_-]{43})$/;

/**
 * The key of the device cookies' MACs: HMAC-SHA-256 of a label under the server's code key
 * (`GrantEngine.codeHash`), so the same on every node without a setting of its own. A new code key
 * makes every device cookie unknown: their browsers are then treated as any other until they sign in.
 */
export function deviceCookieKey(codes: Pick<GrantEngine, 'codeHash'>): Buffer {
  return Buffer.from(codes.codeHash(DEVICE_KEY_KIND, DEVICE_KEY_LABEL), 'base64url');
}

/**
 * The cookie's name here: `__Secure-pg_device` over https, which a browser takes only from a secure
 * page (not `__Host-`, which requires `Path=/`: this cookie goes to the paths that check a password only).
 */
export function deviceCookieName(secure: boolean): string {
  return secure ? `__Secure-${DEVICE_COOKIE}` : DEVICE_COOKIE;
}

/**
 * The account a device cookie is issued for or checked against: its id, and the password hash it
 * has now, whose change voids the cookies issued under the one before.
 */
export interface DeviceAccount {
  id: string;
  passwordHash: string;
}

/**
 * Device cookies (OWASP's "Slow Down Online Guessing Attacks with Device Cookies"): a browser that
 * signed in to an account gets a cookie naming it, so that later its sign-ins to that account, and
 * the checks of the current password its signed-in owner makes to change it or delete the account,
 * are counted on a failure budget of its own (`SignInLimits`) and not refused when someone else's
 * guesses, from any number of networks, have spent the account's. Without it, about ten wrong
 * passwords per window keep the owner out for as long as someone sends them.
 *
 * The value is `<issued>.<nonce>.<mac>`, the MAC over the account id, the issue time, the nonce and
 * the SHA-256 of the account's password hash, so a cookie is good for the one account it was issued
 * for, while its password is the one proved then, until its lifetime ends, and cannot be made or
 * altered without the server's key; the account id is not in it (the MAC is checked against the
 * account the sign-in names). A new password (changed or reset) voids every cookie issued under
 * the old one: a browser that once signed in with a password someone has since had to replace
 * must not keep a failure budget of its own to guess the new one with. A rehash at a new
 * `PAIRGATE_SCRYPT_COST` changes the hash too: the browser that signed in gets a cookie under the
 * new one, the account's other browsers count as any other until their next sign-in. HttpOnly, SameSite=Strict (only this site's own forms send it),
 * Secure over https, sent only to the posts that check a password (`DEVICE_COOKIE_PATHS`): the
 * sign-ins, and a signed-in person's change of password and deletion of the account. Its value is
 * never logged or stored: the failure counter is keyed by the nonce's SHA-256.
 */
export class DeviceCookies {
  private readonly key: Buffer;
  private readonly name: string;

  /** `key`: `deviceCookieKey` (32 bytes); `lifetimeMs`: how long a cookie is good for, in the browser and here. */
  constructor(key: Buffer, private readonly lifetimeMs: number, private readonly secure: boolean) {
    if (key.length !== 32) throw new Error('a device cookie key has 32 bytes');
    this.key = Buffer.from(key);
    this.name = deviceCookieName(secure);
  }

  private mac(account: DeviceAccount, issued: string, nonce: string): Buffer {
    // The password hash's digest, fixed in length, last: the fields before it hold no dot.
    return createHmac('sha256', this.key).update(`${account.id}.${issued}.${nonce}.${hashToken(account.passwordHash)}`).digest();
  }

  /**
   * Gives this browser a fresh device cookie for `account` (after a sign-in that proved the
   * password, whose hash `account` carries), replacing any it had: a browser trusted for one
   * account at a time.
   */
  issue(reply: FastifyReply, account: DeviceAccount, now: number): void {
    const issued = Math.floor(now / 1000).toString(36);
    const nonce = randomId(16);
    const value = `${issued}.${nonce}.${this.mac(account, issued, nonce).toString('base64url')}`;
    for (const path of DEVICE_COOKIE_PATHS) {
      reply.setCookie(this.name, value, { path, httpOnly: true, sameSite: 'strict', secure: this.secure, maxAge: Math.floor(this.lifetimeMs / 1000) });
    }
  }

  /**
   * The device this request's cookie proves for `account`: an opaque id (the SHA-256 of the
   * cookie's nonce) naming its failure counter, or undefined when the request has no cookie good for
   * that account (none, malformed, altered, expired, another account's, or issued under a password
   * hash the account no longer has). Every cookie of the name the request sent is tried, so one
   * planted beside it (by a sibling subdomain) does not hide it.
   */
  deviceOf(request: FastifyRequest, account: DeviceAccount, now: number): string | undefined {
    for (const value of this.presented(request)) {
      const shape = VALUE_SHAPE.exec(value);
      if (!shape) continue;
      const [, issued = '', nonce = '', mac = ''] = shape;
      const issuedMs = parseInt(issued, 36) * 1000;
      if (!(now < issuedMs + this.lifetimeMs)) continue;
      const given = Buffer.from(mac, 'base64url');
      const expected = this.mac(account, issued, nonce);
      if (given.length === expected.length && timingSafeEqual(given, expected)) return hashToken(nonce);
    }
    return undefined;
  }

  /** The values of every cookie of this name in the request's Cookie header (the parsed cookies keep only the first). */
  private presented(request: FastifyRequest): string[] {
    const header = request.headers.cookie;
    if (typeof header !== 'string' || !header.includes(this.name)) return [];
    const values: string[] = [];
    for (const pair of header.split(';')) {
      const at = pair.indexOf('=');
      if (at < 0 || pair.slice(0, at).trim() !== this.name) continue;
      values.push(pair.slice(at + 1).trim());
      if (values.length >= MOST_CHECKED) break;
    }
    return values;
  }
}
