import type { FastifyInstance } from 'fastify';
import { assertWithinBudget } from '../../core/brute-force.js';
import { configSection } from '../../server/config.js';
import { AppAccesses } from '../access/app-accesses.js';
import { countWords, passwordChangeHooks } from '../accounts/password-change-hooks.js';
import type { Door, DoorContext } from '../door.js';
import { attackerGuessRate } from '../shared/attacker-guess-rate.js';
import { assertBearerSecret } from '../../server/bearer-secret.js';
import { DeviceAdminAuth } from './admin-auth.js';
import { installAuthorizationRoute } from './authorization-route.js';
import { installClientAdminRoutes } from './client-admin-routes.js';
import { DeviceClientRegistry } from './client-registry.js';
import { parseDeviceClients } from './clients.js';
import { CodeBudget } from './code-budget.js';
import { deviceConfigSchema } from './config.js';
import { DEVICE_KIND, USER_CODE_FORMAT } from './device-grant.js';
import { deviceTranslator } from './device-i18n.js';
import type { DeviceEnv } from './device-env.js';
import { DeviceTokens } from './device-tokens.js';
import { installIntrospectionRoute } from './introspection-route.js';
import { installMetadataRoute } from './metadata-route.js';
import { deviceMigrations } from './migrations.js';
import { oauthErrorShape } from './oauth-errors.js';
import { PendingPerNetwork } from './pending-per-network.js';
import { PollPacing } from './poll-pacing.js';
import { installRevocationRoute } from './revocation-route.js';
import { installTokenRoute } from './token-route.js';
import { installVerificationPages } from './verification-pages.js';
import { installDevicesPage } from './devices-page.js';

/**
 * The device door: the OAuth 2.0 Device Authorization Grant (RFC 8628), so stock OAuth clients
 * pair a TV, a CLI or a kiosk with a person's account. Each device authorization is a grant of
 * kind `device` with a user code (base-20, `XXXX-XXXX`) and a secret (the device code); the
 * person decides on /device after signing in with the accounts door; the device's token request
 * redeems the grant once for an access token stored hashed in `device_access_tokens`, and a refresh
 * token (hashed in `device_refresh_tokens`, rotated at each use, reuse revoking the family). Metadata
 * (RFC 8414), introspection (RFC 7662) and revocation (RFC 7009) come with it. Clients come from
 * PAIRGATE_DEVICE_CLIENTS and from the admin API (/api/v1/device/clients, table `device_clients`).
 */
export const deviceDoor: Door = {
  name: 'device',
  // The per-browser-session budget of wrong user codes (CodeBudget) beside the guard's per network.
  codeScope: { scope: DEVICE_KIND, ownBudgets: ['misses_session'] },
  configSchema: deviceConfigSchema,
  migrations: deviceMigrations,
  enabled: (config) => configSection(config, deviceConfigSchema).PAIRGATE_DEVICE_ENABLED,
  // Devices can ask only once a client is registered (in the configuration, or through the admin
  // API on any node, hence asked per view): before that, the page would lead nowhere.
  async homeLinks(ctx) {
    const clients = new DeviceClientRegistry(parseDeviceClients(configSection(ctx.config, deviceConfigSchema).PAIRGATE_DEVICE_CLIENTS), ctx.stores.db);
    if (!(await clients.anyRegistered())) return [];
    return [{ order: 30, href: '/device', title: 'Connect a device', text: 'A TV, a command line or a kiosk shows a code: type it to let it use your account.', translations: { fr: { title: 'Connecter un appareil', text: 'Une télévision, une ligne de commande ou une borne affiche un code : saisissez-le pour lui permettre d’utiliser votre compte.' } } }];
  },
  checkConfig(config) {
    const cfg = configSection(config, deviceConfigSchema);
    parseDeviceClients(cfg.PAIRGATE_DEVICE_CLIENTS);
    assertBearerSecret('PAIRGATE_DEVICE_ADMIN_TOKEN', cfg.PAIRGATE_DEVICE_ADMIN_TOKEN, 'to leave the admin API off');
    assertBearerSecret('PAIRGATE_DEVICE_INTROSPECTION_SECRET', cfg.PAIRGATE_DEVICE_INTROSPECTION_SECRET, 'to keep introspection closed');
    // User codes are short: refuse to start when the live ones could be guessed within budget.
    assertWithinBudget('PAIRGATE_DEVICE_MAX_PENDING', {
      entropyBits: USER_CODE_FORMAT.entropyBits,
      liveCodes: cfg.PAIRGATE_DEVICE_MAX_PENDING,
      ttlSeconds: cfg.PAIRGATE_DEVICE_EXPIRES_IN_SECONDS,
      attemptsPerSecond: attackerGuessRate(config, cfg.PAIRGATE_DEVICE_EXPIRES_IN_SECONDS),
    }, config.PAIRGATE_BRUTE_FORCE_BUDGET);
  },
  async register(app: FastifyInstance, ctx: DoorContext) {
    const cfg = configSection(ctx.config, deviceConfigSchema);
    const tokens = new DeviceTokens(ctx.stores.db);
    // Whoever knew the old password may have approved a device of their own: a new password (a
    // reset, or a change that asks it) disconnects every device of the account.
    passwordChangeHooks(app.pairgate).add(async (trx, userId, now) => {
      const count = await DeviceTokens.disconnectAllOf(trx, userId, now);
      return { count, words: (lang) => countWords(deviceTranslator(lang), 'devices.count', count, lang) };
    });
    const env: DeviceEnv = {
      ctx,
      cfg,
      clients: new DeviceClientRegistry(parseDeviceClients(cfg.PAIRGATE_DEVICE_CLIENTS), ctx.stores.db),
      tokens,
      pacing: new PollPacing(ctx.stores.ephemeral, ctx.clock, cfg.PAIRGATE_DEVICE_INTERVAL_SECONDS),
      pendingPerNetwork: new PendingPerNetwork(ctx.stores.ephemeral, cfg.PAIRGATE_DEVICE_MAX_PENDING_PER_IP, cfg.PAIRGATE_DEVICE_MAX_PENDING),
      appAccesses: new AppAccesses(ctx.stores.db),
    };
    // The OAuth endpoints speak OAuth's error shape, and so does what no route answers under /oauth
    // (a GET of the token endpoint, 405): a client reads `error` there too. The pages render their own errors.
    await app.register(async (oauth) => {
      ctx.useErrorShape(oauth, oauthErrorShape, { pathPrefixes: ['/oauth'] });
      installMetadataRoute(oauth, env);
      installAuthorizationRoute(oauth, env);
      installTokenRoute(oauth, env);
      installIntrospectionRoute(oauth, env);
      installRevocationRoute(oauth, env);
    });
    const budget = new CodeBudget(ctx.codeGuard, cfg.PAIRGATE_DEVICE_CODE_MISSES_PER_SESSION, ctx.pages);
    installVerificationPages(app, env, budget);
    installDevicesPage(app, env);
    // The admin API speaks pairgate's error shape, behind its own token check.
    const adminAuth = new DeviceAdminAuth(cfg.PAIRGATE_DEVICE_ADMIN_TOKEN, ctx.stores.ephemeral, ctx.clock);
    await app.register(async (admin) => installClientAdminRoutes(admin, env, adminAuth));

    ctx.everySweep('device token', (now) => tokens.sweep(now));
  },
};
