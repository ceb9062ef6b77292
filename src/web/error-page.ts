import type { FastifyRequest } from 'fastify';
import { frenchSpacing } from '../doors/accounts/french-spacing.js';
import { waitWords } from './duration-words.js';
import type { PageLanguage } from './page-language.js';

/**
 * The error page a person sees when a page's request is refused before the page could answer it:
 * a form field changed to a value the route's schema refuses (or left out), a body too large or
 * of a type no parser takes, a rate limit, a server shutting down. Fastify refuses these before the
 * route's handler runs, so the page never gets to show its own form again; the error handler
 * renders this page instead of the JSON a program would get (see `sendError`).
 */

/** What the error handler knows of a refusal, as far as telling a person goes. */
export interface Refusal {
  status: number;
  /** The error's machine code (`validation_failed`, `payload_too_large`, `rate_limited`, ...). */
  code: string;
  /** The error's own message (English, for programs): said when no words of this page fit. */
  message: string;
  retryAfterSeconds?: number;
  /** Which part of the request failed its schema: 'body' (the form), or the address ('querystring', 'params'). */
  part?: string;
  /** The field at fault, when one is. */
  field?: string;
  /** What is wrong with the field: left out, not one the route knows, or a value the route refuses. */
  problem?: 'missing' | 'unknown' | 'invalid';
}

/** The error page's data (src/web/templates/error.njk). */
export interface ErrorPageView {
  lang: PageLanguage;
  title: string;
  message: string;
  /** Where the link under the message leads (the form's page), if anywhere. */
  back?: string;
  backLabel: string;
}

/** One media type of an answer, in a route's `schema.response`. */
interface DocumentedAnswer {
  content?: Record<string, unknown>;
}

/** The parts of a route's schema that say whether it serves pages and in which languages. */
interface PageSchema {
  response?: unknown;
  produces?: readonly string[];
  querystring?: unknown;
  body?: unknown;
}

/**
 * Whether a route serves people pages, by what its schema documents (as the security headers are
 * chosen): an HTML answer at any status (a page, a form shown again), or a 303 to the next page
 * (`seeOther`: a form's Post/Redirect/Get). A page whose schema says neither (a hidden one) sets
 * `config: { page: true }`.
 */
export function servesPages(schema: PageSchema | undefined): boolean {
  if (schema?.produces?.includes('text/html')) return true;
  if (!schema?.response || typeof schema.response !== 'object') return false;
  return Object.entries(schema.response as Record<string, DocumentedAnswer>).some(([status, answer]) => status === '303' || Boolean(answer?.content?.['text/html']));
}

/** Whether a route's page is translated: its address or its form carries the page's `lang`. */
export function declaresLanguage(schema: PageSchema | undefined): boolean {
  return [schema?.querystring, schema?.body].some((part) => {
    const properties = (part as { properties?: Record<string, unknown> } | undefined)?.properties;
    return Boolean(properties && 'lang' in properties);
  });
}

/**
 * Whether the client asked for HTML before JSON: a browser navigating or sending a form does
 * (`text/html,application/xhtml+xml,...`). A client that sends no Accept, accepts any type alike,
 * or names `application/json` first is a program, which keeps the route's JSON error shape. Between equal weights, the one named first wins.
 */
export function prefersHtml(request: FastifyRequest): boolean {
  const accept = request.headers.accept;
  if (typeof accept !== 'string') return false;
  let html = { q: 0, at: Infinity };
  let json = { q: 0, at: Infinity };
  accept.split(',').forEach((part, at) => {
    const [type = '', ...params] = part.split(';');
    const weight = params.map((param) => /^q=([\d.]+)$/.exec(param.trim())?.[1]).find(Boolean);
    const q = weight === undefined ? 1 : Number(weight);
    const media = type.trim().toLowerCase();
    if ((media === 'text/html' || media === 'application/xhtml+xml') && q > html.q) html = { q, at };
    if ((media === 'application/json' || /^application\/[\w.-]+\+json$/.test(media)) && q > json.q) json = { q, at };
  });
  return html.q > 0 && (html.q > json.q || (html.q === json.q && html.at < json.at));
}

/** A page's words in every language; `{name}` is filled in. */
type Words = Record<PageLanguage, string>;

/**
 * `words` with French typography made once (`frenchSpacing`: a no-break space before `: ; ? !` and
 * inside « »), as the message catalogues do, so the French below is written with plain spaces and
 * words added later cannot forget it.
 */
