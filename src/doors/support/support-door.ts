import type { FastifyInstance } from 'fastify';
import { assertWithinBudget, maxLiveCodes } from '../../core/brute-force.js';
import { ConfigError } from '../../core/errors.js';
import { configSection, type Config } from '../../server/config.js';
import { isLoopbackHost } from '../../server/config-warnings.js';
import { countWords } from '../../web/duration-words.js';
import type { Door, DoorContext } from '../door.js';
import { relayConfigSchema, supportConfigSchema } from './config.js';
import { registerSessionRoutes, isHttpUrl, isHttpsUrl } from './origin-session-routes.js';
import { registerPairingRoutes } from './pairing-routes.js';
import { acceptMultipartFields } from './multipart-fields.js';
import { relayCodeFormat, SUPPORT_CODE_SCOPE } from './relay-code.js';
import { relayPrefix } from './relay-door.js';
import { maxSessions, originGuessRate, publishesOnOwnRelay } from './code-budget.js';
import { SessionHub } from './session-channel.js';
import type { IdLockTimings } from './session-id-lock.js';
import { SessionMemories } from './session-memory.js';
import { SupporterPasswords, supporterPasswordGate } from './supporter-passwords.js';
import { plexusErrorShape } from './wire-errors.js';

/** A budget's window as a log line says it, exactly: '15 minutes', '90 seconds' (never '1.5 minutes'). */
function windowWords(seconds: number): string {
  return countWords(seconds % 60 === 0 ? { count: seconds / 60, unit: 'minute' } : { count: seconds, unit: 'second' }, 'en');
}

/** Whether an absolute URL carries a user or password. */
function hasCredentials(value: string): boolean {
  const url = new URL(value);
  return url.username !== '' || url.password !== '';
}

/** Whether the origin serves: `on`, or `auto` with supporter credentials configured; never relay-only. */
export function originEnabled(config: Config): boolean {
  if (configSection(config, relayConfigSchema).PAIRGATE_RELAY_ONLY) return false;
  const cfg = configSection(config, supportConfigSchema);
  if (cfg.PAIRGATE_SUPPORT_ORIGIN === 'off') return false;
  if (cfg.PAIRGATE_SUPPORT_ORIGIN === 'on') return true;
  return cfg.PLEXUS_AUTH_USER !== '' && cfg.PLEXUS_AUTH_PASS !== '';
}

/**
 * The origin's API paths: what no route answers under them (a method a route does not take, an
 * unknown path, a bad %-escape, a path parameter too long) is said in the Plexus shape, as its
 * routes' refusals are. `/support` (the person's session pages) is left out: a broken link there
 * is followed in a browser, which is better served by the error page than by JSON. A relay mounted
 * at one of these paths (PAIRGATE_RELAY_PREFIX=/pairing) has its pages there: that one is left
 * unclaimed (the relay claims its own `<prefix>/pairing`).
 */
export function originPathPrefixes(config: Config): { pathPrefixes: string[]; linkPrefixes: string[] } {
  const relay = configSection(config, relayConfigSchema);
  const relayAt = relay.PAIRGATE_RELAY_ENABLED ? relayPrefix(config) : undefined;
  const unclaimed = (prefix: string) => prefix !== relayAt;
  // `/pairing/<code>` is also the link the relay sends a person's browser to: a browser gets the page.
  return { pathPrefixes: ['/session', '/config', '/agent'].filter(unclaimed), linkPrefixes: ['/pairing'].filter(unclaimed) };
}

/** Shortest support admin password that draws no warning on a server others reach. */
const MIN_ADMIN_PASSWORD = 16;

/**
 * The support door's origin (the seed's Plexus server): a supporter creates a session and gets a
 * short code from the relay to read out on the phone; the person's agent (or browser) looks the
 * code up here, sees who asks, confirms, and holds the session channel with the supporter.
 */
