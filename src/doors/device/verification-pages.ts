import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import { isPairgateError } from '../../core/errors.js';
import { hashToken } from '../../core/ids.js';
import { htmlPage, seeOther } from '../../server/openapi-responses.js';
import { waitWords } from '../../web/duration-words.js';
import { accountsOf, currentUser, signInFromForm, signInRefusalText } from '../accounts/accounts.js';
import { addFlowIntro } from '../accounts/flow-intro.js';
import { formFromThisSite } from '../accounts/form-guard.js';
import { BusyAgain } from '../accounts/form-responses.js';
import { pickLang, type Lang } from '../accounts/i18n.js';
import { renderPage } from '../accounts/page-helpers.js';
import { pathInLanguage } from '../../web/page-language.js';
import type { User } from '../accounts/users.js';
import type { CodeBudget } from './code-budget.js';
import { DEVICE_KIND, USER_CODE_FORMAT, type DeviceGrant, type DeviceRequest, type DeviceResult } from './device-grant.js';
import type { DeviceEnv } from './device-env.js';
import { scopesWithdrawn } from './clients.js';
import { deviceTranslator } from './device-i18n.js';

const HtmlPage = { 200: htmlPage('An HTML page.') };
/** The pages of a request this browser cannot decide (`ticketedGrant`). */
const NotDecidable = {
  404: htmlPage('This browser typed no code of a live request by this id.'),
  409: htmlPage('The request was already decided.'),
  410: htmlPage('The client that asked was deleted since, or may no longer ask for a scope the request holds (its scopes were narrowed through the admin API): a page saying which, `data-code="device_scope_withdrawn"`, with nothing to approve.'),
};
/** A form again, saying what went wrong. */
const FormAgain = htmlPage('The form again, saying what went wrong.');
const tags = ['device'];
/** Grant ids as the engine makes them (creation time, then 128 random bits). */
const GRANT_ID = /^[0-9a-f]{12}[A-Za-z0-9_-]{22}$/;
const FormBase = { _csrf: Type.Optional(Type.String({ maxLength: 100 })), lang: Type.Optional(Type.String({ maxLength: 5 })) };

/** The approval's `passwordStamp` (`DeviceResult`) of account `userId`, for a spread: none for an account gone meanwhile. */
async function passwordStamp(request: FastifyRequest, userId: string): Promise<{ passwordStamp?: string }> {
  const stamp = await accountsOf(request).parts.users.passwordStampOf(userId);
  return stamp === undefined ? {} : { passwordStamp: stamp };
}

/** The grant id a consent screen's path (`/device/consent?request=...`, a `next`) names, if it is one. */
export function consentRequestOf(next: string): string | undefined {
  if (!next.startsWith('/device/consent?')) return undefined;
  return new URLSearchParams(next.slice('/device/consent?'.length)).get('request') ?? undefined;
}

/**
 * Why `typed` cannot be a user code, in the page's language (the engine's own message is English
 * only), or undefined when it can.
 */
export function malformedCodeMessage(t: (key: string, params?: Record<string, unknown>) => string, typed: string): string | undefined {
  const parsed = USER_CODE_FORMAT.parse(typed);
  if (parsed.ok) return undefined;
  if (parsed.problem === 'empty') return t('device.code_empty');
  // Positions and lengths as the engine counts them: characters (code points) of the normalised code.
  if (parsed.problem === 'wrong_length') return t('device.code_wrong_length', { length: parsed.length });
  if (parsed.problem === 'bad_character' && parsed.character !== undefined) {
    return t('device.code_bad_character', { character: parsed.character, position: parsed.position });
  }
  return undefined;
}

/**
 * The verification pages (RFC 8628 §3.3): the person types the user code, signs in with their
 * pairgate account, sees which client asks for which scopes and where the request came from, and
 * approves or denies. Every form carries the CSRF token. Wrong codes are counted per address and
 * per session. Once the right code is typed, the consent screen is reachable only from this browser
 * (a ticket keyed by its CSRF cookie), so the request id alone, should it leak, opens nothing.
 */
