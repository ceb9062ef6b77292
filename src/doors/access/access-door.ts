import type { FastifyInstance } from 'fastify';
import { ConfigError } from '../../core/errors.js';
import { configSection, type Config } from '../../server/config.js';
import { assertBearerSecret } from '../../server/bearer-secret.js';
import { packageVersion } from '../../server/version.js';
import { addFlowIntro } from '../accounts/flow-intro.js';
import { countWords, passwordChangeHooks } from '../accounts/password-change-hooks.js';
import { accessTranslator } from './access-i18n.js';
import type { Door, DoorContext } from '../door.js';
import { accessFlowIntro } from './access-flow-intro.js';
import { installAccessInfoRoute } from './access-info-route.js';
import { apiMeta, withToken, type AccessEnv } from './access-env.js';
import { installAccessesPage } from './accesses-page.js';
import { AppAccesses } from './app-accesses.js';
import { installAuthPageRoutes } from './auth-page-routes.js';
import { parseTrustedAuthUrls } from './auth-url.js';
import { accessConfigSchema } from './config.js';
import { installCreateAccessRoute } from './create-access-route.js';
import { installIntrospectionRoute } from './introspection-route.js';
import { accessMigrations } from './migrations.js';
import { installPollAccessRoute } from './poll-access-route.js';
import { pryvApiErrorShape, pryvRegisterErrorShape } from './pryv-errors.js';
import { parseReturnOrigins } from './return-url.js';
import { installServiceInfoRoute } from './service-info-route.js';

function checkApiTemplate(config: Config): void {
  const template = configSection(config, accessConfigSchema).PAIRGATE_ACCESS_API_TEMPLATE;
  if (!template) return;
  if (!/^https?:\/\/[^@/]+/.test(template) || !template.includes('{username}')) {
    throw new ConfigError('PAIRGATE_ACCESS_API_TEMPLATE', 'expected an http(s) URL containing {username}, e.g. https://{username}.example.com/');
  }
}

/**
 * The access door: a third-party app asks a user for permissions, Pryv-wire-compatible (the `pryv`
 * npm library works against it unchanged). The auth request is a grant of kind `access`; the
 * user's decision on pairgate's consent page is its only way to change state. App accesses and
 * their hashed tokens are durable; resource servers check tokens with access-info or RFC 7662.
 * Needs the accounts door (users and sessions).
 */
export const accessDoor: Door = {
  name: 'access',
  configSchema: accessConfigSchema,
  migrations: accessMigrations,
  enabled: (config) => configSection(config, accessConfigSchema).PAIRGATE_ACCESS_ENABLED,
  checkConfig(config) {
    parseReturnOrigins(configSection(config, accessConfigSchema).PAIRGATE_ACCESS_RETURN_ORIGINS);
    checkApiTemplate(config);
    parseTrustedAuthUrls(configSection(config, accessConfigSchema).PAIRGATE_ACCESS_TRUSTED_AUTH_URLS);
    assertBearerSecret('PAIRGATE_ACCESS_INTROSPECTION_SECRET', configSection(config, accessConfigSchema).PAIRGATE_ACCESS_INTROSPECTION_SECRET, 'to keep introspection closed');
  },
  async register(app: FastifyInstance, ctx: DoorContext) {
    const cfg = configSection(ctx.config, accessConfigSchema);
    const accesses = new AppAccesses(ctx.stores.db);
    // Whoever knew the old password may have given an app of their own access: a new password
    // (a reset, or a change that asks it) revokes every access of the account, with its tokens.
    passwordChangeHooks(app.pairgate).add(async (trx, userId, now) => {
      const count = await AppAccesses.revokeAllOf(trx, userId, now);
      return { count, words: (lang) => countWords(accessTranslator(lang), 'accesses.count', count, lang) };
    });
    const trustedAuthUrls = parseTrustedAuthUrls(cfg.PAIRGATE_ACCESS_TRUSTED_AUTH_URLS);
    const apiTemplate = (): string => cfg.PAIRGATE_ACCESS_API_TEMPLATE || `${ctx.publicUrl()}/{username}/`;
    const env: AccessEnv = {
      ctx,
      cfg,
      accesses,
      returnOrigins: parseReturnOrigins(cfg.PAIRGATE_ACCESS_RETURN_ORIGINS),
      consent: {
        ctx,
        accesses,
        maxPerUser: cfg.PAIRGATE_ACCESS_MAX_PER_USER,
        apiEndpoint: (username, token) => withToken(apiTemplate().replace('{username}', encodeURIComponent(username)), token),
      },
      authPageUrl: () => `${ctx.publicUrl()}/access/auth`,
      trustedAuthUrls: () => [`${ctx.publicUrl()}/access/auth`, ...trustedAuthUrls],
      apiTemplate,
      serviceInfo: () => {
        const base = ctx.publicUrl();
        return {
          name: cfg.PAIRGATE_ACCESS_SERVICE_NAME,
          access: `${base}/access/`,
          api: apiTemplate(),
          register: `${base}/`,
          home: cfg.PAIRGATE_ACCESS_HOME_URL || `${base}/`,
          support: cfg.PAIRGATE_ACCESS_SUPPORT_URL,
          terms: cfg.PAIRGATE_ACCESS_TERMS_URL,
          version: packageVersion(),
          serial: '1',
        };
      },
    };
    // The Pryv register API and the user API each render errors in their own Pryv shape.
    await app.register(async (register) => {
      ctx.useErrorShape(register, pryvRegisterErrorShape);
      installServiceInfoRoute(register, env);
      installCreateAccessRoute(register, env);
      installPollAccessRoute(register, env);
    });
    await app.register(async (userApi) => {
      ctx.useErrorShape(userApi, pryvApiErrorShape(() => apiMeta(ctx.clock.now())));
      installAccessInfoRoute(userApi, env);
    });
    installIntrospectionRoute(app, env);
    await app.register(async (authPages) => {
      // The auth pages are opened as popups by the apps' sites. The server-wide COOP same-origin would
      // cut the popup from its opener, and a cut-off popup can neither see that it is one nor close
      // itself when the user is done. Framing stays forbidden (CSP frame-ancestors 'none').
      authPages.addHook('onRequest', async (_request, reply) => {
        reply.header('cross-origin-opener-policy', 'unsafe-none');
      });
      installAuthPageRoutes(authPages, env);
    });
    installAccessesPage(app, env);
    // The register and reset pages reached from the auth page's sign-in form say which app asks.
    addFlowIntro(app.pairgate, accessFlowIntro(ctx.engine));

    // Accesses that ended (expireAfter) open nothing and are no longer listed; their rows and
    // tokens go at the sweep, as the device door's expired tokens do.
    ctx.everySweep('app access', (now) => accesses.sweep(now));
  },
};
