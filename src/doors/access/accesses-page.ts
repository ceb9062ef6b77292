import { SESSION_COOKIE_AUTH } from '../../server/openapi-security.js';
import type { FastifyInstance } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import { NotFoundError } from '../../core/errors.js';
import { htmlPage, seeOther } from '../../server/openapi-responses.js';
import { currentUser, requireUser, signInUrl } from '../accounts/accounts.js';
import { formFromThisSite } from '../accounts/form-guard.js';
import { askedLang, pickLang, translator, type Translate } from '../accounts/i18n.js';
import { renderPage } from '../accounts/page-helpers.js';
import { formPageSwitchUrl, otherLanguage, pathInLanguage } from '../../web/page-language.js';
import type { AccessEnv } from './access-env.js';
import { AccessErrors } from './access-responses.js';
import { accessTranslator } from './access-i18n.js';
import { MAX_TOKENS_PER_ACCESS, type ListedAccess } from './app-accesses.js';
import { permissionLines } from './permission-lines.js';
import { accessValidationError } from './access-validation.js';

const AccessIdParams = Type.Object({ id: Type.String({ pattern: '^[A-Za-z0-9_-]{10,64}$' }) });
const AccessView = Type.Object({
  id: Type.String(),
  appId: Type.String(),
  deviceName: Type.Union([Type.String(), Type.Null()]),
  permissions: Type.Array(Type.Object({}, { additionalProperties: true })),
  createdAt: Type.String(),
  updatedAt: Type.String(),
  expiresAt: Type.Union([Type.String(), Type.Null()]),
  signIns: Type.Integer({ minimum: 0, description: `How many tokens the access holds: one per sign-in of the app (each Accept of a request matching the access), its ${MAX_TOKENS_PER_ACCESS} newest kept. The tokens themselves, and their hashes, are never shown.` }),
  lastSignInAt: Type.Union([Type.String(), Type.Null()], { description: 'When the newest of those tokens was made (ISO 8601); null while the access holds none.' }),
});

function accessView(access: ListedAccess) {
  return {
    id: access.id,
    appId: access.appId,
    deviceName: access.deviceName,
    permissions: access.permissions as never[],
    createdAt: new Date(access.createdAt).toISOString(),
    updatedAt: new Date(access.updatedAt).toISOString(),
    expiresAt: access.expiresAt === null ? null : new Date(access.expiresAt).toISOString(),
    signIns: access.signIns,
    lastSignInAt: access.lastSignInAt === null ? null : new Date(access.lastSignInAt).toISOString(),
  };
}

/** "3 sign-ins, the last on 2026-12-07 10:15 UTC": the access's tokens as the page says them, to the minute in UTC. */
function signInsText(access: ListedAccess, t: Translate): string {
  if (access.lastSignInAt === null || access.signIns === 0) return t('accesses.signIns.none');
  const date = new Date(access.lastSignInAt).toISOString().slice(0, 16).replace('T', ' ');
  return t(access.signIns === 1 ? 'accesses.signIns.one' : 'accesses.signIns.many', { count: access.signIns, date });
}

/**
 * The signed-in user's app accesses: a page that lists them with a Revoke button each, and the
 * same as JSON (`GET /api/v1/accesses`, `DELETE /api/v1/accesses/:id`). Revoking deletes the access
 * and every token of it at once: at most its `MAX_TOKENS_PER_ACCESS` newest, one per Accept of the
 * app (an older one was revoked by the Accept that made one too many), so there is no list of
 * tokens to revoke one by one. An access that has ended is not listed: it opens nothing, and the
 * sweep deletes it (`AppAccesses.sweep`). Each access says how many sign-ins (tokens) it holds and
 * when the newest was made, read with the list in one query (`AppAccesses.listForUser`), so the
 * person can tell an app signed in on many devices from one signed in once.
 */
