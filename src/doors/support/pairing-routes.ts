import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { ForbiddenError, InvalidRequestError, NotFoundError, PairgateError, isPairgateError } from '../../core/errors.js';
import type { Grant } from '../../core/grant.js';
import { constantTimeEqual, randomToken, hashToken } from '../../core/ids.js';
import { configSection } from '../../server/config.js';
import { htmlPage, seeOther } from '../../server/openapi-responses.js';
import { REMOTE_IMAGE_PAGE_HEADERS } from '../../server/security-headers.js';
import { prefersHtml } from '../../web/error-page.js';
import { languageSwitch, type PageLanguage } from '../../web/page-language.js';
import { askedLang, pickLang } from '../accounts/i18n.js';
import type { DoorContext } from '../door.js';
import { supportConfigSchema } from './config.js';
import { splitRef, type PairingRequest } from './origin-session-routes.js';
import { PAIRING_KIND, relayCodeFormat, SUPPORT_CODE_SCOPE } from './relay-code.js';
import { openToken, SEAL_KIND } from './sealed-token.js';
import { refuseOverlongCode } from './code-param.js';
import { SpentCodes, type SpentHow } from './spent-codes.js';
import { addVary } from '../shared/vary.js';
import { sessionGrantId, type SessionRequest, type SessionResult, type SessionGrant } from './session-model.js';
import { codeRefusalText, codeRefusalTitle, sessionScriptWords, supportTranslator, timeLeft, type SupportKey } from './support-i18n.js';
import { ConfirmBody, ConfirmedView, PageLanguageQuery, PairingCodeParams, PairingInfoView, PlexusErrorView, RefParams, SupportErrors } from './schemas.js';

type PairingGrant = Grant<PairingRequest, { reason: string }>;

/** The page form's answer to a decision, in the OpenAPI document. */
const PAGE_REDIRECT = seeOther(
  'Decided from the page\'s form (Post/Redirect/Get): confirmed, to the session page (`/support/<id>:<token>`), the agent credential in the URL fragment; '
  + 'declined, to the page that says so (`/support/declined`); either with `?lang=` when the form carried the language the person chose.',
);

/**
 * Where the page's form goes once the person declined: a page of its own, the same for every
 * session (it holds nothing of the one declined), so a reload shows it again and a guessed URL
 * learns nothing.
 */
export const DECLINED_PAGE_PATH = '/support/declined';

/**
 * What the page says of a code that was decided on already (SpentCodes): a person pressing Back
 * after confirming is told where the session is, not to ask for a new code.
 */
const SPENT_PAGES: Record<SpentHow, { title: SupportKey; message: SupportKey }> = {
  confirmed: { title: 'code.usedTitle', message: 'code.used' },
  declined: { title: 'code.declinedTitle', message: 'code.declined' },
  burned: { title: 'code.notWorking', message: 'code.burned' },
};

/** The origin's answer for an unknown or expired code, as in the spec. */
/** The machine code of the JSON 404 for a code decided on already, by how (spentCodeError). */
const SPENT_CODES: Record<SpentHow, string> = { confirmed: 'code_used', declined: 'code_declined', burned: 'code_burned' };

const codeNotFound = (): NotFoundError => new NotFoundError('Code not found', 'code_not_found');

/**
 * A code whose grant is gone by the time it is decided (a new code asked for meanwhile removed it,
 * or the session was deleted) is as unknown as any replaced code: `code_not_found`, not the
 * engine's `grant_not_found`, which says nothing to a person and is not this door's.
 */
const goneAsNotFound = (error: unknown): never => {
  if (isPairgateError(error) && error.code === 'grant_not_found') throw codeNotFound();
  throw error;
};

/**
 * A session's decision holds only while `pairing` is still its code: a new code asked for between
 * the look-up and the decision replaces it, and the replaced code then decides nothing.
 */
const stillPairedWith = (pairing: PairingGrant) => (session: SessionGrant): void => {
  if (session.request.pairingGrantId !== pairing.id) throw codeNotFound();
};

/**
 * The form encodings: a page of any site can post them (and no body at all) without asking the
 * server first, so the confirmation takes them only with this browser's CSRF token. JSON cannot be
 * sent across sites without a CORS preflight, which this server never grants.
 */
