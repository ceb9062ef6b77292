import type { FastifyInstance } from 'fastify';
import { assertWithinBudget, fixedWindowAttempts } from '../../core/brute-force.js';
import { configSection } from '../../server/config.js';
import { loadSecretKey, parseSecretKey, SecretBox } from '../../server/secret-box.js';
import { accountDeletionGuards } from '../accounts/deletion-guards.js';
import type { Lang } from '../accounts/i18n.js';
import type { Door, DoorContext, HomeLink } from '../door.js';
import { ChatKit } from './chat-kit.js';
import { ChatLinks } from './chat-links.js';
import type { Connector } from './connector.js';
import { installConfigSchema } from './config.js';
import { allConnectors } from './connectors.js';
import { installIntegrationPages } from './install-pages.js';
import { Installations } from './installations.js';
import { installIntegrationRoutes } from './integration-routes.js';
import { installInvitationRoutes } from './invitation-routes.js';
import { lastAdminGuard } from './last-admin-guard.js';
import { LinkBudget } from './link-budget.js';
import { LINK_TOKEN_FORMAT, LinkTokens } from './link-tokens.js';
import { installMigrations } from './migrations.js';
import { installOrganizationRoutes } from './organization-routes.js';
import { Organizations } from './organizations.js';

/** `connectors` as the pages name them after a verb (`ConnectorNames.object`), joined by "or" in `lang`: "Mattermost or a signed webhook". */
function oneOf(connectors: readonly Connector[], lang: Lang): string {
  return new Intl.ListFormat(lang, { type: 'disjunction' }).format(connectors.map((connector) => connector.pageNames[lang].object));
}

/**
 * The home page's link to the integrations page, naming every connector the door serves (each
 * `pageNames`, so a connector added to `allConnectors` is named there too), not one of them.
 */
export function integrationsHomeLink(connectors: readonly Connector[]): HomeLink {
  return {
    order: 40,
    href: '/integrations',
    title: 'Chat integrations',
    text: `Organizations: set up ${oneOf(connectors, 'en')}, and link your chat account to pairgate.`,
    translations: { fr: { title: 'Intégrations de messagerie', text: `Organisations : configurez ${oneOf(connectors, 'fr')}, et liez votre compte de messagerie à pairgate.` } },
  };
}

/** The door's home-page link, worded once: the connectors are fixed, and the home page asks on every visit. */
const INTEGRATIONS_HOME_LINKS: readonly HomeLink[] = [integrationsHomeLink(allConnectors)];

/**
 * The install door: pairgate inside chat workspaces. Organizations (admins and members, the
 * accounts door's users) set up a chat connector, which gives a manifest or webhook URL and a
 * secret shown once and kept sealed under the server key; the chat server's install callback,
 * signed with that secret, links it to the organization. Members then make one-time link tokens
 * (grants of kind `install-link`, spent by the engine's single approval) and link their chat
 * account with `/pairgate link <token>`. Connectors (Mattermost first) live in their own folders.
 */
