import type { FastifyInstance } from 'fastify';
import { configSection } from '../../server/config.js';
import type { Door, DoorContext } from '../door.js';
import { zoneNameResolves } from '../dns/dns-records.js';
import { Announcements } from './announcements.js';
import { boxesPage } from './boxes-page.js';
import { announceAudiences, registryConfigSchema } from './config.js';
import { pingRoute } from './ping-route.js';
import { registerRoute } from './register-route.js';
import { registryErrorShape } from './registry-errors.js';

/**
 * The box registry (Mozilla Project Link's registration server, authenticated): boxes announce their
 * URLs signed with their key; browsers ask which boxes share their public IP.
 */
export const registryDoor: Door = {
  name: 'registry',
  configSchema: registryConfigSchema,
  enabled: (config) => configSection(config, registryConfigSchema).PAIRGATE_REGISTRY_ENABLED,
  homeLinks: () => [{ order: 50, href: '/boxes', title: 'Boxes on your network', text: 'Home boxes that announced themselves from your network.', translations: { fr: { title: 'Boîtiers sur votre réseau', text: 'Les boîtiers domestiques qui se sont annoncés depuis votre réseau.' } } }],
  checkConfig(config) {
    announceAudiences(config.PAIRGATE_PUBLIC_URL, configSection(config, registryConfigSchema).PAIRGATE_REGISTRY_ORIGINS);
  },
  async register(app: FastifyInstance, ctx: DoorContext) {
    const cfg = configSection(ctx.config, registryConfigSchema);
    ctx.useErrorShape(app, registryErrorShape);
    const announcements = new Announcements(ctx.stores.ephemeral, cfg.PAIRGATE_REGISTRY_TTL_SECONDS * 1000);
    const dnsZone = typeof ctx.config.PAIRGATE_DNS_ZONE === 'string' ? ctx.config.PAIRGATE_DNS_ZONE : '';
    registerRoute(app, ctx, {
      announcements,
      perMinute: cfg.PAIRGATE_REGISTRY_REGISTER_PER_MINUTE,
      maxPerIp: cfg.PAIRGATE_REGISTRY_MAX_PER_IP,
      maxPerIpv6Block: cfg.PAIRGATE_REGISTRY_MAX_PER_IPV6_48,
      perMinutePerIpv6Block: cfg.PAIRGATE_REGISTRY_REGISTER_PER_MINUTE_PER_IPV6_48,
      maxSkewSeconds: cfg.PAIRGATE_REGISTRY_MAX_CLOCK_SKEW_SECONDS,
      allowLegacy: cfg.PAIRGATE_REGISTRY_LEGACY_FINGERPRINT,
      privateMode: cfg.PAIRGATE_REGISTRY_PRIVATE,
      dnsZone,
      // The DNS door runs exactly when a zone is set, and its records are what makes the name resolve.
      ...(dnsZone ? { nameResolves: zoneNameResolves(ctx.stores.db) } : {}),
      audiences: announceAudiences(ctx.config.PAIRGATE_PUBLIC_URL, cfg.PAIRGATE_REGISTRY_ORIGINS),
    });
    pingRoute(app, ctx, announcements, cfg.PAIRGATE_REGISTRY_PING_PER_MINUTE);
    boxesPage(app, ctx, announcements, cfg.PAIRGATE_REGISTRY_TTL_SECONDS, cfg.PAIRGATE_REGISTRY_PING_PER_MINUTE);
  },
};