export const supportDoor: Door = {
  name: 'support',
  codeScope: { scope: SUPPORT_CODE_SCOPE },
  configSchema: supportConfigSchema,
  enabled: originEnabled,
  configWarnings(config) {
    const cfg = configSection(config, supportConfigSchema);
    const warnings = relayKeyInClearWarnings(cfg.PLEXUS_PAIRING_URL, cfg.PAIRGATE_SUPPORT_RELAY_API_KEY);
    // The admin's wrong passwords are budgeted per address (PAIRGATE_SUPPORT_AUTH_FAILURES_PER_IP),
    // which someone with many addresses multiplies; the seed's example, "1234", falls at once.
    if (cfg.PLEXUS_AUTH_PASS.length >= MIN_ADMIN_PASSWORD) return warnings;
    return [`PLEXUS_AUTH_PASS has ${cfg.PLEXUS_AUTH_PASS.length} characters: anyone reaching this server may try passwords for the support admin (${cfg.PAIRGATE_SUPPORT_AUTH_FAILURES_PER_IP} every ${windowWords(cfg.PAIRGATE_SUPPORT_AUTH_WINDOW_SECONDS)} from each address). Set a random one of ${MIN_ADMIN_PASSWORD} characters or more (e.g. openssl rand -base64 24).`, ...warnings];
  },
  checkConfig(config) {
    const cfg = configSection(config, supportConfigSchema);
    if (!cfg.PLEXUS_AUTH_USER || !cfg.PLEXUS_AUTH_PASS) {
      throw new ConfigError('PLEXUS_AUTH_USER', 'PLEXUS_AUTH_USER and PLEXUS_AUTH_PASS are required when the support origin is on');
    }
    if (cfg.PLEXUS_PAIRING_URL && !isHttpUrl(cfg.PLEXUS_PAIRING_URL)) {
      throw new ConfigError('PLEXUS_PAIRING_URL', `expected an absolute http(s) URL, got ${JSON.stringify(cfg.PLEXUS_PAIRING_URL)}`);
    }
    if (cfg.PLEXUS_PAIRING_URL && hasCredentials(cfg.PLEXUS_PAIRING_URL)) {
      // fetch refuses such a URL: every session would fail with the relay "unreachable".
      throw new ConfigError('PLEXUS_PAIRING_URL', 'must not carry a user or password (user:password@): for a relay that takes API keys, set PAIRGATE_SUPPORT_RELAY_API_KEY');
    }
    if (cfg.PLEXUS_COMPANY_LOGO && !isHttpsUrl(cfg.PLEXUS_COMPANY_LOGO)) {
      throw new ConfigError('PLEXUS_COMPANY_LOGO', `expected an absolute https URL (pages load pictures over https only), got ${JSON.stringify(cfg.PLEXUS_COMPANY_LOGO)}`);
    }
    if (cfg.PAIRGATE_SUPPORT_DEFAULT_TTL > cfg.PAIRGATE_SUPPORT_MAX_TTL) {
      throw new ConfigError('PAIRGATE_SUPPORT_DEFAULT_TTL', `must not exceed PAIRGATE_SUPPORT_MAX_TTL (${cfg.PAIRGATE_SUPPORT_MAX_TTL})`);
    }
    // The origin's codes are the relay's (30.5 bits): one live per session, for PLEXUS_PAIRING_TTL,
    // guessed at the origin and, on a relay that is another server, there too (originGuessRate).
    if (cfg.PLEXUS_PAIRING_URL) {
      const scenario = { entropyBits: relayCodeFormat.entropyBits, ttlSeconds: cfg.PLEXUS_PAIRING_TTL, attemptsPerSecond: originGuessRate(config) };
      try {
        assertWithinBudget('PAIRGATE_SUPPORT_MAX_SESSIONS', { ...scenario, liveCodes: maxSessions(config) }, config.PAIRGATE_BRUTE_FORCE_BUDGET);
      } catch (error) {
        if (!(error instanceof ConfigError)) throw error;
        // What to set, and why this set-up allows fewer than another: a configuration written for
        // an earlier version (100 sessions) on a relay of another server is refused since that
        // relay's guesses are counted too, and "use longer codes" alone did not say so.
        const fits = maxLiveCodes(scenario, config.PAIRGATE_BRUTE_FORCE_BUDGET);
        const why = publishesOnOwnRelay(config) ? '' : ' PLEXUS_PAIRING_URL is a relay on another server (not this server\'s own relay at PAIRGATE_PUBLIC_URL), whose wrong-code budget an attacker spends too, so the guesses of both count.';
        throw new ConfigError('PAIRGATE_SUPPORT_MAX_SESSIONS', `${error.message.slice('PAIRGATE_SUPPORT_MAX_SESSIONS: '.length)}${why}${fits >= 1 ? ` At most ${fits} sessions fit this budget: set PAIRGATE_SUPPORT_MAX_SESSIONS=${fits} or less (or leave it unset).` : ''}`);
      }
    }
  },
  register: (app, ctx) => registerOrigin(app, ctx, {}),
};

