import type { FastifyInstance } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { Type, type Static } from 'typebox';
import { InvalidRequestError, RateLimitedError } from '../../core/errors.js';
import type { AccessEnv } from './access-env.js';
import { AccessErrors, pryvStateView } from './access-responses.js';
import { accessValidationError } from './access-validation.js';
import { accessKey, newAccessRequestId } from './access-key.js';
import { trustedAuthUrl } from './auth-url.js';
import { ACCESS_KIND, needSigninView, type AccessGrant, type AccessRequest } from './access-request.js';
import { countPendingFrom, crowdedAddressRefusal } from './pending-per-address.js';
import { crowdedCapacity } from '../shared/crowded-share.js';
import { parsePermissions, PermissionSchema } from './permissions.js';
import { checkReturnUrl, isPinnedOrigin } from './return-url.js';
import { checkOneLookingScript, checkShownText, optionalShownText, readLanguageCode } from './request-text.js';
import { checkClientData, checkServiceInfo } from './client-data.js';
import { CORS_OPEN, CREATE_CALL, openToWebApps } from './web-app-cors.js';

// Null (and false) come first in each union: a form's fields are text converted to the schema's
// types (a JSON body is checked as sent), the first branch that converts winning, so an empty
// field reads as null (none), not as "".
/** The body of an auth request (Pryv's fields; unknown extra fields are ignored, as Pryv does). */
export const CreateAccessBody = Type.Object(
  {
    requestingAppId: Type.String({ maxLength: 200, description: 'The app id, 6 to 99 characters once trimmed.' }),
    requestedPermissions: Type.Array(PermissionSchema, { minItems: 1, maxItems: 100 }),
    // Null is none, as absent is (and as for every optional field here): Pryv's register takes
    // any empty languageCode, null included, for its default, and apps written for it send null.
    languageCode: Type.Optional(Type.Union([Type.Null(), Type.String({ maxLength: 100 })], { description: 'Language of the auth page, a language tag of at most 5 characters, any case: `en`, `fr`, `en-US`, `pt-BR` (anything else is 400 `invalid_language_code`). The pages speak English and French; for another language they take the browser\'s, else English. Without it (absent, null or blank) the page takes the browser\'s language, and the answer\'s lang is en.' })),
    returnURL: Type.Optional(Type.Union([Type.Null(), Type.Boolean(), Type.String({ maxLength: 2048 })], { description: 'Where the browser goes after the decision (http(s)); null or false = none (popup).' })),
    oauthState: Type.Optional(Type.Union([Type.Null(), Type.String({ maxLength: 500 })], { description: 'Set for OAuth mode: the redirect carries state, code and poll.' })),
    clientData: Type.Optional(Type.Union([Type.Null(), Type.Record(Type.String(), Type.Unknown(), { maxProperties: 50, propertyNames: { maxLength: 100 } })])),
    authUrl: Type.Optional(Type.Union([Type.Null(), Type.String({ maxLength: 2048 })], { description: 'An auth page to use; must lie under a trusted auth URL (same origin, path under the trusted path).' })),
    serviceInfo: Type.Optional(Type.Union([Type.Null(), Type.Object({ name: Type.String({ minLength: 1, maxLength: 200 }) }, { additionalProperties: true })])),
    deviceName: Type.Optional(Type.Union([Type.Null(), Type.String({ maxLength: 200 })], { description: 'Shown on the pages and in the accesses list; trimmed, and refused when empty once trimmed (leave it out or send null for none).' })),
    referer: Type.Optional(Type.Union([Type.Null(), Type.String({ maxLength: 200 })])),
    expireAfter: Type.Optional(Type.Union([Type.Null(), Type.Integer({ minimum: 1, maximum: 10 * 365 * 86400 })], { description: 'Lifetime of the access in seconds once granted.' })),
  },
  { additionalProperties: true },
);
type CreateAccessBody = Static<typeof CreateAccessBody>;

/** The NEED_SIGNIN body, in the first answer and in polls until the user decides. */
export const NEED_SIGNIN = 'NEED_SIGNIN: the request\'s `key`, the auth page to open for the user (`url`, `authUrl`), the URL to poll (`poll`) and the request as the app sent it.';

