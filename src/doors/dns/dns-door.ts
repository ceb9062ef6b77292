import { X509Certificate } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { isIP } from 'node:net';
import { hostname } from 'node:os';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import { ConfigError } from '../../core/errors.js';
import { configSection, type Config } from '../../server/config.js';
import { replaceFilesDurably } from '../../server/durable-file.js';
import { explainListenError } from '../../server/listen-errors.js';
import { createSelfSigned } from '../registry/self-signed.js';
import type { Door, DoorContext } from '../door.js';
import { dnsConfigSchema } from './config.js';
import { readConfiguredTls } from './configured-tls.js';
import { DnsResponder } from './dns-answer.js';
import { ACME_CHALLENGE_LIFETIME_MS, dnsMigrations, DnsRecords, zoneNameResolves } from './dns-records.js';
import { isValidName, normaliseName } from './dns-names.js';
import { zoneSettings } from './zone-settings.js';
import { startDnsServer, type RunningDnsServer } from './dns-server.js';
import { clientCertificateIds, startUpdateApi, type RunningUpdateApi } from './update-api.js';
import { Announcements } from '../registry/announcements.js';
import { registryConfigSchema } from '../registry/config.js';
import { registerMtlsRoute } from '../registry/register-route.js';

/** The listeners the DNS door started, for tests and diagnostics. */
export interface DnsRuntime {
  dns: RunningDnsServer;
  updateApi: RunningUpdateApi | undefined;
  /** PEM certificate the update API presents (what boxes pin or trust). */
  updateCertPem: string | undefined;
  records: DnsRecords;
}

/** Keyed by the app's shared services object (the same in every encapsulated plugin). */
const runtimes = new WeakMap<object, DnsRuntime>();

/** The DNS listeners of a built app (`app.pairgate`), when the door runs. */
export function dnsRuntimeOf(services: object): DnsRuntime | undefined {
  return runtimes.get(services);
}

/** Zone settings from the configuration (zone-settings.ts, which the start-up warnings read too). */
export { zoneSettings };

/** The registry's mutual-TLS `POST /register` on the update listener, when the registry door is on. */
function mtlsRegistry(instance: FastifyInstance, ctx: DoorContext): void {
  const reg = configSection(ctx.config, registryConfigSchema);
  if (!reg.PAIRGATE_REGISTRY_ENABLED) return;
  registerMtlsRoute(instance, {
    announcements: new Announcements(ctx.stores.ephemeral, reg.PAIRGATE_REGISTRY_TTL_SECONDS * 1000),
    perMinute: reg.PAIRGATE_REGISTRY_REGISTER_PER_MINUTE,
    maxPerIp: reg.PAIRGATE_REGISTRY_MAX_PER_IP,
    maxPerIpv6Block: reg.PAIRGATE_REGISTRY_MAX_PER_IPV6_48,
    allowLegacy: reg.PAIRGATE_REGISTRY_LEGACY_FINGERPRINT,
    privateMode: reg.PAIRGATE_REGISTRY_PRIVATE,
    dnsZone: configSection(ctx.config, dnsConfigSchema).PAIRGATE_DNS_ZONE,
    nameResolves: zoneNameResolves(ctx.stores.db),
    clock: ctx.clock,
    certificateOf: clientCertificateIds,
  });
}

/** A listener that cannot bind, told in the server's words (explainListenError), naming the keys to change. */
function listenError(key: 'PAIRGATE_DNS_PORT' | 'PAIRGATE_DNS_UPDATE_PORT', host: string, port: number, error: unknown): unknown {
  const purpose = key === 'PAIRGATE_DNS_PORT' ? 'DNS (UDP and TCP)' : 'the DNS update API';
  return explainListenError(error, { host, port, purpose, portSetting: key, hostSetting: key.replace(/_PORT$/, '_HOST') });
}

