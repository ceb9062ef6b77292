import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import { InvalidRequestError, isPairgateError, UnauthorizedError, type PairgateError } from '../../core/errors.js';
import { htmlPage, seeOther } from '../../server/openapi-responses.js';
import type { DoorContext } from '../door.js';
import { busyMessageKey, currentUser, safeNext, signInFromForm, signInRefusalText, signInUrl, type Accounts, type PasswordWritten } from './accounts.js';
import { AccountDeletionRefused } from './deletion-guards.js';
import { flowIntro } from './flow-intro.js';
import { BusyAgain } from './form-responses.js';
import { formFromThisSite } from './form-guard.js';
import { hashRequesterOf, isPasswordHashClientGone, isPasswordHashingBusy } from './password-hashing.js';
import { disconnectedText } from './password-change-hooks.js';
import { askedLang, pickLang, translator, type Lang, type MessageKey } from './i18n.js';
import { renderPage } from './page-helpers.js';
import { ResetReturn } from './reset-return.js';
import { lifetimeWords, waitWords } from '../../web/duration-words.js';
import { pathInLanguage } from '../../web/page-language.js';

/** Form fields are strings; the CSRF token and the language ride along in every form. */
const FormBase = { _csrf: Type.Optional(Type.String({ maxLength: 100 })), lang: Type.Optional(Type.String({ maxLength: 5 })) };
const PageQuery = Type.Object({ lang: Type.Optional(Type.String({ maxLength: 35 })), next: Type.Optional(Type.String({ maxLength: 2000 })) });
const HtmlPage = { 200: htmlPage('An HTML page.') };
/** A form shown again with what went wrong, under the error's status. */
const FormAgain = htmlPage('The form again, saying what went wrong.');
/** A page for signed-in people, asked for by someone who is not. */
const SignInFirst = seeOther('Not signed in: to the sign-in page, which comes back here.');
const tags = ['accounts'];

/**
 * A known pairgate error's message in the page's language (the catalog has one per code, and one
 * per code and `details.reason` where a code has several causes, `error.<code>.<reason>`); a rate
 * limit says when to try again. None for a hash given up because its client left: nobody reads a
 * form then, so the caller throws it on and no page is rendered (the error handler sends a gone
 * client no body).
 */
function errorMessage(error: unknown, lang: Lang): string | undefined {
  if (!isPairgateError(error) || isPasswordHashClientGone(error)) return undefined;
  const t = translator(lang);
  // The one 5xx a form says in words: the server (or the person's network) too busy hashing passwords, gone in a moment.
  if (isPasswordHashingBusy(error)) return t(busyMessageKey(error));
  if (error.status >= 500) return undefined;
  const retryAfter = Number(error.details?.retryAfterSeconds);
  if (error.status === 429 && retryAfter > 0) return t('error.rate_limitedWait', { wait: waitWords(retryAfter, lang) });
  const reason = error.details?.reason;
  for (const key of typeof reason === 'string' ? [`error.${error.code}.${reason}`, `error.${error.code}`] : [`error.${error.code}`]) {
    const translated = t(key);
    if (translated !== key) return translated;
  }
  return error.message;
}

/**
 * What a page reached on the way back to `next` says first: who asks, when the door whose flow
 * `next` is says so (`flowIntro`), then `then` ("Sign in to continue."). Nothing without `next`.
 */
async function introFor(request: FastifyRequest, next: string, then: MessageKey): Promise<string | undefined> {
  if (!next) return undefined;
  const lang = pickLang(request);
  const who = await flowIntro(request, next, lang);
  const rest = translator(lang)(then);
  return who ? `${who} ${rest}` : rest;
}

/**
 * `path` in the language the request asked for (`?lang=`, or the form's `lang`): bare when the next
 * page picks it by itself (the pg_lang cookie the switch set, else Accept-Language:
 * `pathInLanguage`), as it nearly always does; with `?lang=` only when it would not, since then
 * the next page cannot know it (a browser that did not keep the cookie). A person who switched to
 * French on a form stays in French on the page it leads to.
 */
function inAskedLang(request: FastifyRequest, path: string): string {
  const lang = askedLang(request);
  return lang ? pathInLanguage(request, path, lang) : path;
}

