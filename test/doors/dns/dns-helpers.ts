import { createSocket, type Socket } from 'node:dgram';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Resolver } from 'node:dns/promises';
import { request as httpsRequest } from 'node:https';
import { connect as connectTls } from 'node:tls';
import { setTimeout as sleep } from 'node:timers/promises';
import { initBoxIdentity, type BoxIdentity } from '../../../src/doors/registry/box-identity.js';
import { dnsRuntimeOf, type DnsRuntime } from '../../../src/doors/dns/dns-door.js';
import type { RecordSetter } from '../../../src/doors/dns/mirror-records.js';
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

/** How long a test socket waits for the server to close before giving up (the test then fails). */
export const GIVE_UP_MS = 6_000;

/** What the server sent on a connection, and how long after the connection was made it closed it. */
export interface UpdateApiExchange {
  received: string;
  closedAfterMs: number;
}

/** The status, lower-cased head and body of a raw answer. */
export function parsedAnswer(answer: string): { status: number; head: string; body: string } {
  const split = answer.indexOf('\r\n\r\n');
  return { status: Number(answer.slice(9, 12)), head: answer.slice(0, split).toLowerCase(), body: answer.slice(split + 4) };
}

/**
 * Opens a TLS connection to the update API as `box` (its certificate as the client certificate)
 * and, once it is up, hands the socket to `send`; resolves when the server closes the connection,
 * and rejects when it keeps it open GIVE_UP_MS.
 */
export function updateApiExchange(runtime: DnsRuntime, box: BoxIdentity, send: (write: (text: string) => void) => void): Promise<UpdateApiExchange> {
  return new Promise((resolve, reject) => {
    let received = '';
    let since = 0;
    const timers: NodeJS.Timeout[] = [];
    const socket = connectTls({ host: '127.0.0.1', port: runtime.updateApi!.port, ca: runtime.updateCertPem!, key: box.keyPem, cert: box.certPem, servername: 'localhost', checkServerIdentity: () => undefined });
    socket.setEncoding('utf8');
    socket.on('data', (chunk: string) => {
      received += chunk;
    });
    // A reset after the server's answer is still a close: what it sent is what counts.
    socket.on('error', () => undefined);
    socket.on('close', () => {
      for (const timer of timers) clearTimeout(timer);
      resolve({ received, closedAfterMs: Date.now() - since });
    });
    timers.push(setTimeout(() => {
      socket.destroy();
      reject(new Error(`the update API kept the connection open ${GIVE_UP_MS} ms; it sent: ${JSON.stringify(received)}`));
    }, GIVE_UP_MS));
    socket.once('secureConnect', () => {
      since = Date.now();
      send((text) => {
        if (!socket.destroyed) socket.write(text);
      });
    });
  });
}

/** An update client for MirrorRecords that only notes the names it is asked to set. */
export function recorder(): RecordSetter & { names: string[] } {
  const names: string[] = [];
  return {
    names,
    set: (name) => {
      names.push(name);
      return Promise.resolve({});
    },
    remove: () => Promise.resolve({ deleted: 0 }),
  };
}

/** A UDP socket bound to `address` (any of 127.0.0.0/8 on Linux loopback), to send from many sources. */
export function boundUdp(address: string): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const socket = createSocket('udp4');
    socket.once('error', reject);
    socket.bind(0, address, () => resolve(socket));
  });
}

/** Waits for the start of the next second of this process's monotonic clock, which the DNS rate limits count by. */
export const nextSecond = (): Promise<void> => sleep(1000 - (performance.now() % 1000) + 20);
