import type { FastifyRequest } from 'fastify';
import { localPath } from './local-path.js';

/** Languages pages can be shown in. */
export const PAGE_LANGUAGES = ['en', 'fr'] as const;
/** One of PAGE_LANGUAGES. */
export type PageLanguage = (typeof PAGE_LANGUAGES)[number];

/**
 * The language `value` names (`fr`, `fr-CA`, `FR`, `fr_CA`), if it is one of PAGE_LANGUAGES: its
 * primary subtag, whole, so `frr` (North Frisian) or `english` is none, not French or English.
 */
function languageOf(value: unknown): PageLanguage | undefined {
  const short = typeof value === 'string' ? value.split(/[-_]/, 1)[0]!.toLowerCase() : undefined;
  return (PAGE_LANGUAGES as readonly (string | undefined)[]).includes(short) ? (short as PageLanguage) : undefined;
}

/**
 * Name of the cookie that remembers the language a person chose with a page's switch (`pg_lang`,
 * `__Host-pg_lang` over https, as pages.ts's `hostCookieName` sets it). Not a secret: it only ever
 * holds one of PAGE_LANGUAGES, written by the server, never the text a request sent.
 */
export const LANGUAGE_COOKIE = 'pg_lang';

/** The language the person chose earlier on this server (the switch's cookie), if it holds exactly one of PAGE_LANGUAGES. */
export function rememberedLanguage(request: FastifyRequest): PageLanguage | undefined {
  const cookies = request.cookies as Record<string, string | undefined> | undefined;
  // The __Host- name first: over https it is the one this server sets, and a sibling subdomain cannot plant it.
  const value = cookies?.[`__Host-${LANGUAGE_COOKIE}`] ?? cookies?.[LANGUAGE_COOKIE];
  return exactLanguage(value);
}

/** `value` when it is exactly one of PAGE_LANGUAGES (any case), else undefined: what the switch sends and the cookie holds. */
function exactLanguage(value: unknown): PageLanguage | undefined {
  const lower = typeof value === 'string' ? value.toLowerCase() : undefined;
  return (PAGE_LANGUAGES as readonly (string | undefined)[]).includes(lower) ? (lower as PageLanguage) : undefined;
}

/** The browser's first choice among PAGE_LANGUAGES by its Accept-Language header. */
function acceptedLanguage(header: unknown): PageLanguage | undefined {
  if (typeof header !== 'string') return undefined;
  const ranked = header
    .split(',')
    .map((part) => {
      const [tag = '', ...params] = part.trim().split(';');
      const q = params.map((param) => /^q=([\d.]+)$/.exec(param.trim())?.[1]).find(Boolean);
      return { lang: languageOf(tag), q: q === undefined ? 1 : Number(q) };
    })
    .filter((entry) => entry.lang && entry.q > 0)
    .sort((a, b) => b.q - a.q);
  return ranked[0]?.lang;
}

/** The language the request names itself (`?lang=`, or a form's `lang`), if any: the one to carry on to the next page. */
export function askedLanguage(request: FastifyRequest): PageLanguage | undefined {
  for (const fields of [request.query, request.body]) {
    const asked = fields && typeof fields === 'object' ? languageOf((fields as Record<string, unknown>).lang) : undefined;
    if (asked) return asked;
  }
  return undefined;
}

/**
 * The language of a page answering `request`, chosen as every translated page chooses it: the
 * `lang` the address or the form names (`?lang=fr`), then the one the person chose earlier with a
 * switch (`rememberedLanguage`), then `preferred` (an app's, say: the person's own choice outranks
 * it), then the browser's Accept-Language, then English. It reads the request as received, so a
 * request refused for its query or its form still keeps the language it asked for. A page given
 * `preferred` here hands the same value to `Pages.render` (`preferredLang`), so that the page does
 * not remember the preferred language as the person's (`languageToRemember`).
 */
export function requestedLanguage(request: FastifyRequest, preferred?: string): PageLanguage {
  return askedLanguage(request) ?? usualLanguage(request, preferred);
}

/**
 * The language a bare address (no `?lang=`, no form) would be shown in for this browser: the
 * remembered choice, then `preferred`, then Accept-Language, then English. A link needs to carry
 * `?lang=` only when the page's language is not this one.
 */