/** The host of PAIRGATE_PUBLIC_URL (without IPv6 brackets), or undefined when it is not set. */
function publicHost(config: Config): string | undefined {
  if (!config.PAIRGATE_PUBLIC_URL) return undefined;
  return new URL(config.PAIRGATE_PUBLIC_URL).hostname.replace(/^\[(.*)\]$/, '$1');
}

/**
 * The update API's TLS key and certificate: configured files, or a self-signed pair kept in the data
 * folder. Boxes reach the update API by the server's name (`--update-api https://pair.example.com:8443`),
 * and TLS checks that name against the certificate even when the certificate is the trusted CA
 * itself (`--update-ca`), so the self-signed one names the public URL's host and this machine's
 * host name besides the loopback names; without them every box off this machine was refused
 * (ERR_TLS_CERT_ALTNAME_INVALID). A pair made before is kept (boxes trust it); when it does not
 * name the public host, `warnings` says so and what to do.
 */
async function updateTls(config: Config, warnings: string[]): Promise<{ key: string; cert: string }> {
  const cfg = configSection(config, dnsConfigSchema);
  if (cfg.PAIRGATE_DNS_UPDATE_TLS_CERT || cfg.PAIRGATE_DNS_UPDATE_TLS_KEY) {
    return readConfiguredTls(cfg.PAIRGATE_DNS_UPDATE_TLS_CERT, cfg.PAIRGATE_DNS_UPDATE_TLS_KEY);
  }
  const dir = join(config.PAIRGATE_DATA_DIR, 'dns-update-tls');
  const keyFile = join(dir, 'key.pem');
  const certFile = join(dir, 'cert.pem');
  const host = publicHost(config);
  if (!existsSync(keyFile) || !existsSync(certFile)) {
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    const zone = normaliseName(cfg.PAIRGATE_DNS_ZONE);
    const names = ['localhost', '127.0.0.1', '::1', cfg.PAIRGATE_DNS_UPDATE_HOST, host, hostname(), zone];
    const made = await createSelfSigned({ commonName: `pairgate dns update ${zone}`, altNames: names.filter((n, i, all): n is string => Boolean(n) && n !== '0.0.0.0' && n !== '::' && all.indexOf(n) === i) });
    // Both written whole and flushed before either is renamed into place, the key first: a crash
    // or a power loss leaves no half file, and between the renames a key without a certificate,
    // which the next start makes again (either file missing above).
    replaceFilesDurably([{ path: keyFile, data: made.keyPem, mode: 0o600 }, { path: certFile, data: made.certPem, mode: 0o644 }]);
  }
  const cert = readFileSync(certFile, 'utf8');
  const named = (certificate: X509Certificate, name: string): boolean => (isIP(name) ? certificate.checkIP(name) : certificate.checkHost(name)) !== undefined;
  if (host && !named(new X509Certificate(cert), host)) {
    warnings.push(`The update API's self-signed certificate ${certFile} does not name ${host} (the host of PAIRGATE_PUBLIC_URL), so boxes reaching https://${host}:${cfg.PAIRGATE_DNS_UPDATE_PORT} are refused by TLS: delete ${dir} and restart to make one that does, then give boxes the new cert.pem as --update-ca.`);
  }
  return { key: readFileSync(keyFile, 'utf8'), cert };
}

/**
 * The DNS door: an authoritative DNS server for PAIRGATE_DNS_ZONE (UDP and TCP) and the update API
 * (HTTPS with client certificates) through which each box manages `<fingerprint>.<zone>`. Both are
 * extra listeners that start with the app and stop when it closes.
 */