function withFrenchSpacing<T extends Record<string, Words>>(words: T): T {
  return Object.fromEntries(Object.entries(words).map(([key, text]) => [key, { ...text, fr: frenchSpacing(text.fr) }])) as T;
}

const WORDS = withFrenchSpacing({
  back: { en: 'Back to the page', fr: 'Revenir à la page' },
  home: { en: 'Go to the home page', fr: 'Aller à la page d’accueil' },
  formTitle: { en: 'This form could not be accepted', fr: 'Ce formulaire n’a pas pu être accepté' },
  formInvalid: {
    en: 'The form’s field “{field}” holds a value this page does not accept (too long, or not one of its choices). Reload the page and fill in the form again.',
    fr: 'Le champ « {field} » du formulaire contient une valeur que cette page n’accepte pas (trop longue, ou qui n’est pas l’un de ses choix). Rechargez la page et remplissez à nouveau le formulaire.',
  },
  formMissing: {
    en: 'The form arrived without its field “{field}”. Reload the page and send the form again.',
    fr: 'Le formulaire est arrivé sans son champ « {field} ». Rechargez la page et envoyez à nouveau le formulaire.',
  },
  formUnknown: {
    en: 'The form has a field “{field}” this page does not know. Reload the page and send the form again.',
    fr: 'Le formulaire contient un champ « {field} » que cette page ne connaît pas. Rechargez la page et envoyez à nouveau le formulaire.',
  },
  formUnreadable: {
    en: 'What your browser sent could not be read as this page’s form. Reload the page and send the form again.',
    fr: 'Ce que votre navigateur a envoyé n’a pas pu être lu comme le formulaire de cette page. Rechargez la page et envoyez à nouveau le formulaire.',
  },
  linkTitle: { en: 'This link does not work', fr: 'Ce lien ne fonctionne pas' },
  linkInvalid: {
    en: 'A part of this address (“{field}”) is not one this page accepts: the link may have been cut or changed on the way. Open it again from where you found it.',
    fr: 'Une partie de cette adresse (« {field} ») n’est pas acceptée par cette page : le lien a pu être coupé ou modifié en chemin. Ouvrez-le à nouveau depuis l’endroit où vous l’avez trouvé.',
  },
  linkUnreadable: {
    en: 'This address is not one this page accepts: the link may have been cut or changed on the way. Open it again from where you found it.',
    fr: 'Cette page n’accepte pas cette adresse : le lien a pu être coupé ou modifié en chemin. Ouvrez-le à nouveau depuis l’endroit où vous l’avez trouvé.',
  },
  tooLargeTitle: { en: 'The form is too large', fr: 'Le formulaire est trop volumineux' },
  tooLarge: {
    en: 'What you sent is larger than this server accepts. Shorten what you typed and send the form again.',
    fr: 'Ce que vous avez envoyé dépasse ce que ce serveur accepte. Raccourcissez ce que vous avez saisi et envoyez à nouveau le formulaire.',
  },
  mediaTitle: { en: 'This form was sent in a way this page does not accept', fr: 'Ce formulaire a été envoyé d’une façon que cette page n’accepte pas' },
  media: {
    en: 'This page takes its own web form only. Reload the page and send the form from it.',
    fr: 'Cette page n’accepte que son propre formulaire. Rechargez la page et envoyez le formulaire depuis celle-ci.',
  },
  limitedTitle: { en: 'Too many requests', fr: 'Trop de requêtes' },
  limited: {
    en: 'Too many requests came from your network. Wait {wait}, then try again.',
    fr: 'Trop de requêtes sont venues de votre réseau. Attendez {wait}, puis réessayez.',
  },
  unavailableTitle: { en: 'The service is briefly unavailable', fr: 'Le service est momentanément indisponible' },
  unavailable: {
    en: 'This server cannot answer just now. Try again in a moment.',
    fr: 'Ce serveur ne peut pas répondre pour le moment. Réessayez dans un instant.',
  },
  brokenTitle: { en: 'Something went wrong', fr: 'Une erreur est survenue' },
  broken: {
    en: 'Something went wrong on our side. It has been logged. Try again in a moment.',
    fr: 'Une erreur est survenue de notre côté. Elle a été consignée. Réessayez dans un instant.',
  },
  refusedTitle: { en: 'This request was refused', fr: 'Cette requête a été refusée' },
  methodTitle: { en: 'This address cannot be opened this way', fr: 'Cette adresse ne s’ouvre pas de cette façon' },
  method: {
    en: 'Your browser reached this address in a way it does not answer: a form’s address opened as a link, or a form sent to an address that only shows a page. Go back to where you came from and try again from there.',
    fr: 'Votre navigateur a atteint cette adresse d’une façon à laquelle elle ne répond pas : l’adresse d’un formulaire ouverte comme un lien, ou un formulaire envoyé à une adresse qui ne fait qu’afficher une page. Revenez là d’où vous venez et réessayez depuis cet endroit.',
  },
  notFoundTitle: { en: 'There is no page here', fr: 'Il n’y a pas de page ici' },
  notFound: {
    en: 'Nothing on this server answers at this address. Check the link, or open it again from where you found it.',
    fr: 'Rien sur ce serveur ne répond à cette adresse. Vérifiez le lien, ou ouvrez-le à nouveau depuis l’endroit où vous l’avez trouvé.',
  },
} satisfies Record<string, Words>);

