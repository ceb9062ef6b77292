import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import type { Static } from 'typebox';
import { InvalidRequestError, NotFoundError, RateLimitedError, UnauthorizedError, isPairgateError, type PairgateError } from '../../core/errors.js';
import { constantTimeEqual, hashToken, randomId } from '../../core/ids.js';
import { configSection } from '../../server/config.js';
import type { DoorContext } from '../door.js';
import { relayConfigSchema } from './config.js';
import { RelayAddressCap } from './relay-address-cap.js';
import { RELAY_KIND, relayCodeFormat, SUPPORT_CODE_SCOPE } from './relay-code.js';
import { allowedHostEntry, checkOriginUrl, splitList } from './relay-url.js';
import { PublishBody, PublishedView, RelayCodeParams, RelayErrors, RelayGoQuery, RelayPageQuery, type relayError } from './relay-schemas.js';
import { NumberedSlots } from '../shared/numbered-slots.js';
import { relayErrorShape } from './wire-errors.js';
import { languageSwitch, type PageLanguage } from '../../web/page-language.js';
import { prefersHtml } from '../../web/error-page.js';
import { askedLang, pickLang } from '../accounts/i18n.js';
import { codeRefusalText, supportTranslator } from './support-i18n.js';
import { MAX_TYPED_CODE, refuseOverlongCode, tooLongForACode } from './code-param.js';
import { refuseCrossSiteWrite, RELAY_PUBLISH } from './cross-site-writes.js';

/**
 * Refuses what cannot be a typed code before any look-up (it counts as no miss): a text longer than
 * MAX_TYPED_CODE, or `code` given more than once (an array), which no form sends.
 */
function checkTypedCode(code: unknown): string {
  if (code === undefined) return '';
  if (typeof code !== 'string') throw new InvalidRequestError('This is not a support code: the address gives "code" more than once. Type the 6-character code your supporter gave you on the phone.', undefined, 'code_invalid');
  if (code.length > MAX_TYPED_CODE) throw new InvalidRequestError(tooLongForACode(code.length), undefined, 'code_invalid');
  return code;
}

/**
 * A documented refusal of the code's look-up as JSON (`answer`) or, for a browser (Accept: text/html
 * first), as the relay's page saying so.
 */
function orPage(answer: ReturnType<typeof relayError>) {
  const { description } = answer as { description?: string };
  return { description: `${description ?? ''} A browser (Accept: text/html) gets the relay's page saying so, with its form.`, content: { 'application/json': { schema: answer }, 'text/html': { schema: { type: 'string' } } } };
}

/** What a relay entry holds: the origin's pairing base URL, nothing else about the session. */
interface RelayEntry {
  url: string;
}

/** The relay's answer for an unknown or expired code, word for word as in the original. */
export const RELAY_NOT_FOUND = 'no session with this code or session has expired';

/**
 * The origin's page of a code with the language the person chose on the relay's page (`?lang=`),
 * when they chose one: the origin is often another site, which does not know the choice.
 */
function withLanguage(target: string, asked: PageLanguage | undefined): string {
  if (!asked) return target;
  const url = new URL(target);
  url.searchParams.set('lang', asked);
  return url.href;
}

/**
 * The relay routes, mounted at `prefix` ('' when the relay serves alone). `POST /pairing/` maps a
 * fresh code to an origin URL; `GET /pairing/:code` redirects to it; `GET /` is the page where a
 * person types the code.
 */
