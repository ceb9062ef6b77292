import { parse, serialize, type SerializeOptions } from 'cookie';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';

/**
 * Cookies, read when a route first asks for them. @fastify/cookie parsed the Cookie header in an
 * onRequest hook and wrote Set-Cookie in an onSend hook, on every request: the API, which never
 * reads a cookie, paid for both (3% of a grant creation's server time, measured in bench/, and
 * the onSend hook kept every JSON answer on Fastify's slower hook path). Here the header is parsed
 * by the `cookie` library on first use, kept for the rest of the request, and a cookie set is a
 * Set-Cookie header at once: no hook runs.
 */

/** Options of a cookie set: the `cookie` library's, less the encoder (values are written as given, percent-encoded). */
export type CookieOptions = Omit<SerializeOptions, 'encode'>;

declare module 'fastify' {
  interface FastifyRequest {
    /**
     * The request's cookies by name, parsed from its Cookie header on first use (values
     * percent-decoded; a malformed one kept as sent). Writable per name, so that a cookie set in
     * this request is visible to the rest of it.
     */
    readonly cookies: Record<string, string | undefined>;
    /** `cookies` once parsed for this request (null before). */
    cookiesParsed: Record<string, string | undefined> | null;
  }
  interface FastifyReply {
    /** Adds a Set-Cookie header for `name` (SameSite=Lax unless `options` says otherwise). */
    setCookie(name: string, value: string, options?: CookieOptions): FastifyReply;
    /** Adds a Set-Cookie header that removes `name` (expired, empty); `options` must name its path and Secure as it was set. */
    clearCookie(name: string, options?: CookieOptions): FastifyReply;
  }
}

/** The Set-Cookie header for `name`, SameSite=Lax unless `options` says otherwise. */
export function setCookieHeader(name: string, value: string, options: CookieOptions = {}): string {
  return serialize(name, value, { sameSite: 'lax', ...options });
}

/** Gives requests their `cookies` and replies `setCookie`/`clearCookie`, on `app` and every scope in it. */
export function installCookies(app: FastifyInstance): void {
  app.decorateRequest('cookiesParsed', null);
  app.decorateRequest('cookies', {
    getter(this: FastifyRequest) {
      return (this.cookiesParsed ??= parseCookieHeader(this.headers.cookie));
    },
  });
  app.decorateReply('setCookie', function setCookie(this: FastifyReply, name: string, value: string, options?: CookieOptions) {
    // Fastify appends a second Set-Cookie to the first rather than replacing it.
    return this.header('set-cookie', setCookieHeader(name, value, options));
  });
  app.decorateReply('clearCookie', function clearCookie(this: FastifyReply, name: string, options?: CookieOptions) {
    return this.header('set-cookie', setCookieHeader(name, '', { path: '/', ...options, expires: new Date(0), maxAge: 0 }));
  });
}

/**
 * `request` with its `cookies`, when Fastify made it outside the decorated kind: a request the
 * router refused before any route (a malformed %-escape) reaches `frameworkErrors` as a plain
 * Request, without the getter, and its error page reads the remembered language from its cookies.
 */
export function withCookies(request: FastifyRequest): FastifyRequest {
  if (request.cookies === undefined) (request as { cookies: FastifyRequest['cookies'] }).cookies = parseCookieHeader(request.headers.cookie);
  return request;
}

/** The cookies of a Cookie header (none when absent); a new object per request, as callers add to it. */
function parseCookieHeader(header: string | undefined): Record<string, string | undefined> {
  return header ? parse(header) : {};
}
