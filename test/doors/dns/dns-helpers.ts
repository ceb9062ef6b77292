import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Resolver } from 'node:dns/promises';
import { request as httpsRequest } from 'node:https';
import { initBoxIdentity, type BoxIdentity } from '../../../src/doors/registry/box-identity.js';
import { dnsRuntimeOf, type DnsRuntime } from '../../../src/doors/dns/dns-door.js';
import { dnsPath, DnsUpdateClient } from '../../../src/sdk/dns-update.js';
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

/** An update API answer: the status and the parsed body. */
export interface UpdateAnswer {
  status: number;
  json: any;
}

/**
 * A raw update API request as `box` for `name`, sent from `localAddress` (a loopback address such
 * as 127.0.0.7: each one a network of its own for the per-network caps and rate limit).
 */
export function updateRequest(runtime: DnsRuntime, box: BoxIdentity, method: 'GET' | 'POST' | 'DELETE', name: string, options: { body?: unknown; localAddress?: string } = {}): Promise<UpdateAnswer> {
  return new Promise((resolve, reject) => {
    const payload = options.body === undefined ? undefined : JSON.stringify(options.body);
    const req = httpsRequest(`${runtime.updateApi!.url}/v1/dns/${dnsPath(name)}`, {
      method,
      key: box.keyPem,
      cert: box.certPem,
      ca: runtime.updateCertPem,
      agent: false,
      ...(options.localAddress ? { localAddress: options.localAddress } : {}),
      headers: payload === undefined ? {} : { 'content-type': 'application/json' },
    }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (text += chunk));
      res.on('end', () => {
        let json: unknown;
        try {
          json = JSON.parse(text);
        } catch {
          json = text;
        }
        resolve({ status: res.statusCode ?? 0, json });
      });
    });
    req.on('error', reject);
    req.end(payload);
  });
}