/** Turns a valid body into what the grant keeps; throws a 400 for what the schema cannot say. */
export function readAccessRequest(env: AccessEnv, body: CreateAccessBody): AccessRequest {
  const appId = body.requestingAppId.trim();
  if (appId.length < 6 || appId.length > 99) throw new InvalidRequestError('requestingAppId must have 6 to 99 characters.', { field: 'requestingAppId' }, 'invalid_app_id');
  checkShownText(appId, 'requestingAppId', 'invalid_app_id', true);
  checkOneLookingScript(appId, 'requestingAppId', 'invalid_app_id');
  const requestedPermissions = parsePermissions(body.requestedPermissions);
  requestedPermissions.forEach((permission, index) => {
    for (const [name, value] of Object.entries(permission)) checkShownText(value as string, `requestedPermissions[${index}].${name}`, 'invalid_permissions');
  });
  const deviceName = optionalShownText(body.deviceName, 'deviceName', 'validation_failed');
  checkClientData(body.clientData);
  checkServiceInfo(body.serviceInfo);
  if (body.returnURL === true) throw new InvalidRequestError('returnURL must be a URL, null or false.', { field: 'returnURL' }, 'invalid_return_url');
  const returnURL = typeof body.returnURL === 'string' && body.returnURL !== '' ? checkReturnUrl(body.returnURL, appId, env.returnOrigins) : null;
  // An app whose origins are pinned gets its token only at them (`AccessRequest.pinned`): without a
  // returnURL there would be nowhere to send it but the poll, which whoever started the request
  // holds. So does any request answered at a pinned origin, whatever app id it names.
  const pinnedApp = env.returnOrigins.has(appId);
  const pinned = pinnedApp || (returnURL !== null && isPinnedOrigin(returnURL, env.returnOrigins));
  if (pinnedApp && !returnURL) {
    throw new InvalidRequestError('This app\'s answers go back to its own site only (PAIRGATE_ACCESS_RETURN_ORIGINS pins its origins): send a returnURL on one of them.', { field: 'returnURL' }, 'return_url_required');
  }
  let authBase = env.authPageUrl();
  if (typeof body.authUrl === 'string' && body.authUrl !== '') {
    const trusted = trustedAuthUrl(body.authUrl, env.trustedAuthUrls());
    if (!trusted) throw new InvalidRequestError('authUrl is not under a trusted auth URL of this server (same origin, path under the trusted one).', { field: 'authUrl' }, 'untrusted_auth_url');
    // The request's parameters go in the auth page's query; after a fragment the browser would
    // keep them in the fragment, and the page would find no key. Refused rather than dropped: the
    // app named that page, and quietly sending the person elsewhere would hide its mistake.
    if (body.authUrl.includes('#')) throw new InvalidRequestError('authUrl must not have a fragment (#...): pairgate adds the request\'s key and parameters to its query, and after a fragment the auth page cannot read them. Name the auth page without it.', { field: 'authUrl' }, 'invalid_auth_url');
    authBase = trusted;
  }
  const asked = readLanguageCode(body.languageCode);
  const lang = asked || 'en';
  const publicUrl = env.ctx.publicUrl();
  return {
    requestingAppId: appId,
    requestedPermissions,
    lang,
    languageAsked: asked !== '',
    returnURL,
    oauthState: typeof body.oauthState === 'string' ? body.oauthState : null,
    clientData: body.clientData ?? null,
    serviceInfo: body.serviceInfo ?? env.serviceInfo(),
    deviceName,
    referer: body.referer ?? null,
    expireAfter: body.expireAfter ?? null,
    authBase,
    pollBase: `${publicUrl}/access/`,
    domain: new URL(publicUrl).host,
    pollRateMs: env.cfg.PAIRGATE_ACCESS_POLL_RATE_MS,
    ...(pinned ? { pinned: true } : {}),
  };
}

/**
 * `POST /access` and `POST /access/` (the pryv library adds the slash): start an auth request. Open
 * to web apps' pages (CORS), which post it from their own origin.
 */
export function installCreateAccessRoute(app: FastifyInstance, env: AccessEnv): void {
  const api = app.withTypeProvider<TypeBoxTypeProvider>();
  const paths = ['/access', '/access/'];
  const options = {
    schema: { tags: ['access'], summary: 'An app asks a user for permissions: answers NEED_SIGNIN with the auth page URL and the poll URL.', description: CORS_OPEN, body: CreateAccessBody, response: { 201: pryvStateView(NEED_SIGNIN), 400: AccessErrors.create400, 429: AccessErrors.create429 } },
    config: { rateLimit: { max: env.cfg.PAIRGATE_ACCESS_CREATE_PER_MINUTE, timeWindow: 60_000 } },
    // Before the rate limit's hook: its 429 is readable by the page too.
    onRequest: openToWebApps(app, paths, CREATE_CALL),
    schemaErrorFormatter: accessValidationError,
  };
  for (const path of paths) {
    api.post(path, options, async (request, reply) => {
      // A malformed request is a 400 before it counts against any limit.
      const accessRequest = readAccessRequest(env, request.body);
      const ttlMs = env.cfg.PAIRGATE_ACCESS_TTL_SECONDS * 1000;
      const pending = await countPendingFrom(env.ctx.stores.ephemeral, request.clientNetwork, env.cfg.PAIRGATE_ACCESS_MAX_PENDING_PER_IP, ttlMs, env.ctx.clock.now());
      // Past half the server's places, an address holding many is refused, so that a few hundred
      // addresses at their share cannot lock every app out.
      const { max, crowded } = crowdedCapacity(pending.live, env.cfg.PAIRGATE_ACCESS_MAX_PENDING);
      // The secret is stored hashed: the key (id + secret) exists in clear only in this answer.
      const { grant, secret } = await env.ctx.engine.create<AccessRequest>({ kind: ACCESS_KIND, id: newAccessRequestId(), request: accessRequest, ttlMs, withSecret: true,
        capacity: { max, refuse: () => (crowded ? crowdedAddressRefusal(pending) : new RateLimitedError(30, 'Too many auth requests are waiting. Try again shortly.')) },
      });
      return reply.code(201).send(needSigninView(grant as AccessGrant, accessKey(grant.id, secret!)) as never);
    });
  }
}