/** The codes of a body no parser could read (pairgate's own words for them are for programs). */
const BODY_UNREADABLE = new Set(['invalid_json', 'body_forbidden_key', 'body_not_utf8', 'invalid_multipart', 'invalid_content_length']);

/** The codes of an address Fastify's router refused before any route (error-handler.ts's `sendFrameworkError`). */
const ROUTER_REFUSED = new Set(['bad_url', 'uri_too_long']);

/** `{name}` placeholders of `words` in `lang`, filled from `values`. */
function say(words: Words, lang: PageLanguage, values: Record<string, string> = {}): string {
  return words[lang].replace(/\{(\w+)\}/g, (whole, name: string) => values[name] ?? whole);
}

/** What went wrong with a request's schema check, in words. */
function schemaWords(refusal: Refusal, lang: PageLanguage): { title: string; message: string } {
  const field = refusal.field ? { field: refusal.field } : undefined;
  if (refusal.part === 'body') {
    const words = !field ? WORDS.formUnreadable : refusal.problem === 'missing' ? WORDS.formMissing : refusal.problem === 'unknown' ? WORDS.formUnknown : WORDS.formInvalid;
    return { title: say(WORDS.formTitle, lang), message: say(words, lang, field) };
  }
  return { title: say(WORDS.linkTitle, lang), message: say(field ? WORDS.linkInvalid : WORDS.linkUnreadable, lang, field) };
}

/** The title and message of the page for `refusal`, in `lang`. */
function words(refusal: Refusal, lang: PageLanguage): { title: string; message: string } {
  switch (refusal.status) {
    case 413:
      return { title: say(WORDS.tooLargeTitle, lang), message: say(WORDS.tooLarge, lang) };
    case 415:
      return { title: say(WORDS.mediaTitle, lang), message: say(WORDS.media, lang) };
    case 429:
      return { title: say(WORDS.limitedTitle, lang), message: say(WORDS.limited, lang, { wait: waitWords(refusal.retryAfterSeconds ?? 60, lang) }) };
    case 503:
      return { title: say(WORDS.unavailableTitle, lang), message: say(WORDS.unavailable, lang) };
  }
  // What the router refused (a malformed %-escape, a part too long): the link was damaged on the way.
  if (ROUTER_REFUSED.has(refusal.code)) return { title: say(WORDS.linkTitle, lang), message: say(WORDS.linkUnreadable, lang) };
  if (refusal.code === 'route_not_found') return { title: say(WORDS.notFoundTitle, lang), message: say(WORDS.notFound, lang) };
  // A method the address is not served under (405): a form's address opened as a link, or a form sent to a page.
  if (refusal.code === 'method_not_allowed') return { title: say(WORDS.methodTitle, lang), message: say(WORDS.method, lang) };
  if (refusal.code === 'validation_failed') return schemaWords(refusal, lang);
  if (BODY_UNREADABLE.has(refusal.code)) return { title: say(WORDS.formTitle, lang), message: say(WORDS.formUnreadable, lang) };
  if (refusal.status >= 500) return { title: say(WORDS.brokenTitle, lang), message: say(WORDS.broken, lang) };
  return { title: say(WORDS.refusedTitle, lang), message: refusal.message };
}

/**
 * The error page for `refusal`, in `lang`, with a link to `back` when there is one: the form's page
 * (`to: 'page'`), or the server's home page (`to: 'home'`), for a page whose own address was refused
 * (reloading it would be refused again).
 */
export function errorPageView(refusal: Refusal, lang: PageLanguage, back?: string, to: 'page' | 'home' = 'page'): ErrorPageView {
  return { lang, ...words(refusal, lang), ...(back ? { back } : {}), backLabel: say(to === 'home' ? WORDS.home : WORDS.back, lang) };
}
