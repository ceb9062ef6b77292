import { SESSION_COOKIE_AUTH } from '../../server/openapi-security.js';
import type { FastifyInstance, FastifySchemaValidationError } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import { InvalidRequestError, NotFoundError } from '../../core/errors.js';
import { schemaErrorFormatter } from '../../server/error-handler.js';
import { htmlPage, seeOther } from '../../server/openapi-responses.js';
import { currentUser, requireUser, signInUrl } from '../accounts/accounts.js';
import { formFromThisSite } from '../accounts/form-guard.js';
import { askedLang, pickLang } from '../accounts/i18n.js';
import { renderPage } from '../accounts/page-helpers.js';
import { pathInLanguage } from '../../web/page-language.js';
import type { DeviceEnv } from './device-env.js';
import { deviceTranslator } from './device-i18n.js';
import { DeviceTokenErrors } from './device-responses.js';
import type { ConnectedDevice } from './device-tokens.js';

/** Where the page lives (also linked from the account pages' navigation). */
export const DEVICES_PAGE_PATH = '/account/devices';

const DeviceIdParams = Type.Object({ id: Type.String({ pattern: '^[A-Za-z0-9_-]{10,64}$' }) });

/**
 * The JSON route's `schemaErrorFormatter`: a malformed id is told where ids come from, not the
 * regular expression that refused it; anything else keeps the server's words.
 */
function deviceIdError(errors: FastifySchemaValidationError[], where: string): Error {
  if (where === 'params' && errors.some((error) => error.instancePath === '/id')) {
    return new InvalidRequestError('This is not a device id: use the id of one of your devices, from GET /api/v1/device/tokens.', undefined, 'validation_failed');
  }
  return schemaErrorFormatter(errors, where);
}

const DeviceView = Type.Object({
  id: Type.String(),
  clientId: Type.String(),
  clientName: Type.String(),
  scope: Type.String(),
  createdAt: Type.String(),
  expiresAt: Type.String(),
});

/**
 * The devices a signed-in person connected through the device grant, each with a Revoke button
 * (and the same as JSON: `GET /api/v1/device/tokens`, `DELETE /api/v1/device/tokens/:id`). Someone
 * talked into approving a stranger's device can cut it off here at once, rather than waiting for
 * its tokens to expire. A device is a token family (one device authorization and every refresh
 * since), listed once; revoking deletes all its access and refresh tokens: the device's next call
 * and its next refresh are refused.
 */
export function installDevicesPage(app: FastifyInstance, env: DeviceEnv): void {
  const api = app.withTypeProvider<TypeBoxTypeProvider>();
  const pages = env.ctx.pages;
  // The account pages' navigation offers this page only where the device door serves.
  pages.environment.addGlobal('devicesPage', DEVICES_PAGE_PATH);

  /**
   * The user's devices with their clients' names (a client deleted since shows its id). The clients
   * are read in one batch, not one look-up per device: a person with many devices costs one query.
   */
  const named = async (devices: ConnectedDevice[]) => {
    const clients = await env.clients.findMany(devices.map((device) => device.clientId));
    return devices.map((device) => ({ ...device, clientName: clients.get(device.clientId)?.name ?? device.clientId }));
  };

  api.get(DEVICES_PAGE_PATH, {
    schema: { tags: ['device'], summary: 'The page of your connected devices.', querystring: Type.Object({ lang: Type.Optional(Type.String({ maxLength: 35 })), revoked: Type.Optional(Type.String({ maxLength: 5 })) }), response: { 200: htmlPage('The page.'), 303: seeOther('Not signed in: to the sign-in page, which comes back here.') } },
  }, async (request, reply) => {
    const user = await currentUser(request);
    if (!user) return reply.redirect(signInUrl(DEVICES_PAGE_PATH, askedLang(request)), 303);
    const lang = pickLang(request);
    const t = deviceTranslator(lang);
    const devices = (await named(await env.tokens.listForUser(user.id, env.ctx.clock.now()))).map((device) => ({
      id: device.id,
      clientName: device.clientName,
      scopes: device.scope ? device.scope.split(' ') : [],
      connected: new Date(device.createdAt).toISOString().slice(0, 16).replace('T', ' '),
      expires: new Date(device.expiresAt).toISOString().slice(0, 16).replace('T', ' '),
    }));
    return renderPage(pages, request, reply, 'device/devices.njk', { t, title: t('devices.title'), devices, revoked: request.query.revoked === '1' }, { lang, user });
  });

  api.post(`${DEVICES_PAGE_PATH}/:id/revoke`, {
    schema: { tags: ['device'], summary: 'Disconnect one of your devices (form).', params: DeviceIdParams, body: Type.Object({ _csrf: Type.Optional(Type.String({ maxLength: 100 })), lang: Type.Optional(Type.String({ maxLength: 5 })) }), response: { 303: seeOther('Disconnected (or none of yours had this id): to the page of your devices; not signed in: to the sign-in page.'), 403: htmlPage('The form did not come from this site.') } },
  }, async (request, reply) => {
    const user = await currentUser(request);
    if (!user) return reply.redirect(signInUrl(DEVICES_PAGE_PATH, askedLang(request)), 303);
    if (!formFromThisSite(pages, request)) {
      const t = deviceTranslator(pickLang(request));
      return renderPage(pages, request, reply, 'account/message.njk', { title: t('error.title'), message: t('error.csrf_failed'), back: DEVICES_PAGE_PATH }, { status: 403, user });
    }
    await env.tokens.revokeForUser(user.id, request.params.id);
    // Bare unless the page would not pick the form's language by itself (pathInLanguage).
    return reply.redirect(pathInLanguage(request, `${DEVICES_PAGE_PATH}?revoked=1`, pickLang(request)), 303);
  });

  api.get('/api/v1/device/tokens', {
    schema: { tags: ['device'], security: SESSION_COOKIE_AUTH, summary: 'Your connected devices (session cookie); never the tokens themselves.', response: { 200: Type.Object({ devices: Type.Array(DeviceView) }, { description: 'Your connected devices, one per device authorization (and the refreshes since), newest first, with the client and the scope of each.' }), 401: DeviceTokenErrors.unauthorized } },
  }, async (request) => {
    const user = await requireUser(request);
    const devices = await named(await env.tokens.listForUser(user.id, env.ctx.clock.now()));
    return {
      devices: devices.map((device) => ({
        id: device.id,
        clientId: device.clientId,
        clientName: device.clientName,
        scope: device.scope,
        createdAt: new Date(device.createdAt).toISOString(),
        expiresAt: new Date(device.expiresAt).toISOString(),
      })),
    };
  });

  api.delete('/api/v1/device/tokens/:id', {
    schema: { tags: ['device'], security: SESSION_COOKIE_AUTH, summary: 'Disconnect one of your devices (session cookie).', params: DeviceIdParams, response: { 204: Type.Null({ description: 'Disconnected: the device\'s access and refresh tokens are deleted.' }), 401: DeviceTokenErrors.unauthorized, 403: DeviceTokenErrors.crossSite, 404: DeviceTokenErrors.notFound } },
    schemaErrorFormatter: deviceIdError,
  }, async (request, reply) => {
    const user = await requireUser(request);
    if (!(await env.tokens.revokeForUser(user.id, request.params.id))) throw new NotFoundError('You have no connected device with this id.', 'device_not_found');
    return reply.code(204).send(null);
  });
}