/** The registration fields `error` is about, for the form to mark: a taken account may be either name. */
function registrationFields(error: PairgateError): string[] {
  const field = error.details?.field;
  if (typeof field === 'string') return [field, ...alsoOf(error).map((problem) => problem.field)];
  return error.code === 'account_exists' ? ['username', 'email'] : [];
}

/** The other fields' problems a registration error carries (`validateRegistration`'s `also`). */
function alsoOf(error: PairgateError): Array<{ field: string; error: string; message: string }> {
  const also = error.details?.also;
  return Array.isArray(also) ? also as Array<{ field: string; error: string; message: string }> : [];
}

/** Sets Retry-After on `reply` for a refusal that says when to try again (a 429, or a busy server's 503). */
function retryAfterOf(reply: FastifyReply, error: PairgateError): void {
  if (error.status === 429 || error.status === 503) reply.header('retry-after', String(error.details?.retryAfterSeconds ?? 60));
}

/**
 * The fields of the password change that say whether the account's devices and apps go too:
 * `disconnect`, true unless said false; the page's form shows it as a box, checked at first, and
 * a browser sends nothing for a box unchecked, so the form also sends `disconnectAsked`, with
 * which a `disconnect` left out is false.
 */
const DisconnectFields = {
  disconnect: Type.Optional(Type.Boolean({ description: 'Also disconnect the devices (the device door\'s tokens) and apps (the access door\'s accesses and tokens) connected to the account. True when left out, unless `disconnectAsked` is sent.' })),
  disconnectAsked: Type.Optional(Type.Boolean({ description: 'Sent by the page\'s form, which shows `disconnect` as a box: with it, a `disconnect` left out (the box unchecked) is false.' })),
};

/** Whether a password change disconnects the account's devices and apps (`DisconnectFields`). */
function disconnectChosen(body: { disconnect?: boolean | undefined; disconnectAsked?: boolean | undefined }): boolean {
  return body.disconnect ?? body.disconnectAsked !== true;
}

/**
 * The account pages: sign in, sign out, register, change the password, delete the account, ask for
 * a reset link and set a new password.
 * Every form carries the CSRF token; bad input re-renders the form with the reason and a 4xx.
 */