export const dnsDoor: Door = {
  name: 'dns',
  configSchema: dnsConfigSchema,
  migrations: dnsMigrations,
  enabled: (config) => configSection(config, dnsConfigSchema).PAIRGATE_DNS_ZONE !== '',
  descriptorsAtMost(config) {
    const cfg = configSection(config, dnsConfigSchema);
    return cfg.PAIRGATE_DNS_MAX_TCP_CONNECTIONS + (cfg.PAIRGATE_DNS_UPDATE_PORT >= 0 ? cfg.PAIRGATE_DNS_UPDATE_MAX_CONNECTIONS : 0);
  },
  checkConfig(config) {
    const cfg = configSection(config, dnsConfigSchema);
    const settings = zoneSettings(config);
    if (!isValidName(settings.zone)) throw new ConfigError('PAIRGATE_DNS_ZONE', `expected a DNS name, got ${JSON.stringify(cfg.PAIRGATE_DNS_ZONE)}`);
    for (const ns of settings.nameServers) if (!isValidName(ns)) throw new ConfigError('PAIRGATE_DNS_NS', `not a DNS name: ${JSON.stringify(ns)}`);
    // A dot in the part before the @ would need escaping in the SOA, which few tools read right.
    const mailbox = cfg.PAIRGATE_DNS_HOSTMASTER.trim();
    if (mailbox && (!isValidName(settings.hostmaster) || (mailbox.includes('@') && /[.@]/.test(mailbox.slice(0, mailbox.indexOf('@')))) || mailbox.split('@').length > 2)) {
      throw new ConfigError('PAIRGATE_DNS_HOSTMASTER', `expected the zone's contact as an e-mail address without a dot before the @ (hostmaster@example.com) or as a name (hostmaster.example.com); ${JSON.stringify(mailbox)} is neither`);
    }
    // Glue answered for the zone's own name servers: a typo here would send resolvers nowhere.
    for (const address of settings.nameServerAddresses) {
      if (!isIP(address)) throw new ConfigError('PAIRGATE_DNS_NS_ADDRESSES', `expected comma-separated IPv4 or IPv6 addresses, such as 192.0.2.53,2001:db8::53; ${JSON.stringify(address)} is not one`);
    }
    if (Boolean(cfg.PAIRGATE_DNS_UPDATE_TLS_CERT) !== Boolean(cfg.PAIRGATE_DNS_UPDATE_TLS_KEY)) {
      throw new ConfigError('PAIRGATE_DNS_UPDATE_TLS_KEY', 'set both PAIRGATE_DNS_UPDATE_TLS_CERT and PAIRGATE_DNS_UPDATE_TLS_KEY, or neither');
    }
  },
  async register(app: FastifyInstance, ctx: DoorContext) {
    dnsDoor.checkConfig!(ctx.config);
    const cfg = configSection(ctx.config, dnsConfigSchema);
    const settings = zoneSettings(ctx.config);
    const records = new DnsRecords(ctx.stores.db);
    const logger = ctx.logger.child({ door: 'dns' });
    const responder = new DnsResponder(records, settings, (error) => logger.warn({ err: error }, 'dns query answered SERVFAIL'));
    const dns = await startDnsServer({
      host: cfg.PAIRGATE_DNS_HOST,
      port: cfg.PAIRGATE_DNS_PORT,
      handler: (query, transport) => responder.respond(query, transport),
      logger,
      tcpIdleMs: cfg.PAIRGATE_DNS_TCP_IDLE_SECONDS * 1000,
      maxTcpConnections: cfg.PAIRGATE_DNS_MAX_TCP_CONNECTIONS,
      udpPerSecond: cfg.PAIRGATE_DNS_UDP_PER_SECOND,
      udpPerBlockPerSecond: cfg.PAIRGATE_DNS_UDP_PER_BLOCK_PER_SECOND,
      tcpPerSecond: cfg.PAIRGATE_DNS_TCP_PER_SECOND,
      udpLargeAnswerBytes: cfg.PAIRGATE_DNS_UDP_LARGE_ANSWER_BYTES,
      udpLargePerSecond: cfg.PAIRGATE_DNS_UDP_LARGE_PER_SECOND,
      countRefused: app.pairgate.metrics.countRefused('dns_tcp'),
    }).catch((error: unknown) => {
      throw listenError('PAIRGATE_DNS_PORT', cfg.PAIRGATE_DNS_HOST, cfg.PAIRGATE_DNS_PORT, error);
    });
    let updateApi: RunningUpdateApi | undefined;
    let updateCertPem: string | undefined;
    try {
      if (cfg.PAIRGATE_DNS_UPDATE_PORT >= 0) {
        const warnings: string[] = [];
        const tls = await updateTls(ctx.config, warnings);
        for (const warning of warnings) logger.warn(warning);
        updateCertPem = tls.cert;
        updateApi = await startUpdateApi({
          host: cfg.PAIRGATE_DNS_UPDATE_HOST,
          port: cfg.PAIRGATE_DNS_UPDATE_PORT,
          tls,
          zone: settings.zone,
          records,
          clock: ctx.clock,
          logger,
          stores: ctx.stores,
          perMinute: cfg.PAIRGATE_DNS_UPDATES_PER_MINUTE,
          maxRecordsPerBox: cfg.PAIRGATE_DNS_MAX_RECORDS_PER_BOX,
          maxRecordsPerNetwork: cfg.PAIRGATE_DNS_MAX_RECORDS_PER_IP,
          recordLifetimeDays: cfg.PAIRGATE_DNS_RECORD_LIFETIME_DAYS,
          defaultTtl: cfg.PAIRGATE_DNS_TTL,
          minTtl: cfg.PAIRGATE_DNS_MIN_TTL,
          requestTimeoutSeconds: ctx.config.PAIRGATE_REQUEST_TIMEOUT_SECONDS,
          maxConnections: cfg.PAIRGATE_DNS_UPDATE_MAX_CONNECTIONS,
          countRefused: app.pairgate.metrics.countRefused('dns_update'),
          extraRoutes: (instance) => mtlsRegistry(instance, ctx),
        }).catch((error: unknown) => {
          throw listenError('PAIRGATE_DNS_UPDATE_PORT', cfg.PAIRGATE_DNS_UPDATE_HOST, cfg.PAIRGATE_DNS_UPDATE_PORT, error);
        });
      }
    } catch (error) {
      await dns.close();
      throw error;
    }
    logger.info({ zone: settings.zone, host: dns.host, port: dns.port, updateApi: updateApi?.url ?? null }, 'dns server listening');
    runtimes.set(app.pairgate, { dns, updateApi, updateCertPem, records });
    // Its own timer rather than ctx.everySweep: it also sweeps at start-up, every
    // PAIRGATE_SWEEP_SECONDS without the doors' one-minute floor (test/doors/dns/acme-challenge-sweep.test.ts
    // and record-expiry.test.ts wait on a one-second sweep), and logs through the door's child logger.
    const lifetimeMs = cfg.PAIRGATE_DNS_RECORD_LIFETIME_DAYS * 86_400_000;
    const sweepChallenges = (): void => {
      const now = ctx.clock.now();
      records.removeStaleChallenges(now - ACME_CHALLENGE_LIFETIME_MS, now).catch((error: unknown) => logger.warn({ err: error }, 'dns: sweeping old ACME challenges failed'));
      if (lifetimeMs > 0) {
        records.removeUnrefreshed(now - lifetimeMs, now).then(
          (count) => count > 0 && logger.info({ count, days: cfg.PAIRGATE_DNS_RECORD_LIFETIME_DAYS }, 'dns: removed records not written again for PAIRGATE_DNS_RECORD_LIFETIME_DAYS'),
          (error: unknown) => logger.warn({ err: error }, 'dns: sweeping expired records failed'),
        );
      }
    };
    sweepChallenges();
    const sweeper = setInterval(sweepChallenges, ctx.config.PAIRGATE_SWEEP_SECONDS * 1000);
    sweeper.unref();
    app.addHook('onClose', async () => {
      clearInterval(sweeper);
      runtimes.delete(app.pairgate);
      await Promise.all([dns.close(), updateApi?.close()]);
    });
  },
};