export async function registerRelayRoutes(app: FastifyInstance, ctx: DoorContext, prefix: string): Promise<void> {
  const api = app.withTypeProvider<TypeBoxTypeProvider>();
  const cfg = configSection(ctx.config, relayConfigSchema);
  // What no route answers under the relay's API (a method it does not take, an unknown path, a bad
  // %-escape) speaks its shape too. Only `/pairing` when alone at `/` (`/` is the server's, its
  // health and docs among it); the page paths keep the error page for people, and so does a
  // browser under `/pairing`, where the relay's links to the origins' pages lead.
  ctx.useErrorShape(app, relayErrorShape, { linkPrefixes: [`${prefix}/pairing`] });
  const rules = {
    allowHttp: cfg.PAIRGATE_RELAY_ALLOW_HTTP,
    allowedHosts: splitList(cfg.PAIRGATE_RELAY_ALLOWED_HOSTS).map(allowedHostEntry),
    maxLength: cfg.PAIRGATE_RELAY_MAX_URL_LENGTH,
  };
  // Keys are compared by hash, in constant time, so configuration values never meet request bytes directly.
  const apiKeyHashes = splitList(cfg.PAIRGATE_RELAY_API_KEYS).map(hashToken);
  const lookupLimit = ctx.codeGuard.rateLimit(SUPPORT_CODE_SCOPE, ctx.config.PAIRGATE_CODE_LOOKUPS_PER_MINUTE);
  const tags = ['support relay'];
  const publicBase = (): string => `${ctx.publicUrl()}${prefix}`;
  const ttlMs = cfg.PAIRGATE_RELAY_CODE_TTL * 1000;
  // A cap that is not below the relay's own can never bind: such a relay skips the bookkeeping.
  const addressCap = cfg.PAIRGATE_RELAY_MAX_LIVE_CODES_PER_IP < cfg.PAIRGATE_RELAY_MAX_LIVE_CODES
    ? new RelayAddressCap(ctx.stores.ephemeral, ctx.clock, cfg.PAIRGATE_RELAY_MAX_LIVE_CODES_PER_IP)
    : undefined;

  const totalSlots = new NumberedSlots(ctx.stores.ephemeral, 'relay|total|', cfg.PAIRGATE_RELAY_MAX_LIVE_CODES);

  /** Whether the request carries one of the relay's API keys (`Authorization: Bearer` or `X-Api-Key`). */
  const hasApiKey = (request: FastifyRequest): boolean => {
    if (apiKeyHashes.length === 0) return false;
    const header = request.headers.authorization;
    const given = typeof header === 'string' && /^Bearer\s+/i.test(header) ? header.replace(/^Bearer\s+/i, '') : request.headers['x-api-key'];
    const hash = typeof given === 'string' && given ? hashToken(given) : '';
    return hash !== '' && apiKeyHashes.some((known) => constantTimeEqual(known, hash));
  };

  /** Whether the request carries one of the relay's API keys; throws when keys are required and it carries none. */
  const checkApiKey = (request: FastifyRequest): boolean => {
    if (apiKeyHashes.length === 0) return false;
    if (!hasApiKey(request)) throw new UnauthorizedError('This relay needs an API key to publish (Authorization: Bearer <key>).', 'api_key_required');
    return true;
  };

  /**
   * The publish route's first hook, before the route's rate limit (whose hook @fastify/rate-limit
   * appends after the route's own `onRequest` ones) and before the body is read: a page of another
   * site must spend neither its visitors' places (the caps per address) nor their creation rate.
   * It reads headers only, so it takes the request untyped, whatever the route's body.
   */
  const refuseCrossSitePublish = async (request: FastifyRequest): Promise<void> => refuseCrossSiteWrite(request, ctx.publicUrl(), RELAY_PUBLISH);

  /**
   * Publishes the origin URL of `body` (the route's, typed by its schema where the route is
   * registered: the request is taken untyped, as the route's hooks take it, so that the hooks and
   * the handler agree on the route's generic).
   */
  const publish = async (request: FastifyRequest, body: Static<typeof PublishBody> | undefined, reply: FastifyReply) => {
    const keyed = checkApiKey(request);
    const url = checkOriginUrl(body?.url, rules);
    // The relay's cap is what its brute-force budget was computed with: held exactly, even by a
    // burst on several nodes (a slot per live code, for the code's lifetime; relay codes are never
    // removed early).
    const now = ctx.clock.now();
    // A value of this code's own, so the give-back below frees this slot only (see RelayAddressCap).
    const holder = randomId(9);
    const total = await totalSlots.take('all', holder, ttlMs, now, { randomProbes: 4 });
    if (!total.ok) {
      const firstFree = Math.min(...total.held.map((slot) => slot.expiresAt), now + ttlMs);
      throw new RateLimitedError(Math.max(1, Math.ceil((firstFree - now) / 1000)), 'Too many codes are live on this relay. Try again shortly.');
    }
    let release: (() => Promise<void>) | undefined;
    let code: string | undefined;
    try {
      // A publisher holding an API key is an origin the operator knows (one supporter's server
      // publishes every session's code from its one address, and a code lives its whole TTL after
      // its session ends): the cap per address, for anonymous publishers, does not bind it; the
      // relay's own cap, which the brute-force budget is computed with, does.
      release = keyed ? undefined : await addressCap?.take(request.clientNetwork, ttlMs);
      ({ code } = await ctx.engine.create<RelayEntry>({ kind: RELAY_KIND, request: { url }, ttlMs, codeFormat: relayCodeFormat }));
    } catch (error) {
      // No code, so no slot: the relay and the address get theirs back.
      await totalSlots.releaseIfHeld(total.key, holder, now).catch(() => undefined);
      await release?.().catch(() => undefined);
      throw error;
    }
    return reply.code(200).send({ success: true as const, code: code!, pairing_url: `${publicBase()}/pairing/${code!}`, redirect_url: `${url}/${code!}`, expires_in: Math.floor(ttlMs / 1000) });
  };
  const publishRoute = {
    schema: { tags, summary: 'Publish an origin: get a code that redirects to <url>/<code>.', body: PublishBody, response: { 200: PublishedView, 400: RelayErrors.publish400, 401: RelayErrors.publish401, 403: RelayErrors.publish403, 413: RelayErrors.publish413, 415: RelayErrors.publish415, 429: RelayErrors.publish429 } },
    bodyLimit: cfg.PAIRGATE_RELAY_BODY_LIMIT,
    onRequest: refuseCrossSitePublish,
    // The creation rate per address is for anonymous publishers. One with an API key is an origin
    // the operator gave it to, which publishes every supporter's session from its one address: one
    // code per 5 s would refuse a second supporter starting a session at the same moment. Its codes
    // are bounded by PAIRGATE_RELAY_MAX_LIVE_CODES (the brute-force budget's number, held below),
    // and its own creations by the origin's limits; a limit per key would only repeat those. A
    // wrong key is no exemption: key guesses are held to the address's rate.
    config: { rateLimit: { max: cfg.PAIRGATE_RELAY_CREATE_MAX, timeWindow: cfg.PAIRGATE_RELAY_CREATE_WINDOW_SECONDS * 1000, allowList: (request: FastifyRequest) => hasApiKey(request) } },
  };
  api.post('/pairing/', publishRoute, (request, reply) => publish(request, request.body, reply));
  api.post('/pairing', publishRoute, (request, reply) => publish(request, request.body, reply));

  // An address without its code (a link cut short): a person is sent to the page where a code is
  // typed; a program is told what the address lacks, not that `params.code` is too short.
  const noCode = async (request: FastifyRequest, reply: FastifyReply) => {
    if (prefersHtml(request)) return reply.code(303).header('cache-control', 'no-store').redirect(`${prefix}/`);
    throw new InvalidRequestError(`This address has no code: ask for ${publicBase()}/pairing/<code>, with the 6-character code the supporter read out.`, undefined, 'code_empty');
  };
  const noCodeRoute = {
    schema: {
      tags,
      summary: 'No code given: 400 code_empty (a browser is sent to the page where a code is typed).',
      response: { 303: { description: 'A browser: to the page where a code is typed.', type: 'null' }, 400: RelayErrors.code400 },
    },
  };
  api.get('/pairing/', noCodeRoute, noCode);
  api.get('/pairing', noCodeRoute, noCode);

  /** The redirect target of a typed code; counts misses per address. */
  const resolve = async (ip: string, typed: string): Promise<string> => {
    const found = await ctx.codeGuard.lookup(SUPPORT_CODE_SCOPE, ip, async () => {
      const parsed = relayCodeFormat.parse(typed);
      const entry = await ctx.engine.findByCode<RelayEntry, never>(RELAY_KIND, relayCodeFormat, typed);
      return entry && parsed.ok ? `${entry.request.url}/${parsed.code}` : undefined;
    });
    if (!found) throw new NotFoundError(RELAY_NOT_FOUND, 'code_not_found');
    return found;
  };

  // The link a supporter sends is opened in a browser too: its refusals are documented as pages as
  // well (so the route is a page, and what is refused before its handler, a rate limit or what
  // cannot be a code, gets the error page in a browser too).
  api.get('/pairing/:code', {
    schema: {
      tags,
      summary: 'Redirect (302) to the origin URL of a code.',
      params: RelayCodeParams,
      response: {
        302: { description: 'The code is live: the origin\'s pairing URL for it is in Location.', type: 'null', headers: { location: { type: 'string', description: 'The origin URL of the code.' } } },
        400: orPage(RelayErrors.code400),
        404: orPage(RelayErrors.code404),
        429: orPage(RelayErrors.code429),
      },
    },
    config: { rateLimit: lookupLimit },
    preValidation: refuseOverlongCode,
  }, async (request, reply) => {
    try {
      const target = await resolve(request.clientNetwork, request.params.code);
      return await (reply as FastifyReply).code(302).header('cache-control', 'no-store').redirect(target);
    } catch (error) {
      // A person who opened the link (a code expired or mistyped) reads the relay's page with the
      // refusal and its form, as after /go; a program (Accept without text/html first) keeps the
      // relay's JSON with the stable code.
      if (!isPairgateError(error) || !prefersHtml(request)) throw error;
      return refusalPage(request, reply, error, request.params.code);
    }
  });

  // The page where a person types the code; a GET form (no state changes), answered with the 302.
  // The form's answer is a redirect to an origin on another site, and CSP's form-action governs
  // redirects after a submission: this page alone lets forms lead to http(s) origins.
  const formAction = `form-action 'self' https:${rules.allowHttp ? ' http:' : ''}`;
  const homePage = (request: FastifyRequest, reply: FastifyReply, data: Record<string, unknown>, status = 200): FastifyReply => {
    const csp = reply.getHeader('content-security-policy');
    if (typeof csp === 'string') reply.header('content-security-policy', csp.replace(/form-action [^;]*/, formAction));
    // `pairgate join` asks a relay at 127.0.0.1 unless told which: the page names itself.
    const lang = pickLang(request);
    return ctx.pages.render(request, reply, 'support/relay-home.njk', {
      ...languageSwitch(request, lang),
      t: supportTranslator(lang),
      askedLang: askedLang(request),
      action: `${prefix}/go`,
      relayUrl: publicBase(),
      ...data,
    }, status);
  };
  /** The page again with the refusal of `typed` (same status, Retry-After on a 429) and its form. */
  const refusalPage = (request: FastifyRequest, reply: FastifyReply, error: PairgateError, typed: string): FastifyReply => {
    if (error.status === 429) reply.header('retry-after', String(error.details?.retryAfterSeconds ?? 60));
    return homePage(request, reply, { error: codeRefusalText(error, pickLang(request), 'relay.notFound'), code: typed }, error.status);
  };
  api.get('/', { schema: { tags, summary: 'The page where a person types the code.', hide: true, querystring: RelayPageQuery }, config: { page: true } }, async (request, reply) => homePage(request, reply, {}));
  api.get('/go', {
    schema: { tags, summary: 'The page form: redirect to the origin of a typed code.', hide: true, querystring: RelayGoQuery },
    config: { rateLimit: lookupLimit, page: true },
  }, async (request, reply) => {
    let typed: string;
    try {
      typed = checkTypedCode(request.query.code);
    } catch (error) {
      // A program gets the relay's error shape with the stable code; a person, the page and its form again.
      if (!prefersHtml(request)) throw error;
      return homePage(request, reply, { error: codeRefusalText(error as PairgateError, pickLang(request), 'relay.notFound'), code: '' }, 400);
    }
    try {
      const target = withLanguage(await resolve(request.clientNetwork, typed), askedLang(request));
      return await (reply as FastifyReply).code(302).header('cache-control', 'no-store').redirect(target);
    } catch (error) {
      // As for what cannot be a code above: a program (Accept without text/html) gets the relay's
      // error shape with the stable code (code_not_found, code_wrong_length, ...); a person, the page.
      if (!isPairgateError(error) || !prefersHtml(request)) throw error;
      return refusalPage(request, reply, error, typed);
    }
  });
}