export function installVerificationPages(app: FastifyInstance, env: DeviceEnv, budget: CodeBudget): void {
  const api = app.withTypeProvider<TypeBoxTypeProvider>();
  const { ctx } = env;
  const pages = ctx.pages;

  const csrfValid = (request: FastifyRequest): boolean => formFromThisSite(pages, request);

  const ticketKey = (request: FastifyRequest, grantId: string): string | undefined => {
    const browser = pages.csrfCookieValue(request);
    return browser ? `device:ticket:${hashToken(`${browser}:${grantId}`)}` : undefined;
  };

  const render = (request: FastifyRequest, reply: FastifyReply, lang: Lang, template: string, data: Record<string, unknown>, status = 200, user?: User | null) =>
    renderPage(pages, request, reply, template, { t: deviceTranslator(lang), ...data }, { status, lang, ...(user !== undefined ? { user } : {}) });

  /** A message page, whose way back to the code form is bare unless that page would not pick `lang` by itself (pathInLanguage). */
  const message = (request: FastifyRequest, reply: FastifyReply, lang: Lang, key: string, status: number) => {
    const t = deviceTranslator(lang);
    return render(request, reply, lang, 'account/message.njk', { title: t('device.title'), message: t(key), back: pathInLanguage(request, '/device', lang) }, status);
  };

  const codeForm = (request: FastifyRequest, reply: FastifyReply, lang: Lang, data: Record<string, unknown> = {}, status = 200) =>
    render(request, reply, lang, 'device/code.njk', { title: deviceTranslator(lang)('device.title'), ...data }, status);

  /**
   * The consent page of `grantId` in `lang`, as the code form's redirect and the sign-in form's
   * `next` lead to it: bare, since this same browser opens it (its code's ticket is held for it)
   * and its pg_lang cookie or Accept-Language gives the page `lang`; with `?lang=` only when they
   * would not (pathInLanguage).
   */
  const consentPath = (request: FastifyRequest, grantId: string, lang: Lang): string => pathInLanguage(request, `/device/consent?request=${encodeURIComponent(grantId)}`, lang);

  /**
   * A request already answered (the page reloaded or gone back to after the click, the form sent
   * again): the person who answered is told what they answered, not to start again; anyone else
   * that it was answered.
   */
  const alreadyDecided = async (request: FastifyRequest, reply: FastifyReply, lang: Lang, grant: DeviceGrant) => {
    const result = grant.result;
    // Ended by the server (its device was told invalid_scope): the page says why, as before that.
    if (result?.status === 'withdrawn') {
      const current = await withCurrentClient(grant);
      return scopeWithdrawnPage(request, reply, lang, current?.grant ?? grant, result.scopes);
    }
    // Ended by the server since its client was deleted: the page its pending state showed.
    if (result?.status === 'client_gone') return message(request, reply, lang, 'device.clientGone', 410);
    const user = await currentUser(request);
    if (!user || !result || result.username !== user.username || (result.status === 'approved' && result.userId !== user.id)) {
      return message(request, reply, lang, 'device.decided', 409);
    }
    const t = deviceTranslator(lang);
    const approved = result.status === 'approved';
    const text = t(approved ? 'device.alreadyApproved' : 'device.alreadyDenied', { client: grant.request.clientName });
    return render(request, reply, lang, 'device/done.njk', { title: t('device.title'), text, outcome: approved ? 'approved' : 'denied' }, 409, user);
  };

  /** The live device grant `grantId` names, if this browser typed its code (it holds the ticket). */
  const ticketed = async (request: FastifyRequest, grantId: string): Promise<DeviceGrant | undefined> => {
    const key = GRANT_ID.test(grantId) ? ticketKey(request, grantId) : undefined;
    const ticket = key ? await ctx.stores.ephemeral.get(key, ctx.clock.now()) : undefined;
    const grant = ticket ? await ctx.engine.get<DeviceRequest, DeviceResult>(grantId) : undefined;
    return grant && grant.kind === DEVICE_KIND && ctx.engine.stateOf(grant) !== 'expired' ? grant : undefined;
  };

  /**
   * `grant` with its client's name as registered now, and the scopes of the request the client may
   * no longer ask for; undefined when the client is gone. It may have been deleted, renamed or
   * narrowed through the admin API since the device asked, and a person must neither read a former
   * name, nor approve a client that no longer exists, nor approve access the server would then
   * refuse to issue (the token endpoint answers such a grant `invalid_scope`, approved or not).
   */
  const withCurrentClient = async (grant: DeviceGrant): Promise<{ grant: DeviceGrant; withdrawn: string[] } | undefined> => {
    const client = await env.clients.find(grant.request.clientId);
    if (!client || client.registration !== grant.request.clientRegistration) return undefined;
    return { grant: { ...grant, request: { ...grant.request, clientName: client.name } }, withdrawn: scopesWithdrawn(client, grant.request.scope) };
  };

  /**
   * The page of a request holding scopes its client may no longer ask for: which ones, and nothing
   * to approve. 410 as for a deleted client: the request as made can never be granted; the device
   * is told `invalid_scope` at its next poll and may ask again for what it still may.
   */
  const scopeWithdrawnPage = (request: FastifyRequest, reply: FastifyReply, lang: Lang, grant: DeviceGrant, withdrawn: string[]) => {
    const t = deviceTranslator(lang);
    return render(request, reply, lang, 'device/scope-withdrawn.njk', { title: t('device.title'), clientName: grant.request.clientName, scopes: withdrawn, back: pathInLanguage(request, '/device', lang) }, 410);
  };

  /**
   * The pending device grant this browser typed the code of, with its client's current name, or
   * undefined once the page that says why not is sent. (Not that page's reply: a Fastify reply is
   * a thenable, which an async function resolves to undefined once it is sent.)
   */
  const ticketedGrant = async (request: FastifyRequest, reply: FastifyReply, lang: Lang, grantId: string): Promise<DeviceGrant | undefined> => {
    const grant = await ticketed(request, grantId);
    if (!grant) {
      await message(request, reply, lang, 'device.unknown', 404);
      return undefined;
    }
    if (ctx.engine.stateOf(grant) !== 'pending') {
      await alreadyDecided(request, reply, lang, grant);
      return undefined;
    }
    const current = await withCurrentClient(grant);
    if (!current) {
      await message(request, reply, lang, 'device.clientGone', 410);
      return undefined;
    }
    // Checked on every step, the decision included: the scopes may be narrowed while the consent
    // screen is open, and an approval sent from it then would hand the device nothing but invalid_scope.
    if (current.withdrawn.length > 0) {
      await scopeWithdrawnPage(request, reply, lang, current.grant, current.withdrawn);
      return undefined;
    }
    return current.grant;
  };

  // The register and reset pages reached from this door's sign-in form say which client asks, as
  // the sign-in form did; only to the browser that typed the code, since the consent path alone
  // (a grant id, which may be seen in a log or over a shoulder) proves nothing.
  addFlowIntro(app.pairgate, async (request, next, lang) => {
    const grantId = consentRequestOf(next);
    const grant = grantId ? await ticketed(request, grantId) : undefined;
    const current = grant && ctx.engine.stateOf(grant) === 'pending' ? await withCurrentClient(grant) : undefined;
    return current && current.withdrawn.length === 0 ? deviceTranslator(lang)('device.asks', { client: current.grant.request.clientName }) : undefined;
  });

  const signInForm = (request: FastifyRequest, reply: FastifyReply, lang: Lang, grant: DeviceGrant, extra: Record<string, unknown> = {}, status = 200) =>
    render(request, reply, lang, 'account/signin.njk', {
      action: '/device/signin',
      key: grant.id,
      // Someone without an account registers and comes back to this consent screen.
      next: consentPath(request, grant.id, lang),
      intro: deviceTranslator(lang)('device.signinIntro', { client: grant.request.clientName }),
      ...extra,
    }, status, null);

  const consent = (request: FastifyRequest, reply: FastifyReply, lang: Lang, grant: DeviceGrant, user: User) => {
    const t = deviceTranslator(lang);
    const r = grant.request;
    return render(request, reply, lang, 'device/consent.njk', {
      title: t('device.consentTitle', { client: r.clientName }),
      key: grant.id,
      clientName: r.clientName,
      clientId: r.clientId,
      scopes: r.scope ? r.scope.split(' ') : [],
      ip: r.ip,
      userAgent: r.userAgent,
      time: new Date(r.requestedAt).toISOString().replace('T', ' ').replace(/\.\d+Z$/, ' UTC'),
    }, 200, user);
  };

  api.get('/device', {
    schema: { tags, summary: 'The verification page: type the code your device shows (`?user_code=` fills it in).', querystring: Type.Object({ user_code: Type.Optional(Type.String({ maxLength: 100 })), lang: Type.Optional(Type.String({ maxLength: 35 })) }), response: HtmlPage },
  }, async (request, reply) => {
    const lang = pickLang(request);
    // Shown, never looked up: the person confirms by pressing Continue (RFC 8628 §5.4).
    const typed = request.query.user_code ?? '';
    const normalised = USER_CODE_FORMAT.parse(typed);
    // A link's text that cannot be a code fills nothing in: the device's own links always carry a
    // well-formed one, and the box would otherwise show whatever words a hand-made link put there.
    if (!normalised.ok) return codeForm(request, reply, lang, { userCode: '' });
    // A code that came with the link (verification_uri_complete, a QR code, a link someone sent):
    // the person typed nothing, so the page asks them to compare it with their device's before
    // going on (RFC 8628 §3.3.1), the check a remote phishing link (§5.4) does not survive.
    const userCode = USER_CODE_FORMAT.format(normalised.code);
    return codeForm(request, reply, lang, { userCode, checkCode: deviceTranslator(lang)('device.checkCode', { code: userCode }) });
  });

  api.post('/device', {
    schema: { tags, summary: 'Look up a typed user code (form); counted against the wrong-code budgets.', body: Type.Object({ ...FormBase, user_code: Type.String({ maxLength: 100 }) }), response: { 303: seeOther('The right code: to the consent screen.'), 400: FormAgain, 403: FormAgain, 404: FormAgain, 429: FormAgain } },
    config: { rateLimit: ctx.codeGuard.rateLimit(DEVICE_KIND, ctx.config.PAIRGATE_CODE_LOOKUPS_PER_MINUTE) },
  }, async (request, reply) => {
    const lang = pickLang(request);
    const t = deviceTranslator(lang);
    const userCode = request.body.user_code;
    if (!csrfValid(request)) return codeForm(request, reply, lang, { userCode, error: t('error.csrf_failed') }, 403);
    const user = await currentUser(request);
    let grant: DeviceGrant | undefined;
    try {
      grant = await budget.lookup(request, user, () => ctx.engine.findByCode<DeviceRequest, DeviceResult>(DEVICE_KIND, USER_CODE_FORMAT, userCode));
    } catch (error) {
      if (!isPairgateError(error) || (error.status !== 400 && error.status !== 429)) throw error;
      if (error.status === 429) {
        const seconds = Number(error.details?.retryAfterSeconds ?? 3600);
        reply.header('retry-after', String(seconds));
        // In whole minutes, rounded up ("a minute", never "1 minutes" or "30 seconds"): the budget
        // lasts an hour, and a wait said in seconds would invite typing again too soon.
        return codeForm(request, reply, lang, { userCode, error: t('device.limited', { wait: waitWords(seconds, lang, 'minute') }) }, 429);
      }
      // Malformed (wrong length, a letter that cannot be in a code): said at once, not counted.
      return codeForm(request, reply, lang, { userCode, error: malformedCodeMessage(t, userCode) ?? error.message }, 400);
    }
    if (!grant) {
      return codeForm(request, reply, lang, { userCode, error: t('device.wrongCode') }, 404);
    }
    const key = ticketKey(request, grant.id)!;
    await ctx.stores.ephemeral.set(key, '1', Math.max(1, grant.expiresAt - ctx.clock.now()), ctx.clock.now());
    return reply.redirect(consentPath(request, grant.id, lang), 303);
  });

  api.get('/device/consent', {
    schema: { tags, summary: 'Sign in if needed, then the consent screen of the request whose code this browser typed.', querystring: Type.Object({ request: Type.Optional(Type.String({ maxLength: 100 })), lang: Type.Optional(Type.String({ maxLength: 35 })) }), response: { 200: htmlPage('The sign-in form, or the consent screen.'), ...NotDecidable } },
  }, async (request, reply) => {
    const lang = pickLang(request);
    // Without its request (a link cut short), the page that says the request is unknown, not a JSON error.
    const found = await ticketedGrant(request, reply, lang, request.query.request ?? '');
    if (!found) return reply;
    const user = await currentUser(request);
    if (!user) return signInForm(request, reply, lang, found);
    return consent(request, reply, lang, found, user);
  });

  api.post('/device/signin', {
    schema: { tags, summary: 'Sign in on the way to the consent screen (form).', body: Type.Object({ ...FormBase, key: Type.String({ maxLength: 100 }), login: Type.String({ maxLength: 300 }), password: Type.String({ maxLength: 1024 }), next: Type.Optional(Type.String({ maxLength: 2000 })) }), response: { 303: seeOther('Signed in: to the consent screen.'), 401: FormAgain, 403: FormAgain, 429: FormAgain, 503: BusyAgain, ...NotDecidable } },
  }, async (request, reply) => {
    const lang = pickLang(request);
    const t = deviceTranslator(lang);
    const found = await ticketedGrant(request, reply, lang, request.body.key);
    if (!found) return reply;
    // `csrf`: the error is the form's, not the password's (as on the accounts door's forms).
    if (!csrfValid(request)) return signInForm(request, reply, lang, found, { login: request.body.login, error: t('error.csrf_failed'), csrf: true }, 403);
    const refused = await signInFromForm(request, reply, request.body.login, request.body.password);
    if (refused) return signInForm(request, reply, lang, found, { login: request.body.login, error: signInRefusalText(refused, lang) }, refused.status);
    return reply.redirect(consentPath(request, found.id, lang), 303);
  });

  api.post('/device/decide', {
    schema: { tags, summary: 'The signed-in person approves or denies the device (form).', body: Type.Object({ ...FormBase, key: Type.String({ maxLength: 100 }), decision: Type.Union([Type.Literal('approve'), Type.Literal('deny')]) }), response: { 200: htmlPage('Decided: a page saying so.'), 401: htmlPage('Not signed in: the sign-in form.'), 403: htmlPage('The form did not come from this site.'), ...NotDecidable } },
  }, async (request, reply) => {
    const lang = pickLang(request);
    const t = deviceTranslator(lang);
    const found = await ticketedGrant(request, reply, lang, request.body.key);
    if (!found) return reply;
    const user = await currentUser(request);
    if (!user) return signInForm(request, reply, lang, found, {}, 401);
    if (!csrfValid(request)) return message(request, reply, lang, 'error.csrf_failed', 403);
    const approve = request.body.decision === 'approve';
    // With the password's stamp: a password changed or reset before the device redeems this ends
    // it (`token-route.ts`). The session is looked at again once the stamp is read: a new password
    // written between the first look and the read gave the new stamp, and ends the sessions in the
    // same transaction, so this second look finds none.
    const stamp = approve ? await passwordStamp(request, user.id) : {};
    if (approve && (await currentUser(request))?.id !== user.id) return signInForm(request, reply, lang, found, {}, 401);
    try {
      if (approve) await ctx.engine.approve<DeviceResult>(found.id, { status: 'approved', userId: user.id, username: user.username, ...stamp });
      else await ctx.engine.refuse<DeviceResult>(found.id, { status: 'denied', username: user.username });
    } catch (error) {
      // Decided between the page and the click (most often this very form sent twice, the first
      // one winning): the engine's compare-and-set said no. Say what the answer was, as a reload does.
      if (isPairgateError(error) && error.status === 409) {
        const decided = await ctx.engine.get<DeviceRequest, DeviceResult>(found.id);
        if (decided && decided.kind === DEVICE_KIND) return alreadyDecided(request, reply, lang, { ...decided, request: found.request });
        return message(request, reply, lang, 'device.decided', 409);
      }
      if (isPairgateError(error) && (error.status === 404 || error.status === 410)) return message(request, reply, lang, 'device.unknown', 404);
      throw error;
    }
    const text = t(approve ? 'device.approved' : 'device.denied', { client: found.request.clientName });
    return render(request, reply, lang, 'device/done.njk', { title: t('device.title'), text, outcome: approve ? 'approved' : 'denied' }, 200, user);
  });
}