export function installAccessesPage(app: FastifyInstance, env: AccessEnv): void {
  const api = app.withTypeProvider<TypeBoxTypeProvider>();
  const pages = env.ctx.pages;

  api.get('/account/accesses', {
    schema: { tags: ['access'], summary: 'The page of your app accesses.', querystring: Type.Object({ lang: Type.Optional(Type.String({ maxLength: 35 })), revoked: Type.Optional(Type.String({ maxLength: 5 })) }), response: { 200: htmlPage('The page.'), 303: seeOther('Not signed in: to the sign-in page, which comes back here.') } },
  }, async (request, reply) => {
    const user = await currentUser(request);
    if (!user) return reply.redirect(signInUrl('/account/accesses', askedLang(request)), 303);
    const lang = pickLang(request);
    const t = accessTranslator(lang);
    const accesses = (await env.accesses.listForUser(user.id, env.ctx.clock.now())).map((access) => ({
      id: access.id,
      appId: access.appId,
      deviceName: access.deviceName,
      created: new Date(access.createdAt).toISOString().slice(0, 10),
      signIns: signInsText(access, t),
      lines: permissionLines(access.permissions, t),
    }));
    return renderPage(pages, request, reply, 'access/accesses.njk', { t, title: t('accesses.title'), accesses, revoked: request.query.revoked === '1' }, { lang, user });
  });

  api.post('/account/accesses/:id/revoke', {
    schema: { tags: ['access'], summary: 'Revoke one of your app accesses (form).', params: AccessIdParams, body: Type.Object({ _csrf: Type.Optional(Type.String({ maxLength: 100 })), lang: Type.Optional(Type.String({ maxLength: 5 })) }), response: { 303: seeOther('Revoked (or none of yours had this id): to the page of your app accesses; not signed in: to the sign-in page.'), 403: htmlPage('The form did not come from this site.') } },
  }, async (request, reply) => {
    const user = await currentUser(request);
    if (!user) return reply.redirect(signInUrl('/account/accesses', askedLang(request)), 303);
    if (!formFromThisSite(pages, request)) {
      const lang = pickLang(request);
      const t = translator(lang);
      // The switch leads to the accesses page, the form's own page, in the other language: this
      // address serves no page, and the form is not sent again.
      const switchUrl = formPageSwitchUrl('/account/accesses', otherLanguage(lang));
      return renderPage(pages, request, reply, 'account/message.njk', { title: t('error.title'), message: t('error.csrf_failed'), back: '/account/accesses', switchUrl }, { status: 403, lang, user });
    }
    await env.accesses.revoke(user.id, request.params.id);
    // Bare unless the page would not pick the form's language by itself (pathInLanguage).
    return reply.redirect(pathInLanguage(request, '/account/accesses?revoked=1', pickLang(request)), 303);
  });

  api.get('/api/v1/accesses', {
    schema: { tags: ['access'], security: SESSION_COOKIE_AUTH, summary: 'Your app accesses (session cookie).', response: { 200: Type.Object({ accesses: Type.Array(AccessView) }, { description: 'Your app accesses that have not ended, with the permissions of each.' }), 401: AccessErrors.accessesUnauthorized } },
  }, async (request) => {
    const user = await requireUser(request);
    return { accesses: (await env.accesses.listForUser(user.id, env.ctx.clock.now())).map(accessView) };
  });

  api.delete('/api/v1/accesses/:id', {
    schema: { tags: ['access'], security: SESSION_COOKIE_AUTH, summary: 'Revoke one of your app accesses (session cookie).', params: AccessIdParams, response: { 204: Type.Null({ description: `Revoked: the access and every token of it (at most its ${MAX_TOKENS_PER_ACCESS} newest) are deleted.` }), 401: AccessErrors.accessesUnauthorized, 403: AccessErrors.accessesCrossSite, 404: AccessErrors.accessNotFound } },
    schemaErrorFormatter: accessValidationError,
  }, async (request, reply) => {
    const user = await requireUser(request);
    if (!(await env.accesses.revoke(user.id, request.params.id))) throw new NotFoundError('You have no app access with this id.', 'access_not_found');
    return reply.code(204).send(null);
  });
}
