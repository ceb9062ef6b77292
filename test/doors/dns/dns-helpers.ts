import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Resolver } from 'node:dns/promises';
import { initBoxIdentity, type BoxIdentity } from '../../../src/doors/registry/box-identity.js';
import { dnsRuntimeOf, type DnsRuntime } from '../../../src/doors/dns/dns-door.js';
import { DnsUpdateClient } from '../../../src/sdk/dns-update.js';
import { createTestApp, type TestApp } from '../../helpers/app.js';

/** The zone the DNS tests serve. */
export const ZONE = 'box.example.test';

/** A test app with the DNS door on free ports. */
export async function createDnsApp(env: Record<string, string> = {}): Promise<{ t: TestApp; runtime: DnsRuntime }> {
  const t = await createTestApp({ PAIRGATE_DNS_ZONE: ZONE, PAIRGATE_DNS_PORT: '0', PAIRGATE_DNS_UPDATE_PORT: '0', PAIRGATE_LOG_LEVEL: 'warn', ...env });
  const runtime = dnsRuntimeOf(t.app.pairgate);
  if (!runtime) throw new Error('the dns door did not start');
  return { t, runtime };
}

/** A new box identity in a temporary folder. */
export function newBox(name = 'box'): Promise<BoxIdentity> {
  return initBoxIdentity(join(mkdtempSync(join(tmpdir(), 'pairgate-dnsbox-')), name), { name });
}

/** An update API client for `box`, trusting the server's self-signed certificate. */
export function updateClient(runtime: DnsRuntime, box: BoxIdentity): DnsUpdateClient {
  return new DnsUpdateClient({ baseUrl: runtime.updateApi!.url, box, ca: runtime.updateCertPem! });
}

/** A stub resolver asking only our server. */
export function resolverFor(port: number): Resolver {
  const resolver = new Resolver({ timeout: 2000, tries: 1 });
  resolver.setServers([`127.0.0.1:${port}`]);
  return resolver;
}