export const installDoor: Door = {
  name: 'install',
  configSchema: installConfigSchema,
  migrations: installMigrations,
  enabled: (config) => configSection(config, installConfigSchema).PAIRGATE_INSTALL_ENABLED,
  homeLinks: () => INTEGRATIONS_HOME_LINKS,
  configWarnings(config) {
    // Where one node holds the database, its key file serves; shared, each node made its own key
    // and only the node an installation was made on could open its secret: said before any install.
    if (!config.PAIRGATE_DATABASE_URL || configSection(config, installConfigSchema).PAIRGATE_INSTALL_SECRET_KEY) return [];
    return [
      'PAIRGATE_INSTALL_SECRET_KEY is not set: this node seals the chat installations\' secrets kept in PostgreSQL under a key file of its own (secret-box.key in PAIRGATE_DATA_DIR), ' +
        'so with several nodes on PAIRGATE_DATABASE_URL a Mattermost call reaching another node than the one the installation was made on fails (401 jwt_signature_invalid). ' +
        'Set PAIRGATE_INSTALL_SECRET_KEY, the same on every node (openssl rand -base64 32; on a node already installed, the line its secret-box.key holds), or PAIRGATE_INSTALL_ENABLED=false if no chat is installed.',
    ];
  },
  checkConfig(config) {
    const cfg = configSection(config, installConfigSchema);
    // A configured key is checked here; the key file, when none is, is read (or made) once, in register.
    if (cfg.PAIRGATE_INSTALL_SECRET_KEY) parseSecretKey(cfg.PAIRGATE_INSTALL_SECRET_KEY, 'PAIRGATE_INSTALL_SECRET_KEY');
    // Tokens are typed: refuse to start when the live ones could be guessed within budget. Guesses
    // arrive through signed calls of one installation, bounded by its hourly budget (a fixed window,
    // so spendable twice within a token's lifetime).
    assertWithinBudget('PAIRGATE_INSTALL_MAX_LIVE_LINK_TOKENS', {
      entropyBits: LINK_TOKEN_FORMAT.entropyBits,
      liveCodes: cfg.PAIRGATE_INSTALL_MAX_LIVE_LINK_TOKENS,
      ttlSeconds: cfg.PAIRGATE_INSTALL_LINK_TOKEN_TTL_SECONDS,
      attemptsPerSecond: fixedWindowAttempts(cfg.PAIRGATE_INSTALL_LINK_MISSES_PER_INSTALLATION, 3600, cfg.PAIRGATE_INSTALL_LINK_TOKEN_TTL_SECONDS) / cfg.PAIRGATE_INSTALL_LINK_TOKEN_TTL_SECONDS,
    }, config.PAIRGATE_BRUTE_FORCE_BUDGET);
  },
  async register(app: FastifyInstance, ctx: DoorContext) {
    const cfg = configSection(ctx.config, installConfigSchema);
    const box = new SecretBox(loadSecretKey(cfg.PAIRGATE_INSTALL_SECRET_KEY, ctx.config.PAIRGATE_DATA_DIR, 'PAIRGATE_INSTALL_SECRET_KEY'));
    const orgs = new Organizations(ctx.stores.db, cfg.PAIRGATE_INSTALL_MAX_ORGANIZATIONS_PER_ACCOUNT);
    const installations = new Installations(ctx.stores.db, box);
    const organizationExists = async (orgId: string) => (await orgs.find(orgId)) !== undefined;
    const kit = new ChatKit(
      ctx,
      cfg,
      orgs,
      installations,
      new ChatLinks(ctx.stores.db),
      new LinkTokens(ctx.engine, ctx.stores.ephemeral, ctx.clock, cfg.PAIRGATE_INSTALL_LINK_TOKEN_TTL_SECONDS * 1000, cfg.PAIRGATE_INSTALL_MAX_LIVE_LINK_TOKENS, organizationExists, {
        perUser: cfg.PAIRGATE_INSTALL_MAX_LIVE_LINK_TOKENS_PER_USER,
        perNetwork: cfg.PAIRGATE_INSTALL_MAX_LIVE_LINK_TOKENS_PER_IP,
      }),
      new LinkBudget(ctx.stores.ephemeral, ctx.clock, cfg.PAIRGATE_INSTALL_LINK_MISSES_PER_HOUR, cfg.PAIRGATE_INSTALL_LINK_MISSES_PER_INSTALLATION),
    );
    // The last admin of an organization with other members keeps their account until it has another admin or is deleted.
    accountDeletionGuards(app.pairgate).add(lastAdminGuard);
    installOrganizationRoutes(app, kit);
    installInvitationRoutes(app, kit);
    installIntegrationRoutes(app, kit, allConnectors);
    installIntegrationPages(app, kit, allConnectors);
    for (const connector of allConnectors) await connector.register(app, kit);

    // Rotated installations are kept one setup TTL: the time their replacement has to be installed.
    const keepRotatedMs = cfg.PAIRGATE_INSTALL_SETUP_TTL_SECONDS * 1000;
    // Organizations with no member left (the last one's account deleted) go first, with their installations.
    ctx.everySweep('installation', async (now) => {
      const abandoned = await orgs.deleteAbandoned();
      if (abandoned.organizations > 0) ctx.logger.info(abandoned, 'organizations with no member left deleted');
      return installations.sweep(now, keepRotatedMs);
    });
    // Invitations nobody answered in time; an expired one is already refused and hidden, this frees its row.
    // Declines remembered past PAIRGATE_INSTALL_DECLINE_MEMORY_SECONDS: already ignored, this frees their rows.
    ctx.everySweep('invitation', async (now) => ({ invitations: await kit.invitations.sweep(now), declines: await kit.invitations.sweepDeclines(now) }));
  },
};
