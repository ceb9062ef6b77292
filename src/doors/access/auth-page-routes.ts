import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import { isPairgateError } from '../../core/errors.js';
import { htmlPage, seeOther } from '../../server/openapi-responses.js';
import { accountsOf, currentUser, sessionToken, signInFromForm, signInRefusalText } from '../accounts/accounts.js';
import { formFromThisSite } from '../accounts/form-guard.js';
import { BusyAgain } from '../accounts/form-responses.js';
import { pickLang, translator, type Lang, type Translate } from '../accounts/i18n.js';
import { usualLanguage } from '../../web/page-language.js';
import { renderPage } from '../accounts/page-helpers.js';
import type { User } from '../accounts/users.js';
import type { AccessEnv } from './access-env.js';
import { accessTranslator, hasAccessMessage, lifetimeText } from './access-i18n.js';
import { findAccessRequest, parseAccessKey, type AccessKey } from './access-key.js';
import type { AccessGrant, AccessResult } from './access-request.js';
import { acceptAccess, acceptedAgain, checkAccess, refuseAccess, returnRedirect, SignInEndedError, type AcceptingSignIn, type Decided } from './consent.js';
import { startDecidedLifetime } from './decided-lifetime.js';
import { descriptionOf, renderDescription } from './markdown.js';
import { allowFormTarget } from './page-security.js';
import { permissionLines } from './permission-lines.js';
import { lookAlikeScriptOf } from './request-text.js';

/** The pages of a key that names no pending request. */
const NotPending = { 404: htmlPage('The key is unknown, or the request expired.'), 409: htmlPage('The request was already decided.') };
/** The sign-in form again, saying what went wrong. */
const SignInAgain = htmlPage('The sign-in form again, saying what went wrong.');
const tags = ['access'];

/**
 * The consent page's warning, beside the app's name, that the name is written in a script whose
 * letters pass for Latin ones (`lookAlikeScriptOf`); null for any other name.
 */
function scriptNote(appId: string, t: Translate): string | null {
  const script = lookAlikeScriptOf(appId);
  return script === undefined ? null : t('consent.script', { script: t(`script.${script}`) });
}

const AuthQuery = Type.Object({
  key: Type.Optional(Type.String({ maxLength: 200 })),
  poll: Type.Optional(Type.String({ maxLength: 2048 })),
  pollUrl: Type.Optional(Type.String({ maxLength: 2048 })),
  lang: Type.Optional(Type.String({ maxLength: 35 })),
  oauthState: Type.Optional(Type.String({ maxLength: 500 })),
  returnURL: Type.Optional(Type.String({ maxLength: 2048 })),
  requestingAppId: Type.Optional(Type.String({ maxLength: 200 })),
  domain: Type.Optional(Type.String({ maxLength: 300 })),
});

/** A pending request found by its whole key. */
interface Found {
  grant: AccessGrant;
  key: AccessKey;
}

/**
 * The auth page (the seed's app-web-auth3): sign in, check the request against the user's existing
 * accesses, show the consent screen, and close or redirect. Only the signed-in user's decision on
 * this page (a POST with the CSRF token, never a visit) changes a request's state. The returnURL
 * always comes from the stored request, never from the page's query, so the page cannot be turned
 * into an open redirect. The page is reached with the app's whole key (id and secret), and every
 * form carries it on: accepting seals the token under the key's secret, which the server does not
 * keep.
 */