export function installAccountPages(app: FastifyInstance, ctx: DoorContext, accounts: Accounts, registration: boolean): void {
  const api = app.withTypeProvider<TypeBoxTypeProvider>();
  const pages = ctx.pages;
  const csrfOk = (request: FastifyRequest): boolean => formFromThisSite(pages, request);
  const csrfFailed = (request: FastifyRequest, reply: FastifyReply, template: string, data: Record<string, unknown> = {}) =>
    // `csrf`: the error is the form's, not a field's (a one-field form then marks no field invalid).
    renderPage(pages, request, reply, template, { ...data, error: translator(pickLang(request))('error.csrf_failed'), csrf: true }, { status: 403 });
  // The device this browser's cookie proves for the signed-in account, if any: its checks of the
  // current password count on the device's budget, as its sign-ins do (`PASSWORD_CHECK_PATHS`).
  // The cookie is good only while the account's password is the one it was issued under: the
  // hash is read again here, as the check itself will.
  const trustedDevice = async (request: FastifyRequest, accountId: string): Promise<string | undefined> => {
    const passwordHash = await accounts.parts.users.passwordHashOf(accountId);
    return passwordHash === undefined ? undefined : accounts.parts.devices.deviceOf(request, { id: accountId, passwordHash }, ctx.clock.now());
  };
  // Where a reset was going: kept in the browser that asked, never in the mailed link (`ResetReturn`).
  const resetReturn = new ResetReturn(accounts.parts.resetTtlMs, ctx.publicUrl().startsWith('https:'));

  api.get('/account', { schema: { tags, summary: 'Your account: the app accesses page, or sign-in.', hide: true }, config: { page: true } }, async (request, reply) =>
    reply.redirect(inAskedLang(request, (await currentUser(request)) ? '/account/accesses' : '/account/signin'), 303));

  api.get('/account/signin', { schema: { tags, summary: 'The sign-in page.', querystring: PageQuery, response: HtmlPage } }, async (request, reply) => {
    const next = safeNext(request.query.next, '');
    // A session ended elsewhere is said once, and its dead cookie dropped.
    const ended = await accounts.parts.sessions.endedHere(request, ctx.clock.now());
    if (ended) await accounts.parts.sessions.end(request, reply);
    const notice = ended ? translator(pickLang(request))('signin.ended') : undefined;
    return renderPage(pages, request, reply, 'account/signin.njk', { next, notice, intro: await introFor(request, next, 'signin.intro') });
  });

  api.post('/account/signin', {
    schema: { tags, summary: 'Sign in with username or e-mail and password; sets the session cookie.', body: Type.Object({ ...FormBase, login: Type.String({ maxLength: 300 }), password: Type.String({ maxLength: 1024 }), next: Type.Optional(Type.String({ maxLength: 2000 })) }), response: { 303: seeOther('Signed in: to `next`, or the app accesses page.'), 401: FormAgain, 403: FormAgain, 429: FormAgain, 503: BusyAgain } },
  }, async (request, reply) => {
    const next = safeNext(request.body.next, '');
    const intro = await introFor(request, next, 'signin.intro');
    if (!csrfOk(request)) return csrfFailed(request, reply, 'account/signin.njk', { next, intro, login: request.body.login });
    const refused = await signInFromForm(request, reply, request.body.login, request.body.password);
    if (!refused) return reply.redirect(next || inAskedLang(request, '/account/accesses'), 303);
    return renderPage(pages, request, reply, 'account/signin.njk', { next, intro, login: request.body.login, error: signInRefusalText(refused, pickLang(request)), errorCode: refused.code }, { status: refused.status, user: null });
  });

  // Sign-out is a POST with the CSRF token; this page only offers its button. An address people type
  // or bookmark answers with it rather than a 404, and a link from another site signs nobody out.
  api.get('/account/signout', { schema: { tags, summary: 'The sign-out page: a button that signs out (signed in).', querystring: PageQuery, response: { ...HtmlPage, 303: seeOther('Not signed in: to the sign-in page.') } } }, async (request, reply) => {
    const user = await currentUser(request);
    if (!user) return reply.redirect(inAskedLang(request, '/account/signin'), 303);
    return renderPage(pages, request, reply, 'account/signout.njk', {}, { user });
  });

  api.post('/account/signout', { schema: { tags, summary: 'Sign out: ends the session.', body: Type.Object(FormBase), response: { 303: seeOther('Signed out: to the sign-in page.'), 403: htmlPage('The form did not come from this site.') } } }, async (request, reply) => {
    if (!csrfOk(request)) {
      // The message page says `message` (not a form's `error`), and leads to a page whose sign-out button works.
      const t = translator(pickLang(request));
      return renderPage(pages, request, reply, 'account/message.njk', { title: t('error.title'), message: t('error.csrf_failed'), back: inAskedLang(request, '/account/accesses') }, { status: 403 });
    }
    await accounts.parts.sessions.end(request, reply);
    return reply.redirect(inAskedLang(request, '/account/signin'), 303);
  });

  api.get('/account/register', { schema: { tags, summary: 'The registration page.', querystring: PageQuery, response: HtmlPage } }, async (request, reply) => {
    const next = safeNext(request.query.next, '');
    return renderPage(pages, request, reply, 'account/register.njk', { closed: !registration, next, intro: await introFor(request, next, 'register.continue') });
  });

  api.post('/account/register', {
    schema: { tags, summary: 'Create an account, then sign in.', body: Type.Object({ ...FormBase, email: Type.String({ maxLength: 300 }), username: Type.String({ maxLength: 100 }), password: Type.String({ maxLength: 1024 }), next: Type.Optional(Type.String({ maxLength: 2000 })) }), response: { 303: seeOther('Registered and signed in: to `next`, or the app accesses page.'), 400: FormAgain, 403: htmlPage('Registration is closed, or the form did not come from this site.'), 409: FormAgain, 503: BusyAgain } },
    config: { rateLimit: { max: 20, timeWindow: 3_600_000 } },
  }, async (request, reply) => {
    const { email, username } = request.body;
    const next = safeNext(request.body.next, '');
    const intro = await introFor(request, next, 'register.continue');
    if (!registration) return renderPage(pages, request, reply, 'account/register.njk', { closed: true, next, intro }, { status: 403 });
    if (!csrfOk(request)) return csrfFailed(request, reply, 'account/register.njk', { email, username, next, intro });
    try {
      const user = await accounts.register(request.body, hashRequesterOf(request));
      await accounts.parts.sessions.start(request, reply, user.id, ctx.clock.now());
      // Registering signs in: the browser is the account's first trusted device.
      const passwordHash = await accounts.parts.users.passwordHashOf(user.id);
      if (passwordHash !== undefined) accounts.parts.devices.issue(reply, { id: user.id, passwordHash }, ctx.clock.now());
      return reply.redirect(next || inAskedLang(request, '/account/accesses'), 303);
    } catch (error) {
      const message = errorMessage(error, pickLang(request));
      if (!message || !isPairgateError(error)) throw error;
      // Every field at fault is said at once, each in the page's language.
      const others = alsoOf(error).map((problem) => errorMessage(new InvalidRequestError(problem.message, undefined, problem.error), pickLang(request)));
      retryAfterOf(reply, error);
      return renderPage(pages, request, reply, 'account/register.njk', { email, username, next, intro, error: [message, ...others].join(' '), invalidFields: registrationFields(error) }, { status: error.status, user: null });
    }
  });

  api.get('/account/password', { schema: { tags, summary: 'The form to change your password (signed in).', querystring: PageQuery, response: { ...HtmlPage, 303: SignInFirst } } }, async (request, reply) => {
    const user = await currentUser(request);
    if (!user) return reply.redirect(signInUrl('/account/password', askedLang(request)), 303);
    return renderPage(pages, request, reply, 'account/password.njk', {}, { user });
  });

  api.post('/account/password', {
    schema: { tags, summary: 'Change your password: the current one, then the new one; signs out every other session, and disconnects the account\'s devices and apps unless `disconnect` is false.', body: Type.Object({ ...FormBase, current: Type.String({ maxLength: 1024 }), password: Type.String({ maxLength: 1024 }), ...DisconnectFields }), response: { 200: htmlPage('Changed: the form, saying so, and how many devices and apps were disconnected.'), 303: SignInFirst, 400: FormAgain, 401: FormAgain, 403: FormAgain, 429: FormAgain, 503: BusyAgain } },
    config: { rateLimit: { max: 20, timeWindow: 3_600_000 } },
  }, async (request, reply) => {
    const user = await currentUser(request);
    if (!user) return reply.redirect(signInUrl('/account/password', askedLang(request)), 303);
    if (!csrfOk(request)) return csrfFailed(request, reply, 'account/password.njk');
    let kept: boolean;
    let written: PasswordWritten;
    try {
      written = await accounts.changePassword(user, request.body.current, request.body.password, hashRequesterOf(request), await trustedDevice(request, user.id), disconnectChosen(request.body));
      const { passwordHash } = written;
      // Every session ended with the old password; this browser gets a fresh one, unless the
      // password changed again meanwhile (another session's change ended this one too).
      kept = await accounts.parts.sessions.start(request, reply, user.id, ctx.clock.now(), passwordHash);
      // Or unless the account was deleted meanwhile (another tab, another device): no "changed"
      // for an account that is gone, answered as one gone before the change (`changePassword`).
      if (!kept && (await accounts.parts.users.findById(user.id)) === undefined) throw new UnauthorizedError('The current password is wrong.', 'current_password_wrong');
    } catch (error) {
      const message = errorMessage(error, pickLang(request));
      if (!message || !isPairgateError(error)) throw error;
      retryAfterOf(reply, error);
      // An account deleted meanwhile took its sessions with it: this browser's cookie goes too, and
      // the page shows nobody signed in (as a sign-in racing a deletion leaves no session).
      const gone = error.status === 401 && (await accounts.parts.users.findById(user.id)) === undefined;
      if (gone) await accounts.parts.sessions.end(request, reply);
      // The field at fault gets the focus and the error: a too-short new password is the new field's, a wrong (or too often wrong) current one the current field's.
      const invalidField = error.code === 'invalid_password' ? 'password' : 'current';
      return renderPage(pages, request, reply, 'account/password.njk', { error: message, invalidField }, { status: error.status, user: gone ? null : user });
    }
    // The password was proved as a sign-in proves it: the browser gets a fresh device cookie as a
    // sign-in gives one (`signInFromForm`), so one that signed in without it (before device cookies,
    // or with it cleared) is trusted from now rather than from its next sign-in.
    // Under the new password: the cookies of the old one are void (`DeviceCookies`).
    if (kept) accounts.parts.devices.issue(reply, { id: user.id, passwordHash: written.passwordHash }, ctx.clock.now());
    const lang = pickLang(request);
    const disconnected = disconnectedText(written.disconnected, lang) ?? translator(lang)('password.kept');
    return renderPage(pages, request, reply, 'account/password.njk', { done: true, disconnected }, { user: kept ? user : null, lang });
  });

  api.get('/account/delete', { schema: { tags, summary: 'The form to delete your account (signed in).', querystring: PageQuery, response: { ...HtmlPage, 303: SignInFirst } } }, async (request, reply) => {
    const user = await currentUser(request);
    if (!user) return reply.redirect(signInUrl('/account/delete', askedLang(request)), 303);
    return renderPage(pages, request, reply, 'account/delete.njk', {}, { user });
  });

  api.post('/account/delete', {
    schema: { tags, summary: 'Delete your account, its app accesses and their tokens; asks for the password.', body: Type.Object({ ...FormBase, password: Type.String({ maxLength: 1024 }) }), response: { 200: htmlPage('Deleted: a page saying so.'), 303: SignInFirst, 401: FormAgain, 403: FormAgain, 409: htmlPage('Refused, nothing deleted (e.g. `last_admin_of_organization`: the last admin of an organization that has other members): the form again, saying what to do first and where.'), 429: FormAgain, 503: BusyAgain } },
    config: { rateLimit: { max: 20, timeWindow: 3_600_000 } },
  }, async (request, reply) => {
    const user = await currentUser(request);
    if (!user) return reply.redirect(signInUrl('/account/delete', askedLang(request)), 303);
    if (!csrfOk(request)) return csrfFailed(request, reply, 'account/delete.njk');
    try {
      await accounts.deleteAccount(user, request.body.password, hashRequesterOf(request), await trustedDevice(request, user.id));
    } catch (error) {
      const lang = pickLang(request);
      if (error instanceof AccountDeletionRefused) {
        // Worded by the door that refused, in the page's language, its machine code on the message;
        // the password was right, so no field is marked.
        const link = error.link ? { href: error.link.href, text: error.link.text(lang) } : undefined;
        return renderPage(pages, request, reply, 'account/delete.njk', { error: error.text(lang), errorCode: error.code, formWide: true, link }, { status: error.status, user, lang });
      }
      const message = errorMessage(error, lang);
      if (!message || !isPairgateError(error)) throw error;
      retryAfterOf(reply, error);
      return renderPage(pages, request, reply, 'account/delete.njk', { error: message, errorCode: error.code }, { status: error.status, user });
    }
    await accounts.parts.sessions.end(request, reply);
    return renderPage(pages, request, reply, 'account/delete.njk', { done: true }, { user: null });
  });

  api.get('/account/reset', { schema: { tags, summary: 'Ask for a password-reset link; `next` (a path on this server) is where the person goes once signed in again.', querystring: PageQuery, response: HtmlPage } }, async (request, reply) => {
    const next = safeNext(request.query.next, '');
    return renderPage(pages, request, reply, 'account/reset-request.njk', { next, intro: await introFor(request, next, 'reset.continue') });
  });

  api.post('/account/reset', {
    schema: { tags, summary: 'Mail a reset link if the account exists; the answer is the same either way. `next` stays in this browser (an HttpOnly cookie under /account/reset for the link\'s lifetime), never in the mail.', body: Type.Object({ ...FormBase, login: Type.String({ maxLength: 300 }), next: Type.Optional(Type.String({ maxLength: 2000 })) }), response: { 200: htmlPage('A page saying a link was mailed if the account exists.'), 403: FormAgain } },
    config: { rateLimit: { max: 10, timeWindow: 3_600_000 } },
  }, async (request, reply) => {
    // A path on this server only (safeNext): the way back can lead nowhere a sign-in link could not.
    const next = safeNext(request.body.next, '');
    const intro = await introFor(request, next, 'reset.continue');
    if (!csrfOk(request)) return csrfFailed(request, reply, 'account/reset-request.njk', { next, intro });
    const lang = pickLang(request);
    const t = translator(lang);
    // The way back stays in this browser (`ResetReturn`), not in the mail: a flow's `next` may hold
    // a secret (the access door's key), which a mailbox or the outbox folder would keep.
    resetReturn.keep(reply, next);
    accounts.requestReset(reply, request.body.login, (user, token, lifetimeSeconds) => {
      const link = `${ctx.publicUrl()}/account/reset/confirm?token=${encodeURIComponent(token)}&lang=${lang}`;
      return { subject: t('mail.subject'), text: t('mail.body', { username: user.username, lifetime: lifetimeWords(lifetimeSeconds, lang), link }) };
    }, request.log);
    const help = t('reset.sentHelp', { lifetime: lifetimeWords(accounts.parts.resetTtlMs / 1000, lang) });
    return renderPage(pages, request, reply, 'account/reset-request.njk', { sent: true, next, help });
  });

  /** The username of a live reset `token`, for the form's password-manager field; undefined when the link is dead. */
  const resetUsername = async (token: string): Promise<string | undefined> => {
    if (!/^[A-Za-z0-9_-]{20,100}$/.test(token)) return undefined;
    const userId = await accounts.parts.resets.liveUserId(token, ctx.clock.now());
    return userId === undefined ? undefined : (await accounts.parts.users.findById(userId))?.username;
  };
  const TokenQuery = Type.Object({ token: Type.Optional(Type.String({ maxLength: 100 })), lang: Type.Optional(Type.String({ maxLength: 35 })), next: Type.Optional(Type.String({ maxLength: 2000 })) });
  api.get('/account/reset/confirm', { schema: { tags, summary: 'The form to set a new password, from the mailed link.', querystring: TokenQuery, response: { ...HtmlPage, 404: htmlPage('The link is unknown, used or expired.') } } }, async (request, reply) => {
    const token = request.query.token ?? '';
    // A link mailed before the way back was kept in the browser still carries it in `?next=`.
    const next = safeNext(request.query.next, '') || resetReturn.next(request);
    const username = await resetUsername(token);
    const live = username !== undefined;
    return renderPage(pages, request, reply, 'account/reset.njk', live ? { token, next, username } : { invalid: true, next }, { status: live ? 200 : 404 });
  });

  api.post('/account/reset/confirm', {
    schema: { tags, summary: 'Set a new password with a reset token; the token works once. Signs out every session and disconnects every device and app of the account.', body: Type.Object({ ...FormBase, token: Type.String({ maxLength: 100 }), password: Type.String({ maxLength: 1024 }), next: Type.Optional(Type.String({ maxLength: 2000 })) }), response: { 200: htmlPage('Set: a page saying so.'), 400: FormAgain, 403: FormAgain, 404: htmlPage('The link is unknown, used or expired.'), 503: BusyAgain } },
    config: { rateLimit: { max: 20, timeWindow: 3_600_000 } },
  }, async (request, reply) => {
    const { token } = request.body;
    // Where the person was going before they forgot the password: the sign-in link goes back there.
    // The form carries it, or this browser kept it when the link was asked for (`ResetReturn`).
    const next = safeNext(request.body.next, '') || resetReturn.next(request);
    if (!csrfOk(request)) return csrfFailed(request, reply, 'account/reset.njk', { token, next, username: await resetUsername(token) });
    try {
      const done = await accounts.resetPassword(token, request.body.password, hashRequesterOf(request));
      // Kept no longer than needed: the page below carries it to the sign-in.
      if (done) resetReturn.forget(reply);
      const lang = pickLang(request);
      return renderPage(pages, request, reply, 'account/reset.njk', done ? { done: true, next, disconnected: disconnectedText(done, lang) } : { invalid: true, next }, { status: done ? 200 : 404, user: null, lang });
    } catch (error) {
      const message = errorMessage(error, pickLang(request));
      if (!message || !isPairgateError(error)) throw error;
      retryAfterOf(reply, error);
      return renderPage(pages, request, reply, 'account/reset.njk', { token, next, error: message, username: await resetUsername(token) }, { status: error.status });
    }
  });
}
