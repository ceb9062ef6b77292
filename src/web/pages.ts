import { createHash } from 'node:crypto';
import { readFileSync, readdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import nunjucks from 'nunjucks';
import { ForbiddenError, NotFoundError } from '../core/errors.js';
import { constantTimeEqual, isTokenShaped, randomToken } from '../core/ids.js';
import type { ErrorPageView } from './error-page.js';
import { isForeignFormPost } from './form-origin.js';
import { LANGUAGE_COOKIE, languageToRemember } from './page-language.js';

/** Folder of the templates (src/web/templates, also when running from dist/). */
const TEMPLATE_DIR = fileURLToPath(new URL('../../src/web/templates/', import.meta.url));
/** Folder of the static assets served at /static/. */
const STATIC_DIR = fileURLToPath(new URL('../../src/web/static/', import.meta.url));

/** Name of the CSRF cookie (double-submit: the form carries the same value); see hostCookieName. */
export const CSRF_COOKIE = 'pg_csrf';

/**
 * The name a cookie is set and read under: over https with the `__Host-` prefix, which browsers
 * accept only from this very host (Secure, `Path=/`, no `Domain`). A sibling subdomain can set
 * cookies for the whole site (cookie tossing); one it plants cannot carry this name, so it can
 * neither fix a CSRF token nor sign a visitor in to an account of its own.
 */
export function hostCookieName(name: string, secure: boolean): string {
  return secure ? `__Host-${name}` : name;
}
/** How long the language chosen with a page's switch is remembered: a year, in seconds. */
const LANGUAGE_COOKIE_SECONDS = 365 * 24 * 60 * 60;
/** Name of the form field that carries the CSRF token. */
export const CSRF_FIELD = '_csrf';

const CONTENT_TYPES: Record<string, string> = {
  '.css': 'text/css; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
};

/**
 * Server-rendered pages: Nunjucks with automatic escaping (a value is HTML only if marked safe),
 * one layout, static assets from a fixed list, and CSRF tokens for every form. Pages carry no inline
 * script, so the strict CSP of the server holds.
 */
export class Pages {
  private readonly env: nunjucks.Environment;

  /** The CSRF cookie's name here (`__Host-pg_csrf` over https). */
  readonly csrfCookie: string;

  /** The remembered language's cookie name here (`__Host-pg_lang` over https). */
  readonly languageCookie: string;

  constructor(private readonly secureCookies: boolean) {
    this.csrfCookie = hostCookieName(CSRF_COOKIE, secureCookies);
    this.languageCookie = hostCookieName(LANGUAGE_COOKIE, secureCookies);
    this.env = new nunjucks.Environment(new nunjucks.FileSystemLoader(TEMPLATE_DIR, { noCache: false }), {
      autoescape: true,
      throwOnUndefined: false,
      trimBlocks: true,
      lstripBlocks: true,
    });
  }

  /** The Nunjucks environment, for doors that add filters (e.g. a sanitised markdown filter). */
  get environment(): nunjucks.Environment {
    return this.env;
  }

  /**
   * The CSRF token of this browser, set as a SameSite=Lax HttpOnly cookie when absent. Forms put
   * it in a hidden `_csrf` field; `verifyCsrf` compares the two.
   *
   * Lax, not Strict: people reach the pages from other sites (an app opens /access/auth, a mail
   * links to a reset page), and a Strict cookie is not sent on those navigations, so the page set
   * a new token over the old one; every form open in another tab then failed (403 csrf_failed), and
   * the device flow lost the consent ticket keyed by this cookie. Lax is as safe here: the cookie
   * is still withheld from another site's POST (so its forms fail the comparison), it is HttpOnly,
   * a page that carries it cannot be framed (`frame-ancestors 'none'`), and every form post also
   * needs the browser's word that it comes from this origin (`isForeignFormPost`).
   */
  csrfToken(request: FastifyRequest, reply: FastifyReply): string {
    const existing = this.csrfCookieValue(request);
    if (existing && isTokenShaped(existing)) return existing;
    const token = randomToken();
    reply.setCookie(this.csrfCookie, token, { path: '/', httpOnly: true, sameSite: 'lax', secure: this.secureCookies });
    // Make the token visible to a render in this same request.
    (request.cookies as Record<string, string>)[this.csrfCookie] = token;
    return token;
  }

  /** This browser's CSRF cookie, if it sent one (under this server's name for it). */
  csrfCookieValue(request: FastifyRequest): string | undefined {
    return request.cookies?.[this.csrfCookie];
  }

  /**
   * Throws 403 unless the form comes from one of this server's own pages: the browser does not say
   * it comes from another origin (`isForeignFormPost`), and its `_csrf` field equals the browser's
   * CSRF cookie.
   */
  verifyCsrf(request: FastifyRequest): void {
    if (isForeignFormPost(request)) {
      throw new ForbiddenError('This form did not come from this site. Open the page here and try again.', 'csrf_failed');
    }
    const cookie = this.csrfCookieValue(request) ?? '';
    const body = (request.body ?? {}) as Record<string, unknown>;
    const field = typeof body[CSRF_FIELD] === 'string' ? (body[CSRF_FIELD] as string) : '';
    if (!cookie || !field || !constantTimeEqual(cookie, field)) {
      throw new ForbiddenError('This form has expired or did not come from this site. Reload the page and try again.', 'csrf_failed');
    }
  }

  /**
   * Remembers the language a page was opened in with `?lang=` (the switch) when the browser would
   * otherwise get another (`languageToRemember`), so the navigation's bare links keep it. Not a
   * secret, but no script of the pages reads it, so HttpOnly all the same; SameSite=Lax, so the
   * choice holds when the person comes back through another site's link; a year long.
   * `preferred` is the language the page prefers (an app's), which a `?lang=` naming it does not make the person's.
   */
  private rememberLanguage(request: FastifyRequest, reply: FastifyReply, shown: unknown, preferred: string | undefined): void {
    const lang = languageToRemember(request, shown, preferred);
    if (!lang) return;
    reply.setCookie(this.languageCookie, lang, { path: '/', httpOnly: true, sameSite: 'lax', secure: this.secureCookies, maxAge: LANGUAGE_COOKIE_SECONDS });
  }

  /**
   * Renders `template` (relative to src/web/templates) with `data`, adding the CSRF token and the
   * path being shown (`currentPath`, which the navigation marks with `aria-current="page"`). A
   * translated page (one whose `data.lang` is set) opened with `?lang=` remembers that choice,
   * unless it names `preferredLang`, the language the page chose before the browser's (an app's,
   * the same value the page gave `requestedLanguage`): that is the app's choice, not the person's.
   * The answer is never stored (`no-store`): its language depends on cookies and Accept-Language.
   */
  render(request: FastifyRequest, reply: FastifyReply, template: string, data: Record<string, unknown> = {}, status = 200, preferredLang?: string): FastifyReply {
    const currentPath = new URL(request.url, 'http://local.invalid').pathname;
    this.rememberLanguage(request, reply, data.lang, preferredLang);
    const html = this.env.render(template, { lang: 'en', ...data, currentPath, csrfToken: this.csrfToken(request, reply), csrfField: CSRF_FIELD });
    return reply
      .code(status)
      .header('cache-control', 'no-store')
      .type('text/html; charset=utf-8')
      .send(html);
  }

  /**
   * Renders the error page (error.njk) of a request refused before its page could answer it
   * (`errorPageView`). The page holds no form, so unlike `render` it sets no CSRF cookie: a refusal
   * (a rate limit, say) leaves the browser's cookies as they were.
   */
  renderErrorPage(reply: FastifyReply, view: ErrorPageView, status: number): FastifyReply {
    return reply
      .code(status)
      .header('cache-control', 'no-store')
      .type('text/html; charset=utf-8')
      .send(this.errorPageHtml(view));
  }

  /**
   * The error page's HTML (error.njk) for `view`, rendered synchronously: for an answer written on
   * the socket where no reply can be sent (a body that stalled while the server shuts down).
   */
  errorPageHtml(view: ErrorPageView): string {
    return this.env.render('error.njk', view);
  }

  /**
   * Serves the files of src/web/static at /static/<name> (a fixed list read at start-up), cached for
   * an hour and then revalidated: each carries a strong ETag made from its bytes, and a request whose
   * `If-None-Match` names it is answered 304 with no body (RFC 9110 13.1.2), so a browser whose
   * copy has gone stale does not download the same file again. No Last-Modified: npm packs every
   * file with the same fixed date, so an upgrade that changed a file would still say "not modified".
   */
  installStatic(app: FastifyInstance): void {
    const files = new Map<string, { body: Buffer; type: string; etag: string }>();
    for (const name of readdirSync(STATIC_DIR)) {
      const extension = name.slice(name.lastIndexOf('.'));
      const type = CONTENT_TYPES[extension];
      if (!type) continue;
      const body = readFileSync(`${STATIC_DIR}${name}`);
      files.set(name, { body, type, etag: contentTag(body) });
    }
    app.get<{ Params: { name: string } }>('/static/:name', { schema: { hide: true }, config: { rateLimit: false } }, async (request, reply) => {
      const file = files.get(request.params.name);
      // Answered like every other unknown address: a machine code and a sentence, not bare text.
      if (!file) throw new NotFoundError('There is no such file among the pages\' styles and scripts. Check the link.', 'static_file_not_found');
      reply.header('cache-control', 'public, max-age=3600').header('etag', file.etag);
      if (ifNoneMatchNames(request.headers['if-none-match'], file.etag)) return reply.code(304).send();
      return reply.type(file.type).send(file.body);
    });
  }
}

/** A strong entity tag of `body`: 128 bits of its SHA-256, enough to tell versions of a file apart. */
function contentTag(body: Buffer): string {
  return `"${createHash('sha256').update(body).digest('base64url').slice(0, 22)}"`;
}

/**
 * Whether an `If-None-Match` header names `etag` (or is `*`), compared the weak way RFC 9110 13.1.2
 * asks for this header: `W/"x"` matches `"x"`. A list is comma-separated; entity tags hold no comma.
 */
function ifNoneMatchNames(header: string | undefined, etag: string): boolean {
  if (!header) return false;
  return header.split(',').some((tag) => {
    const trimmed = tag.trim();
    return trimmed === '*' || trimmed.replace(/^W\//, '') === etag;
  });
}