export function installAuthPageRoutes(app: FastifyInstance, env: AccessEnv): void {
  const api = app.withTypeProvider<TypeBoxTypeProvider>();
  const { ctx } = env;
  const pages = ctx.pages;

  /** The key named by the query: `key`, or the last segment of a `poll`/`pollUrl` of this server. */
  const keyFrom = (query: { key?: string | undefined; poll?: string | undefined; pollUrl?: string | undefined }): AccessKey | undefined => {
    const fromKey = query.key ? parseAccessKey(query.key) : undefined;
    if (fromKey) return fromKey;
    const prefix = `${ctx.publicUrl()}/access/`;
    for (const poll of [query.poll, query.pollUrl]) {
      const fromPoll = poll?.startsWith(prefix) ? parseAccessKey(poll.slice(prefix.length)) : undefined;
      if (fromPoll) return fromPoll;
    }
    return undefined;
  };

  /** The language the app asked its pages in (its languageCode), when it named one. */
  const appLang = (grant?: AccessGrant): string | undefined => (grant && grant.request.languageAsked !== false ? grant.request.lang : undefined);

  /**
   * The page's language: `?lang=`, then the person's remembered choice, then the app's languageCode
   * when it named one, then the browser's. Every page shown for the grant hands `appLang(grant)` to
   * renderPage too (`preferredLang`): the app's own link names its language (`?lang=fr`), which must
   * not be remembered as the person's choice.
   */
  const langOf = (request: FastifyRequest, grant?: AccessGrant): Lang => {
    // pickLang reads a language code as people write it ("FR", "fr-CH"), and skips one it lacks.
    return pickLang(request, appLang(grant));
  };

  /** A message page in `lang`; `preferredLang` is the app's language when the page is shown for a grant (`langOf`). */
  const message = (request: FastifyRequest, reply: FastifyReply, lang: Lang, key: string, status: number, preferredLang?: string, extra: Record<string, unknown> = {}) => {
    const t = translator(lang);
    return renderPage(pages, request, reply, 'account/message.njk', { title: t('error.title'), message: t(key), ...extra }, { status, lang, preferredLang });
  };

  /**
   * The way out of an auth page that names no request this server can show (its key malformed,
   * missing, unknown or expired): the home page, bare, so it speaks the person's own language, not
   * the one the app's link named. Never a return URL: the page's query is anyone's to write (an open
   * redirect), and a request this page cannot find has none stored and checked. None when nothing
   * is served at `/`. (An address the route's schema refuses gets the same link from the error
   * handler's page.)
   */
  const homeLink = (request: FastifyRequest): string | undefined => (request.server.hasRoute({ method: 'GET', url: '/' }) ? '/' : undefined);

  /**
   * The auth page's address, back from sign-in (the redirect, the form's `next`), in `lang`. It
   * names `lang` only when the bare address would show another one (the person chose it with the
   * switch, and it is not remembered because it is their browser's): `?lang=` on a GET page is
   * remembered, and the app's choice of language must not become the person's.
   */
  const authPath = (request: FastifyRequest, found: Found, lang: Lang): string => {
    const path = `/access/auth?key=${encodeURIComponent(found.key.value)}`;
    return lang === usualLanguage(request, appLang(found.grant)) ? path : `${path}&lang=${lang}`;
  };

  const signInForm = (request: FastifyRequest, reply: FastifyReply, found: Found, lang: Lang, extra: Record<string, unknown> = {}, status = 200) => {
    allowFormTarget(reply, found.grant.request.returnURL);
    const t = accessTranslator(lang);
    return renderPage(pages, request, reply, 'account/signin.njk', {
      action: '/access/auth/signin',
      key: found.key.value,
      next: authPath(request, found, lang),
      intro: t('access.signinIntro', { app: found.grant.request.requestingAppId }),
      ...extra,
    }, { status, lang, user: null, preferredLang: appLang(found.grant) });
  };

  /**
   * Ends the flow: redirect to the app, or the page that says the window can be closed. A redirect
   * in Pryv mode carries the decision itself (with the token, when accepted): its first delivery,
   * which starts the decision's short life as a poll's does. In OAuth mode it carries the key as
   * `code`, and the app's poll for the token starts it.
   */
  const finish = async (request: FastifyRequest, reply: FastifyReply, decided: Decided, key: AccessKey, lang: Lang, user: User) => {
    const target = returnRedirect(decided, key);
    if (target) {
      if (decided.grant.request.oauthState === null) await startDecidedLifetime(ctx, decided.grant, env.cfg.PAIRGATE_ACCESS_DECIDED_TTL_SECONDS * 1000);
      return reply.header('cache-control', 'no-store').redirect(target, 303);
    }
    const t = accessTranslator(lang);
    const { grant, outcome } = decided;
    if (outcome.status === 'ERROR') return errorPage(request, reply, outcome, lang, { user, preferredLang: appLang(grant) });
    const text = outcome.status === 'ACCEPTED' ? t('done.accepted', { app: grant.request.requestingAppId }) : t('done.refused', { app: grant.request.requestingAppId });
    return renderPage(pages, request, reply, 'access/done.njk', { title: t('done.title'), text, outcome: outcome.status }, { lang, user, preferredLang: appLang(grant) });
  };

  /**
   * The page of a request that ended in ERROR, when it ends and when it is reloaded: in the page's
   * language with what to do (the app reads the English message of the poll, which is used only
   * for an id this door has no words for), with a link to the person's accesses when revoking one
   * is the way out.
   */
  const errorPage = (request: FastifyRequest, reply: FastifyReply, outcome: { id: string; message: string }, lang: Lang, options: { user?: User; status?: number; preferredLang: string | undefined }) => {
    const t = accessTranslator(lang);
    const key = `access.error.${outcome.id}`;
    const text = hasAccessMessage(key) ? t(key) : t('done.error', { message: outcome.message });
    const manageLink = outcome.id === 'too_many_accesses' ? t('access.manage') : null;
    return renderPage(pages, request, reply, 'access/done.njk', { title: t('done.title'), text, outcome: 'ERROR', manageLink }, { lang, ...options });
  };

  /** The host (with a port that is not the scheme's) a return URL leads to, or null without one. */
  const returnHostOf = (returnURL: string | null | undefined): string | null => {
    if (!returnURL) return null;
    try {
      return new URL(returnURL).host || null;
    } catch {
      return null;
    }
  };

  /**
   * Signed in: the consent screen. It is shown even when an access of the same app, device and
   * permissions exists (Pryv accepts those at once, without a screen): anyone may start a request
   * naming a real app's public id, permissions and device, and send its auth URL to a signed-in
   * user; accepting on a mere visit (a top-level GET carries the SameSite=Lax session cookie) would
   * hand a token to whoever polls the request, without the user doing anything. So every token
   * needs the user's click, a POST with the CSRF token; for a matching access the screen is the
   * compact "asks again" variant (no description), one click away from the app.
   */
  const proceed = async (request: FastifyRequest, reply: FastifyReply, { grant, key }: Found, lang: Lang, user: User) => {
    const check = await checkAccess(env.consent, user, grant.request);
    const t = accessTranslator(lang);
    const again = check.matchingAccess !== undefined;
    const { requestingAppId: app, deviceName: device } = grant.request;
    const description = again ? undefined : descriptionOf(grant.request.clientData);
    allowFormTarget(reply, grant.request.returnURL);
    return renderPage(pages, request, reply, 'access/consent.njk', {
      title: again ? t(device ? 'consent.againOnDevice' : 'consent.again', { app, device }) : t('consent.title'),
      key: key.value,
      appId: app,
      // Said beside the name, not refused: `раураӏ` (all Cyrillic) reads as `paypal` (request-text.ts).
      appScript: scriptNote(app, t),
      deviceName: device,
      // Where the answer sends the person (and, in Pryv mode, the token): the app names it itself,
      // so the person sees it before deciding.
      returnHost: returnHostOf(grant.request.returnURL),
      descriptionHtml: description ? renderDescription(description) : null,
      permissions: permissionLines(check.checkedPermissions, t),
      // The app may ask for an access that ends (expireAfter): part of what it asks for.
      lifetime: grant.request.expireAfter ? t('access.lifetime', { duration: lifetimeText(grant.request.expireAfter, lang, t) }) : null,
      updating: check.mismatchingAccess !== undefined,
    }, { lang, user, preferredLang: appLang(grant) });
  };

  /**
   * A request already answered (the page gone back to or reloaded after the click, the form sent
   * again): it says what the answer was, rather than "something went wrong, start again", which
   * sent people who had just accepted back to the app for nothing. Only the key's holder gets here,
   * and the key's holder may poll the answer anyway.
   */
  const alreadyDecided = async (request: FastifyRequest, reply: FastifyReply, grant: AccessGrant) => {
    const lang = langOf(request, grant);
    const preferredLang = appLang(grant);
    const t = translator(lang);
    const status = grant.result?.status;
    if (grant.result?.status === 'ERROR') return errorPage(request, reply, grant.result, lang, { status: 409, preferredLang });
    if (status !== 'ACCEPTED' && status !== 'REFUSED') return message(request, reply, lang, 'error.decided', 409, preferredLang);
    const text = t(status === 'ACCEPTED' ? 'done.alreadyAccepted' : 'done.alreadyRefused', { app: grant.request.requestingAppId });
    return renderPage(pages, request, reply, 'account/message.njk', { title: t('done.title'), message: text }, { status: 409, lang, preferredLang });
  };

  /**
   * The Accept form of a pinned app's request sent again by the browser session that accepted it:
   * the redirect to the app again, with the same delivery code (`acceptedAgain`), and true; false
   * when this is not that (another session, a request not pinned, a form from elsewhere).
   */
  const sendAgain = async (request: FastifyRequest, reply: FastifyReply, grant: AccessGrant, key: AccessKey): Promise<boolean> => {
    if (!csrfValid(request)) return false;
    const user = await currentUser(request);
    const decided = user ? await acceptedAgain(env.consent, grant, key, sessionToken(request)) : undefined;
    if (!user || !decided) return false;
    await finish(request, reply, decided, key, langOf(request, grant), user);
    return true;
  };

  /**
   * The live, still pending grant the key names (its secret checked), or undefined once the page
   * that says why not is sent. (Not that page's reply: a Fastify reply is a thenable, which an async
   * function resolves to undefined once it is sent.) `accepting`: the Accept form was sent, which
   * for a request its browser already accepted is sent on again (`sendAgain`).
   */
  const pendingGrant = async (request: FastifyRequest, reply: FastifyReply, key: AccessKey | undefined, accepting = false): Promise<Found | undefined> => {
    const grant = await findAccessRequest(ctx.engine, key);
    // A wrong secret gets the page an unknown key gets.
    if (!grant || !key || ctx.engine.stateOf(grant) === 'expired') {
      const home = homeLink(request);
      const lang = pickLang(request);
      await message(request, reply, lang, 'error.unknownKey', 404, undefined, home ? { back: home, backLabel: accessTranslator(lang)('access.home') } : {});
      return undefined;
    }
    if (ctx.engine.stateOf(grant) !== 'pending') {
      if (!(accepting && (await sendAgain(request, reply, grant, key)))) await alreadyDecided(request, reply, grant);
      return undefined;
    }
    return { grant, key };
  };

  api.get('/access/auth', { schema: { tags, summary: 'The auth page an app opens: sign in, then consent.', querystring: AuthQuery, response: { 200: htmlPage('The sign-in form, or the consent screen.'), ...NotPending } } }, async (request, reply) => {
    const found = await pendingGrant(request, reply, keyFrom(request.query));
    if (!found) return reply;
    const lang = langOf(request, found.grant);
    const user = await currentUser(request);
    if (!user) return signInForm(request, reply, found, lang);
    return proceed(request, reply, found, lang, user);
  });

  const csrfValid = (request: FastifyRequest): boolean => formFromThisSite(pages, request);

  /**
   * The sign-in an accept by `user`, just found signed in on `request`, is made under
   * (`AcceptingSignIn`): the account's password stamp (`passwordStampOf`) read now, as the accept
   * starts, and, once its token is written, the same stamp read again (on PostgreSQL `settled`:
   * `FOR SHARE` on the account's row, which waits for a password change under way) and the session
   * still `user`'s. Either changed: a new password came meanwhile, whose revocation of the
   * account's accesses may have run before the token was written.
   */
  const acceptingSignIn = async (request: FastifyRequest, user: User): Promise<AcceptingSignIn> => {
    const { users } = accountsOf(request).parts;
    const stamp = await users.passwordStampOf(user.id);
    return {
      session: sessionToken(request),
      stillSignedIn: async () => stamp !== undefined && (await users.passwordStampOf(user.id, true)) === stamp && (await currentUser(request))?.id === user.id,
    };
  };

  api.post('/access/auth/signin', {
    schema: { tags, summary: 'Sign in on the auth page, then continue to consent.', body: Type.Object({ _csrf: Type.Optional(Type.String({ maxLength: 100 })), lang: Type.Optional(Type.String({ maxLength: 5 })), key: Type.String({ maxLength: 200 }), login: Type.String({ maxLength: 300 }), password: Type.String({ maxLength: 1024 }), next: Type.Optional(Type.String({ maxLength: 2000 })) }), response: { 303: seeOther('Signed in: back to the auth page.'), 401: SignInAgain, 403: SignInAgain, 429: SignInAgain, 503: BusyAgain, ...NotPending } },
  }, async (request, reply) => {
    const found = await pendingGrant(request, reply, parseAccessKey(request.body.key));
    if (!found) return reply;
    const lang = langOf(request, found.grant);
    const t = translator(lang);
    // `csrf`: the error is the form's, not the password's (as on the accounts door's forms).
    if (!csrfValid(request)) return signInForm(request, reply, found, lang, { login: request.body.login, error: t('error.csrf_failed'), csrf: true }, 403);
    const refused = await signInFromForm(request, reply, request.body.login, request.body.password);
    if (refused) return signInForm(request, reply, found, lang, { login: request.body.login, error: signInRefusalText(refused, lang) }, refused.status);
    allowFormTarget(reply, found.grant.request.returnURL);
    return reply.redirect(authPath(request, found, lang), 303);
  });

  api.post('/access/auth/decide', {
    schema: { tags, summary: 'The signed-in user accepts or refuses an auth request.', body: Type.Object({ _csrf: Type.Optional(Type.String({ maxLength: 100 })), lang: Type.Optional(Type.String({ maxLength: 5 })), key: Type.String({ maxLength: 200 }), decision: Type.Union([Type.Literal('accept'), Type.Literal('refuse')]) }), response: { 200: htmlPage('Decided: the page that says the window can be closed.'), 303: seeOther('Decided: to the app\'s returnURL.'), 401: htmlPage('Not signed in: the sign-in form.'), 403: htmlPage('The form did not come from this site.'), ...NotPending } },
  }, async (request, reply) => {
    const found = await pendingGrant(request, reply, parseAccessKey(request.body.key), request.body.decision === 'accept');
    if (!found) return reply;
    const { grant, key } = found;
    const lang = langOf(request, grant);
    const user = await currentUser(request);
    if (!user) return signInForm(request, reply, found, lang, {}, 401);
    // Read at once after the session check: what the accept's token is checked against once written.
    const signIn = request.body.decision === 'accept' ? await acceptingSignIn(request, user) : undefined;
    if (!csrfValid(request)) return message(request, reply, lang, 'error.csrf_failed', 403, appLang(grant));
    try {
      const decided = signIn
        ? await acceptAccess(env.consent, grant, key, user, await checkAccess(env.consent, user, grant.request), signIn)
        : await refuseAccess(env.consent, grant);
      return finish(request, reply, decided, key, lang, user);
    } catch (error) {
      // A new password came while this accept ran (a reset, or a change, which ends this session):
      // nothing of it was kept and the request is still pending, as when the session had ended
      // before the click, so the person is told so on the sign-in form. The app learns nothing
      // new: someone signed in with the new password may still decide, else the request expires.
      if (error instanceof SignInEndedError) return signInForm(request, reply, found, lang, { notice: translator(lang)('signin.ended') }, 401);
      // Decided between the page and the click (most often this very form sent twice, the first
      // one winning): the engine's compare-and-set said no. Say what the answer was, as a reload does.
      if (isPairgateError(error) && error.status === 409) {
        const decided = await findAccessRequest(ctx.engine, key);
        if (decided && ctx.engine.stateOf(decided) !== 'pending') {
          if (request.body.decision === 'accept' && (await sendAgain(request, reply, decided, key))) return reply;
          return alreadyDecided(request, reply, decided);
        }
        return message(request, reply, lang, 'error.decided', 409, appLang(grant));
      }
      if (isPairgateError(error) && (error.status === 404 || error.status === 410)) return message(request, reply, lang, 'error.unknownKey', 404, appLang(grant));
      // Anything else (a store failure while granting): the app learns ERROR instead of waiting for
      // a decision that will never come; the details go to the log only.
      request.log.error({ err: error }, 'accepting an auth request failed');
      const outcome = { status: 'ERROR', id: 'internal_error', message: 'The access could not be granted.', detail: 'Try again later.' } satisfies AccessResult;
      const failed = await ctx.engine.refuse(grant.id, outcome).catch(() => undefined);
      if (!failed) throw error;
      return finish(request, reply, { grant: failed as AccessGrant, outcome }, key, lang, user);
    }
  });
}
