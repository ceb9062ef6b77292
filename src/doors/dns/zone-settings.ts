import type { Static } from 'typebox';
import type { Config } from '../../server/config.js';
import type { dnsConfigSchema } from './config.js';
import type { ZoneSettings } from './dns-answer.js';
import { inZone, normaliseName, ownerOf } from './dns-names.js';

/**
 * The SOA RNAME of PAIRGATE_DNS_HOSTMASTER: a name (`hostmaster.example.com`), or the e-mail
 * address people write there (`hostmaster@example.com`), whose `@` becomes the first dot (RFC 1035
 * 8). It went into the SOA as a label holding an `@`, which no one could write to.
 */
function mailboxName(value: string): string {
  const at = value.indexOf('@');
  return normaliseName(at < 0 ? value : `${value.slice(0, at)}.${value.slice(at + 1)}`);
}

/**
 * Zone settings from the configuration, defaults filled in. Its own module, light to load, as the
 * start-up warnings read it too (`server/config-warnings.ts`, loaded by every CLI command), which
 * must not pull in the DNS listeners and their certificates.
 */
export function zoneSettings(config: Config): ZoneSettings {
  // The DNS door's keys read as `configSection` would, without loading the configuration's module
  // (typebox/value and the schemas, some hundred files): every CLI command loads this through the
  // start-up warnings, before it can say that the open-file limit is too low to load pairgate.
  const cfg = config as unknown as Static<typeof dnsConfigSchema>;
  const zone = normaliseName(cfg.PAIRGATE_DNS_ZONE);
  const list = (value: string) => value.split(',').map((s) => normaliseName(s.trim())).filter(Boolean);
  const nameServers = list(cfg.PAIRGATE_DNS_NS);
  return {
    zone,
    nameServers: nameServers.length ? nameServers : [`ns1.${zone}`],
    nameServerAddresses: cfg.PAIRGATE_DNS_NS_ADDRESSES.split(',').map((s) => s.trim()).filter(Boolean),
    hostmaster: mailboxName(cfg.PAIRGATE_DNS_HOSTMASTER) || `hostmaster.${zone}`,
    ttl: cfg.PAIRGATE_DNS_TTL,
    negativeTtl: cfg.PAIRGATE_DNS_NEGATIVE_TTL,
  };
}

/**
 * The zone's name servers this server alone can give an address for, and has none for: inside the
 * zone (the apex included), not under a box's `<fp>.<zone>` (a box may set those names' records),
 * with PAIRGATE_DNS_NS_ADDRESSES empty. Such a name is NXDOMAIN here while the zone's NS records
 * name it, so resolvers cannot follow the delegation.
 */
export function nameServersWithoutAddresses(settings: ZoneSettings): string[] {
  if (settings.nameServerAddresses.length > 0) return [];
  return settings.nameServers.filter((ns) => inZone(ns, settings.zone) && ownerOf(ns, settings.zone) === undefined);
}