export function usualLanguage(request: FastifyRequest, preferred?: string): PageLanguage {
  return rememberedLanguage(request) ?? languageOf(preferred) ?? acceptedLanguage(request.headers['accept-language']) ?? 'en';
}

/**
 * `path` (of a page of this server) for a link or a redirect that continues in `lang`: bare when
 * the page there would be shown in `lang` anyway (the remembered choice, then `preferred`, then
 * Accept-Language: `usualLanguage`), which is the rule, since the pg_lang cookie carries a
 * language chosen with a switch; with `?lang=` only when it would not, so that the language still
 * holds for a browser that did not keep the cookie (refused it, or sent a form in a language its
 * cookie no longer says).
 */
export function pathInLanguage(request: FastifyRequest, path: string, lang: PageLanguage, preferred?: string): string {
  return lang === usualLanguage(request, preferred) ? path : `${path}${path.includes('?') ? '&' : '?'}lang=${lang}`;
}

/**
 * The language a page shown in `shown` should remember for this browser, if any: the one a GET
 * (or HEAD, its headers without the body) address names exactly (`?lang=fr`, as the switch sends
 * it) when the page is shown in it and the browser would otherwise get another (its remembered
 * choice, else `preferred`, the language the page prefers, else its Accept-Language, else
 * English: `usualLanguage`). So choosing with the switch is remembered, following links in the
 * language one already reads sets nothing, an app's link naming the language the app prefers (the
 * access door's auth page, which passes the app's language as `preferred`, as it passed it to
 * `requestedLanguage`) sets nothing, and an unknown `?lang=` is ignored. A GET can set it, as the
 * switch is a plain link: at worst a foreign link picks the language of the next pages, nothing else.
 */
export function languageToRemember(request: FastifyRequest, shown: unknown, preferred?: string): PageLanguage | undefined {
  if (request.method !== 'GET' && request.method !== 'HEAD') return undefined;
  const query = request.query as Record<string, unknown> | undefined;
  const chosen = exactLanguage(query && typeof query === 'object' ? query.lang : undefined);
  if (!chosen || chosen !== shown) return undefined;
  const otherwise = usualLanguage(request, preferred);
  return chosen === otherwise ? undefined : chosen;
}

/** The other language of the switch on a page in `lang`. */
export function otherLanguage(lang: PageLanguage): PageLanguage {
  return lang === 'en' ? 'fr' : 'en';
}

/** The form field a flow's way back travels in (`next`), which the form's page reads from its address. */
const FLOW_FIELD = 'next';

/**
 * The target of a page's language switch: the page's address (path and query) with `lang` set. A
 * page answering a form (a POST) has no address to reload, and reloading would resubmit the form,
 * so its switch leads to the form's own page (the GET route at the same address) in `lang`, with
 * the flow's `next` the form carried when it is a path on this server; none when no page is served
 * there.
 */
export function languageSwitchUrl(request: FastifyRequest, lang: PageLanguage): string | null {
  const url = new URL(request.url, 'http://local.invalid');
  if (request.method !== 'GET') {
    if (!request.server.hasRoute({ method: 'GET', url: url.pathname })) return null;
    // Only a path on this server: the page would drop any other, but the link should not carry it.
    const next = localPath((request.body as Record<string, unknown> | undefined)?.[FLOW_FIELD]);
    if (next && !url.searchParams.has(FLOW_FIELD)) url.searchParams.set(FLOW_FIELD, next);
  }
  url.searchParams.set('lang', lang);
  return `${url.pathname}${url.search}`;
}

/**
 * The target of the language switch on the page answering a form that was sent from a page at
 * another address (`POST /account/accesses/<id>/revoke`, from `/account/accesses`), where
 * `languageSwitchUrl` finds no page to lead to: that page, `formPage` (a path of this server), in
 * `lang`. A plain link to it, so following it never sends the form again.
 */
export function formPageSwitchUrl(formPage: string, lang: PageLanguage): string {
  const url = new URL(formPage, 'http://local.invalid');
  url.searchParams.set('lang', lang);
  return `${url.pathname}${url.search}`;
}

/** Template data a translated page needs for its language switch: its language, the other one, and where the switch leads. */
export function languageSwitch(request: FastifyRequest, lang: PageLanguage): { lang: PageLanguage; otherLang: PageLanguage; switchUrl: string | null } {
  const otherLang = otherLanguage(lang);
  return { lang, otherLang, switchUrl: languageSwitchUrl(request, otherLang) };
}
