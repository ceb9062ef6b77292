import type { FastifyInstance } from 'fastify';
import { assertWithinBudget } from '../../core/brute-force.js';
import { configSection, type Config } from '../../server/config.js';
import type { Door, DoorContext } from '../door.js';
import { attackerGuessRate } from '../shared/attacker-guess-rate.js';
import { relayConfigSchema } from './config.js';
import { relayCodeFormat, SUPPORT_CODE_SCOPE } from './relay-code.js';
import { registerRelayRoutes } from './relay-routes.js';
import { allowedHostEntry, splitList } from './relay-url.js';

/** Path the relay is mounted at: `/` alone, its prefix (default `/relay`) beside other doors. */
export function relayPrefix(config: Config): string {
  const cfg = configSection(config, relayConfigSchema);
  return cfg.PAIRGATE_RELAY_ONLY ? '' : cfg.PAIRGATE_RELAY_PREFIX;
}

/** The shortest relay API key said to be long enough (about 96 bits in base64, 20 random characters). */
export const MIN_RELAY_API_KEY_LENGTH = 20;

/**
 * The relay of the support door (the seed's pc-assist.app): a public directory that maps a short
 * code to an origin's pairing URL and knows nothing else. It is its own door so it can run alone
 * (`pairgate serve --relay-only`) or beside the origin under `/relay`.
 */
export const supportRelayDoor: Door = {
  name: 'support-relay',
  codeScope: { scope: SUPPORT_CODE_SCOPE },
  configSchema: relayConfigSchema,
  enabled: (config) => configSection(config, relayConfigSchema).PAIRGATE_RELAY_ENABLED,
  homeLinks: (ctx) => [{ order: 10, href: `${relayPrefix(ctx.config)}/`, title: 'Enter a support code', text: 'Someone on the phone gave you a code: type it to see who is asking before you let them in.', translations: { fr: { title: 'Saisir un code d’assistance', text: 'Quelqu’un au téléphone vous a donné un code : saisissez-le pour voir qui demande avant de le laisser entrer.' } } }],
  checkConfig(config) {
    const cfg = configSection(config, relayConfigSchema);
    splitList(cfg.PAIRGATE_RELAY_ALLOWED_HOSTS).forEach(allowedHostEntry);
    // Six symbols of 34 are only 30.5 bits: the relay holds few live codes so the chance stays in budget.
    assertWithinBudget('PAIRGATE_RELAY_MAX_LIVE_CODES', {
      entropyBits: relayCodeFormat.entropyBits,
      liveCodes: cfg.PAIRGATE_RELAY_MAX_LIVE_CODES,
      ttlSeconds: cfg.PAIRGATE_RELAY_CODE_TTL,
      attemptsPerSecond: attackerGuessRate(config, cfg.PAIRGATE_RELAY_CODE_TTL),
    }, config.PAIRGATE_BRUTE_FORCE_BUDGET);
  },
  configWarnings(config) {
    const cfg = configSection(config, relayConfigSchema);
    // Keys are guessed at one try per 5 s per address, but from many addresses at once: one short
    // enough to list (a word, a name, a few characters) is a matter of days.
    const short = splitList(cfg.PAIRGATE_RELAY_API_KEYS).filter((key) => key.length < MIN_RELAY_API_KEY_LENGTH);
    if (short.length > 0) {
      return [`${short.length === 1 ? 'One of PAIRGATE_RELAY_API_KEYS is' : `${short.length} of PAIRGATE_RELAY_API_KEYS are`} shorter than ${MIN_RELAY_API_KEY_LENGTH} characters, short enough to be guessed from many addresses: make each a random key (openssl rand -base64 24) and give the new ones to your origins.`];
    }
    if (cfg.PAIRGATE_RELAY_ALLOWED_HOSTS.trim() || cfg.PAIRGATE_RELAY_API_KEYS.trim()) return [];
    // Anyone may publish any https URL: a code on this server's name then redirects wherever
    // they like, which is what a phishing link needs.
    // With http allowed, the internal-address check is off too (it is what lets a relay on the
    // same machine or network send people to its origin): the link may lead into their network.
    const reach = cfg.PAIRGATE_RELAY_ALLOW_HTTP
      ? 'publishes codes for any http or https URL from anyone (PAIRGATE_RELAY_ALLOW_HTTP=true), internal addresses included, so anyone can make a link on this server that redirects to a site of their choosing or into the network of whoever opens it (their router, their own machine)'
      : 'publishes codes for any https URL from anyone, so anyone can make a link on this server that redirects to a site of their choosing';
    return [
      `The support relay (${relayPrefix(config) || '/'}) ${reach}: ` +
        'set PAIRGATE_RELAY_ALLOWED_HOSTS to your origins\' hosts, or PAIRGATE_RELAY_API_KEYS and give the keys to your origins, which send one with PAIRGATE_SUPPORT_RELAY_API_KEY (or PAIRGATE_RELAY_ENABLED=false if you run no relay).',
    ];
  },
  async register(app: FastifyInstance, ctx: DoorContext) {
    const prefix = relayPrefix(ctx.config);
    await app.register(async (instance) => registerRelayRoutes(instance, ctx, prefix), { prefix });
  },
};
