import { isIP } from 'node:net';
import type { Door } from '../doors/door.js';
import type { Config } from './config.js';

/** Whether `host` is reachable from this machine only. */
export function isLoopbackHost(host: string): boolean {
  if (host === 'localhost') return true;
  if (isIP(host) === 4) return host.startsWith('127.');
  return host === '::1';
}

/**
 * Settings that are allowed but risky once the server is reachable from other machines, each said
 * once at start-up (a warning in the log, with what to set): pairgate starts anyway, as these are
 * fine behind a proxy that guards them. Doors add theirs (`Door.configWarnings`).
 */
export function configWarnings(config: Config, doors: readonly Door[]): string[] {
  if (isLoopbackHost(config.PAIRGATE_HOST)) return [];
  const warnings: string[] = [];
  if (config.PAIRGATE_METRICS && !config.PAIRGATE_METRICS_TOKEN) {
    warnings.push(`/metrics is open to anyone reaching ${config.PAIRGATE_HOST}: set PAIRGATE_METRICS_TOKEN, or PAIRGATE_METRICS=false.`);
  }
  if (!config.PAIRGATE_PUBLIC_URL) {
    warnings.push('PAIRGATE_PUBLIC_URL is not set: links, QR codes and cookies use the listening address; set the https URL clients reach.');
  } else if (config.PAIRGATE_PUBLIC_URL.startsWith('http:')) {
    warnings.push(`PAIRGATE_PUBLIC_URL is http (${config.PAIRGATE_PUBLIC_URL}): sign-in cookies are not marked Secure and codes travel in clear; serve it over https.`);
  }
  for (const door of doors) {
    if (door.enabled && !door.enabled(config)) continue;
    warnings.push(...(door.configWarnings?.(config) ?? []));
  }
  return warnings;
}