const FORM_TYPES: readonly string[] = ['application/x-www-form-urlencoded', 'multipart/form-data'];

/**
 * The path of a session's page for the person being helped: `<id>:<token>` (the tail of AgentMSH)
 * picks the session; the agent credential is never part of it.
 */
export function sessionPagePath(id: string, token: string): string {
  return `/support/${id}:${token}`;
}

/**
 * The query that carries the language the person asked for (`?lang=`, or the form's `lang`) on to
 * the page a form leads to; none when they asked for none, as the next page then picks the same.
 */
function langQuery(asked: PageLanguage | undefined): string {
  return asked ? `?lang=${asked}` : '';
}

/** The media type of the request's body, lower case, without parameters ('' when none). */
function mediaType(request: FastifyRequest): string {
  return (request.headers['content-type'] ?? '').split(';')[0]!.trim().toLowerCase();
}


/**
 * The origin's pairing routes: `GET /pairing/:code` (the pairing info as JSON for agents, the
 * confirmation page for browsers that the relay redirected here) and `POST /pairing/:code/confirm`
 * (the person's yes or no). Every look-up is rate limited and counted per address; a code confirmed
 * wrongly too often, or declined, is burned.
 */
export async function registerPairingRoutes(app: FastifyInstance, ctx: DoorContext): Promise<void> {
  const api = app.withTypeProvider<TypeBoxTypeProvider>();
  const cfg = configSection(ctx.config, supportConfigSchema);
  const lookupLimit = ctx.codeGuard.rateLimit(SUPPORT_CODE_SCOPE, ctx.config.PAIRGATE_CODE_LOOKUPS_PER_MINUTE);
  const tags = ['support origin'];
  const spent = new SpentCodes(ctx.stores.ephemeral, ctx.clock, ctx.engine);
  /** Notes how a code was decided (see SpentCodes); a failure to note it only costs a plainer page later. */
  const noteSpent = (code: string, how: SpentHow, expiresAt: number): Promise<void> =>
    spent.remember(code, how, expiresAt).catch((error: unknown) => ctx.logger.warn({ err: error }, 'support: could not note a spent pairing code'));

  /** The live pairing grant and session of a typed code; a miss counts against the address. */
  const find = async (ip: string, typed: string): Promise<{ pairing: PairingGrant; session: SessionGrant; code: string; token: string }> => {
    const found = await ctx.codeGuard.lookup(SUPPORT_CODE_SCOPE, ip, async () => {
      const pairing = await ctx.engine.findByCode<PairingRequest, { reason: string }>(PAIRING_KIND, relayCodeFormat, typed);
      const session = pairing ? await ctx.engine.get<SessionRequest, SessionResult>(pairing.request.sessionGrantId) : undefined;
      const parsed = relayCodeFormat.parse(typed);
      const token = pairing && parsed.ok ? openToken(pairing.request.sealedToken, ctx.engine.codeHash(SEAL_KIND, parsed.code), pairing.id) : undefined;
      // Only the session's current code: one it replaced (a new code was asked for, or the session
      // was deleted and made again under its id) is as unknown as a code never issued.
      const current = pairing && session?.request.pairingGrantId === pairing.id;
      return current && parsed.ok && token ? { pairing, session, code: parsed.code, token } : undefined;
    });
    if (!found) throw codeNotFound();
    return found;
  };

  const info = (session: SessionGrant, token: string) => ({
    AgentMSH: `${ctx.publicUrl()}/config/${session.request.id}:${token}`,
    ExpiresAt: new Date(session.expiresAt).toISOString(),
    CompanyName: cfg.PLEXUS_COMPANY_NAME,
    CompanyLogo: cfg.PLEXUS_COMPANY_LOGO,
    SupporterName: session.request.supporterName,
    SupporterAvatar: session.request.supporterAvatar,
  });

  /** The language of the page answering `request` (page-language.ts), and its words. */
  const pageLanguage = (request: FastifyRequest) => {
    const lang = pickLang(request);
    return { lang, t: supportTranslator(lang) };
  };

  /** Renders a support page in the request's language, with the language switch and the `lang` it asked for (to carry on). */
  const page = (request: FastifyRequest, reply: FastifyReply, template: string, data: Record<string, unknown>, status = 200): FastifyReply => {
    const { lang, t } = pageLanguage(request);
    return ctx.pages.render(request, reply, template, { ...languageSwitch(request, lang), t, askedLang: askedLang(request), ...data }, status);
  };

  /**
   * Renders an error as a page for browsers (the JSON routes keep the Plexus shape). A code not
   * found that was decided on already (`typed`, see SpentCodes) is said to be used, or declined.
   */
  const errorPage = async (request: FastifyRequest, reply: FastifyReply, error: unknown, typed: string): Promise<FastifyReply> => {
    if (!isPairgateError(error)) throw error;
    if (typeof error.details?.retryAfterSeconds === 'number') reply.header('retry-after', String(error.details.retryAfterSeconds));
    const how = error.code === 'code_not_found' ? await spent.how(typed).catch(() => undefined) : undefined;
    const { lang, t } = pageLanguage(request);
    if (how) return page(request, reply, 'error.njk', { title: t(SPENT_PAGES[how].title), message: t(SPENT_PAGES[how].message) }, error.status);
    return page(request, reply, 'error.njk', { title: codeRefusalTitle(error, lang), message: codeRefusalText(error, lang) }, error.status);
  };

  /**
   * The JSON answer for a code that was decided on already (SpentCodes): still the Plexus 404
   * "Code not found", but with a machine code that says how (`code_used`, `code_declined`,
   * `code_burned`), so that an agent (`pairgate join`) can tell the person what the page tells them
   * rather than to check a code they typed right.
   */
  const spentCodeError = async (error: unknown, typed: string): Promise<unknown> => {
    if (!isPairgateError(error) || error.code !== 'code_not_found') return error;
    const how = await spent.how(typed).catch(() => undefined);
    return how ? new NotFoundError(error.message, SPENT_CODES[how]) : error;
  };

  /** An error of the code's look-up: JSON, or for browsers the page that says what went wrong (errorPage). */
  const errorOrPage = (description: string) => ({ description: `${description} A browser (Accept: text/html) gets a page that says so.`, content: { 'application/json': { schema: PlexusErrorView }, 'text/html': { schema: { type: 'string' } } } });

  api.get('/pairing/:code', {
    schema: { tags, summary: 'Who asks: the pairing info of a code (JSON), or the confirmation page for browsers.', params: PairingCodeParams, querystring: PageLanguageQuery, response: {
      200: { description: 'The pairing info (JSON), or the confirmation page for browsers (Accept: text/html).', content: { 'application/json': { schema: PairingInfoView }, 'text/html': { schema: { type: 'string' } } } },
      400: errorOrPage('`code_wrong_length`, `code_bad_character` or `code_invalid`: this cannot be a code (`problem` says why); `validation_failed` for a bad `lang`.'),
      404: errorOrPage('`code_not_found`: no live session has this code; `code_used`, `code_declined` or `code_burned` when it was decided already.'),
      429: errorOrPage('`rate_limited`: too many look-ups, or too many wrong codes, from this network (`Retry-After`).'),
    } },
    // The one page showing pictures from elsewhere: the supporter's avatar and the company logo.
    config: { rateLimit: lookupLimit, securityHeaders: REMOTE_IMAGE_PAGE_HEADERS },
    preValidation: refuseOverlongCode,
  }, async (request, reply) => {
    // One address, a page or JSON by Accept: a cache must not hand one for the other.
    addVary(reply, 'Accept');
    if (!prefersHtml(request)) {
      try {
        const { session, token } = await find(request.clientNetwork, request.params.code);
        // The page's header set, which this route has, keeps no-store for pages: the JSON carries
        // the agent token (AgentMSH) and must not be kept by a cache either.
        reply.header('cache-control', 'no-store');
        return info(session, token);
      } catch (error) {
        throw await spentCodeError(error, request.params.code);
      }
    }
    try {
      const { session, code, pairing } = await find(request.clientNetwork, request.params.code);
      return await page(request, reply, 'support/confirm.njk', {
        supporterName: session.request.supporterName,
        supporterAvatar: session.request.supporterAvatar,
        companyName: cfg.PLEXUS_COMPANY_NAME,
        companyLogo: cfg.PLEXUS_COMPANY_LOGO,
        expiresIn: timeLeft(pairing.expiresAt - ctx.clock.now(), pickLang(request)),
        expiresAt: new Date(pairing.expiresAt).toISOString(),
        action: `/pairing/${code}/confirm`,
      });
    } catch (error) {
      return errorPage(request, reply, error, request.params.code);
    }
  });

  /** Counts a wrong confirmation of a found code; burns the code once the budget is spent. */
  const wrongConfirmation = async (pairing: PairingGrant, code: string, error: Error): Promise<never> => {
    const attempts = await ctx.engine.recordFailedAttempt(pairing.id);
    if (ctx.codeGuard.exhausted(attempts)) {
      await ctx.engine.refuse(pairing.id, { reason: 'too many wrong confirmations' }).catch(() => undefined);
      await noteSpent(code, 'burned', pairing.expiresAt);
      throw new ForbiddenError('This code was confirmed wrongly too often and no longer works. Ask your supporter for a new code.', 'code_burned');
    }
    throw error;
  };

  api.post('/pairing/:code/confirm', {
    schema: { tags, summary: 'Confirm (or decline) a code: the session starts; the answer carries the agent\'s session credential.', params: PairingCodeParams, body: ConfirmBody, response: { 200: ConfirmedView, 303: PAGE_REDIRECT, 400: SupportErrors.confirm400, 403: SupportErrors.confirm403, 404: SupportErrors.confirm404, 409: SupportErrors.confirm409, 415: SupportErrors.confirm415, 429: SupportErrors.codeLimited429 } },
    config: { rateLimit: lookupLimit },
    preValidation: refuseOverlongCode,
    // Before the body is read: only JSON or a form with its CSRF token can confirm. A body of any
    // other type, or none, is what another site's page could send on its own.
    onRequest: async (request) => {
      const type = mediaType(request);
      if (type !== 'application/json' && !FORM_TYPES.includes(type)) {
        throw new PairgateError('unsupported_media_type', 415, 'Confirm with a JSON body ({"Decision": "accept"}) or the confirmation page\'s form.');
      }
    },
  }, async (request, reply) => {
    const fromPage = FORM_TYPES.includes(mediaType(request));
    try {
      const { pairing, session, token, code } = await find(request.clientNetwork, request.params.code);
      const raw = (fromPage ? request.body?.decision : request.body?.Decision ?? request.body?.decision) ?? 'accept';
      const decision = raw.toLowerCase();
      if (fromPage) {
        // A form post needs this browser's CSRF token: another site cannot confirm on its behalf.
        try {
          ctx.pages.verifyCsrf(request);
        } catch (error) {
          await wrongConfirmation(pairing, code, error as Error);
        }
      }
      if (!['accept', 'yes', 'decline', 'no'].includes(decision)) {
        await wrongConfirmation(pairing, code, new InvalidRequestError('Decision must be "accept" or "decline".', undefined, 'decision_invalid'));
      }
      if (decision === 'decline' || decision === 'no') {
        // The code is spent and the supporter learns at once that the person said no.
        await ctx.engine.refuse(pairing.id, { reason: 'declined' }).catch(goneAsNotFound);
        await ctx.engine.refuse<SessionResult, SessionRequest>(session.id, { credentialHash: null, confirmedAt: ctx.clock.now(), connected: false, connectedAt: null, declined: true }, stillPairedWith(pairing)).catch(goneAsNotFound);
        // Noted only once the session is declined: a code replaced by a new one between the two
        // refusals declined nothing (the session waits for its new code), and is told as not found,
        // as every replaced code, not as a decline the supporter never heard of.
        await noteSpent(code, 'declined', pairing.expiresAt);
        // Post/Redirect/Get, as for a confirmation: a reload of this answer would post the spent
        // code again (the 404 page); the page it leads to may be reloaded.
        if (fromPage) return reply.redirect(`${DECLINED_PAGE_PATH}${langQuery(askedLang(request))}`, 303);
        throw new ForbiddenError('The session was declined; nobody was given access.', 'declined');
      }
      // Approving the pairing grant spends the code (compare-and-set: one confirmation wins).
      await ctx.engine.approve(pairing.id, { reason: 'confirmed' }).catch(goneAsNotFound);
      const credential = randomToken();
      const confirmed = await ctx.engine.approve<SessionResult, SessionRequest>(session.id, { credentialHash: hashToken(credential), confirmedAt: ctx.clock.now(), connected: false, connectedAt: null }, stillPairedWith(pairing)).catch(goneAsNotFound);
      // Noted only once the session is confirmed: a code replaced by a new one between the two
      // approvals confirmed nothing, and is told as not found (as every replaced code), not as used.
      await noteSpent(code, 'confirmed', pairing.expiresAt);
      const channelPath = `/agent/${session.request.id}:${token}`;
      if (fromPage) {
        // Post/Redirect/Get: the session page is a GET the browser may reload (a reload of this
        // answer would post the spent code again). The credential travels in the fragment, which
        // the browser never sends to any server, log or Referer; the page keeps it in this tab's
        // sessionStorage and takes it out of the address bar.
        return reply.header('cache-control', 'no-store').redirect(`${sessionPagePath(session.request.id, token)}${langQuery(askedLang(request))}#credential=${credential}`, 303);
      }
      // The credential and the agent token (in MeshServer): kept by no cache.
      reply.header('cache-control', 'no-store');
      return {
        SessionID: session.request.id,
        State: 'confirmed',
        MeshServer: `${ctx.publicUrl().replace(/^http/, 'ws')}${channelPath}`,
        AgentCredential: credential,
        ExpiresAt: new Date(confirmed.expiresAt).toISOString(),
        SupporterName: session.request.supporterName,
        CompanyName: cfg.PLEXUS_COMPANY_NAME,
      };
    } catch (error) {
      if (fromPage) return errorPage(request, reply, error, request.params.code);
      // As the look-up says it: a program confirming a code decided already learns how (used, declined, burned).
      throw await spentCodeError(error, request.params.code);
    }
  });

  api.get(DECLINED_PAGE_PATH, {
    schema: { tags, summary: 'The page a decline in the browser leads to: nobody was given access. The same for every session; it may be reloaded.', querystring: PageLanguageQuery, response: { 200: htmlPage('The page that says the request was declined.') } },
  }, async (request, reply) => {
    const { t } = pageLanguage(request);
    return page(request, reply, 'support/done.njk', { title: t('declined.title'), message: t('declined.message') });
  });

  /** The live session `<id>:<token>` names, or undefined (unknown, wrong token, ended, expired). */
  const sessionOfPage = async (ref: string): Promise<SessionGrant | undefined> => {
    const parts = splitRef(ref);
    const session = parts ? await ctx.engine.get<SessionRequest, SessionResult>(sessionGrantId(parts.id)) : undefined;
    if (!parts || !session || !constantTimeEqual(hashToken(parts.token), session.request.tokenHash)) return undefined;
    return ctx.engine.stateOf(session) === 'approved' ? session : undefined;
  };

  api.get('/support/:ref', {
    schema: {
      tags,
      summary: 'The session page of the person being helped, where a confirmation in the browser leads; it may be reloaded, and reconnects while the session lives.',
      params: RefParams,
      querystring: PageLanguageQuery,
      response: {
        200: { description: 'The session page; its script reads the agent credential from the fragment or this tab\'s sessionStorage.', content: { 'text/html': { schema: { type: 'string' } } } },
        404: { description: 'The session has ended, expired or was never confirmed (or no session has this link): a page that says so.', content: { 'text/html': { schema: { type: 'string' } } } },
      },
    },
  }, async (request, reply) => {
    const session = await sessionOfPage(request.params.ref);
    const { lang, t } = pageLanguage(request);
    if (!session) return page(request, reply, 'support/done.njk', { title: t('ended.title'), message: t('ended.message') }, 404);
    return page(request, reply, 'support/session.njk', {
      words: sessionScriptWords(lang),
      channel: `/agent/${request.params.ref}`,
      supporterName: session.request.supporterName,
      companyName: cfg.PLEXUS_COMPANY_NAME,
    });
  });
}