/**
 * A warning when the relay's API key would travel in clear: PAIRGATE_SUPPORT_RELAY_API_KEY is sent
 * with every session published (`Authorization: Bearer`), and a plain http:// PLEXUS_PAIRING_URL
 * to another machine hands it to anyone on the way, who may then publish codes on the relay as this
 * server (a relay's keys also lift its per-address limits). A relay on this machine (loopback) is
 * no such way; no key, nothing to copy.
 */
function relayKeyInClearWarnings(pairingUrl: string, apiKey: string): string[] {
  if (!apiKey || !URL.canParse(pairingUrl)) return [];
  const url = new URL(pairingUrl);
  if (url.protocol !== 'http:' || isLoopbackHost(url.hostname.replace(/^\[|\]$/g, ''))) return [];
  return [`PLEXUS_PAIRING_URL is plain http to another machine (${url.origin}): PAIRGATE_SUPPORT_RELAY_API_KEY, sent to the relay with every session, travels in clear, and whoever copies it on the way can publish codes on the relay as this server. Set PLEXUS_PAIRING_URL to the relay's https:// address (or run the relay on this machine), and change the key if it has already been sent this way.`];
}

/** What tests may set on the support door that no setting does (a test waits seconds, not a minute). */
export interface SupportDoorOptions {
  /** How long a history may take to leave the server (see HubOptions). */
  historyDeadlineMs?: number;
  /** How long the session channel's hold of a session id lasts, and its end waits for another's (see HubOptions). */
  idLock?: IdLockTimings;
}

/** The support door with `options` (for tests). */
export function supportDoorWith(options: SupportDoorOptions): Door {
  return { ...supportDoor, register: (app, ctx) => registerOrigin(app, ctx, options) };
}

/** Registers the origin's routes and its session channel. */
async function registerOrigin(app: FastifyInstance, ctx: DoorContext, options: SupportDoorOptions): Promise<void> {
  const cfg = configSection(ctx.config, supportConfigSchema);
  ctx.useErrorShape(app, plexusErrorShape, originPathPrefixes(ctx.config));
  // The seed's curl sends multipart fields (-F); files are refused, fields become the body.
  await acceptMultipartFields(app);
  const memories = new SessionMemories(ctx.stores.ephemeral, ctx.clock);
  const perSecond = cfg.PAIRGATE_SUPPORT_CHANNEL_MESSAGES_PER_SECOND;
  const hub = new SessionHub(ctx, cfg.PAIRGATE_SUPPORT_HELLO_SECONDS * 1000, memories, { perSecond, burst: perSecond * 5 }, cfg.PAIRGATE_SUPPORT_PRESENCE_SECONDS * 1000, cfg.PAIRGATE_SUPPORT_PING_SECONDS * 1000, {
    maxSupporters: cfg.PAIRGATE_SUPPORT_MAX_SUPPORTERS,
    ...(options.historyDeadlineMs !== undefined ? { historyDeadlineMs: options.historyDeadlineMs } : {}),
    ...(options.idLock ? { idLock: options.idLock } : {}),
  });
  // The node's password gate, this server's (its accounts door's): passed, never looked up per process.
  await registerSessionRoutes(app, ctx, hub, memories, new SupporterPasswords(supporterPasswordGate(app, ctx)));
  await registerPairingRoutes(app, ctx);
}
