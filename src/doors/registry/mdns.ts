import { networkInterfaces } from 'node:os';
import type { Answer } from 'dns-packet';
import multicastDns from 'multicast-dns';

/** The DNS-SD service type boxes advertise. */
export const PAIRGATE_SERVICE = '_pairgate._tcp.local';

/** Where mDNS traffic goes; tests keep it on loopback and an unprivileged port. */
export interface MdnsOptions {
  /** UDP port (default 5353). */
  port?: number;
  /** Address of the interface to send and join on (default: the system's choice). */
  interface?: string;
}

/** A box advertised on the local network. */
export interface AdvertisedBox {
  fingerprint: string;
  /** HTTPS port of the box. */
  port: number;
  /** A name people recognise. */
  name: string;
  /** Addresses to advertise (default: this machine's non-internal IPv4 addresses, else 127.0.0.1). */
  addresses?: string[];
}

/** A box found by mDNS. The fingerprint is only a claim until a TLS connection proves it. */
export interface DiscoveredBox {
  instance: string;
  fingerprint: string;
  name: string;
  host: string;
  port: number;
  addresses: string[];
}

function socketOptions(options: MdnsOptions): multicastDns.Options {
  return {
    port: options.port ?? 5353,
    ...(options.interface ? { interface: options.interface, bind: '0.0.0.0' } : {}),
    ip: '224.0.0.251',
    multicast: true,
    loopback: true,
    reuseAddr: true,
  };
}

function defaultAddresses(): string[] {
  const found = Object.values(networkInterfaces()).flatMap((list) => (list ?? []).filter((a) => a.family === 'IPv4' && !a.internal).map((a) => a.address));
  return found.length ? found : ['127.0.0.1'];
}

/**
 * Advertises a box as `_pairgate._tcp` (DNS-SD over multicast DNS): answers PTR questions for the
 * service with PTR, SRV, TXT (`fp=<fingerprint>`, `name=`) and A records, and announces itself once
 * at start. Returns a stop function. This is the serverless way to find a box (no registry).
 */
export function advertiseBox(box: AdvertisedBox, options: MdnsOptions = {}): { stop(): Promise<void> } {
  const mdns = multicastDns(socketOptions(options));
  const instance = `pairgate-${box.fingerprint.slice(0, 16)}.${PAIRGATE_SERVICE}`;
  const host = `pairgate-${box.fingerprint.slice(0, 16)}.local`;
  const addresses = box.addresses ?? defaultAddresses();
  const records = (): Answer[] => [
    { name: PAIRGATE_SERVICE, type: 'PTR', ttl: 120, data: instance },
    { name: instance, type: 'SRV', ttl: 120, data: { port: box.port, target: host, priority: 0, weight: 0 } },
    { name: instance, type: 'TXT', ttl: 120, data: [`fp=${box.fingerprint}`, `name=${box.name.slice(0, 100)}`] },
    ...addresses.map((address) => ({ name: host, type: 'A', ttl: 120, data: address }) as Answer),
  ];
  mdns.on('query', (query) => {
    const asked = (query.questions ?? []).some((q) => q.name.toLowerCase() === PAIRGATE_SERVICE && (q.type === 'PTR' || (q.type as string) === 'ANY'));
    if (asked) mdns.respond({ answers: records() });
  });
  mdns.on('error', () => undefined);
  mdns.on('ready', () => mdns.respond({ answers: records() }));
  return {
    stop: () => new Promise<void>((resolve) => mdns.destroy(() => resolve())),
  };
}

function txtFields(data: unknown): Record<string, string> {
  const fields: Record<string, string> = {};
  const items = Array.isArray(data) ? data : [data];
  for (const item of items) {
    const text = Buffer.isBuffer(item) ? item.toString('utf8') : String(item);
    const eq = text.indexOf('=');
    if (eq > 0) fields[text.slice(0, eq)] = text.slice(eq + 1);
  }
  return fields;
}

/**
 * Asks the local network for `_pairgate._tcp` boxes and collects answers for `timeoutMs` (asking
 * again every second). Only boxes with a well-formed fingerprint, port and address are returned.
 * An aborted `signal` ends it at once: the multicast socket closed, the promise rejected with the
 * signal's reason.
 */
export function discoverBoxes(timeoutMs = 2000, options: MdnsOptions & { signal?: AbortSignal } = {}): Promise<DiscoveredBox[]> {
  const { signal } = options;
  if (signal?.aborted) return Promise.reject(signal.reason);
  const mdns = multicastDns(socketOptions(options));
  const ptrs = new Set<string>();
  const srv = new Map<string, { port: number; target: string }>();
  const txt = new Map<string, Record<string, string>>();
  const hosts = new Map<string, Set<string>>();
  mdns.on('error', () => undefined);
  mdns.on('response', (response) => {
    for (const rr of [...(response.answers ?? []), ...(response.additionals ?? [])]) {
      const name = rr.name.toLowerCase();
      if (rr.type === 'PTR' && name === PAIRGATE_SERVICE) ptrs.add(String(rr.data).toLowerCase());
      else if (rr.type === 'SRV') srv.set(name, { port: rr.data.port, target: rr.data.target.toLowerCase() });
      else if (rr.type === 'TXT') txt.set(name, txtFields(rr.data));
      else if (rr.type === 'A' || rr.type === 'AAAA') hosts.set(name, (hosts.get(name) ?? new Set()).add(String(rr.data)));
    }
  });
  const ask = (): void => mdns.query({ questions: [{ name: PAIRGATE_SERVICE, type: 'PTR' }] });
  mdns.on('ready', ask);
  const again = setInterval(ask, 1000);
  return new Promise((resolve, reject) => {
    const end = (): void => {
      clearTimeout(timer);
      clearInterval(again);
      signal?.removeEventListener('abort', onAbort);
      mdns.destroy();
    };
    const onAbort = (): void => {
      end();
      reject(signal!.reason);
    };
    const timer = setTimeout(() => {
      end();
      const boxes: DiscoveredBox[] = [];
      for (const instance of ptrs) {
        const service = srv.get(instance);
        const fields = txt.get(instance) ?? {};
        const addresses = service ? [...(hosts.get(service.target) ?? [])] : [];
        if (!service || !fields.fp || !/^[a-z2-7]{52}$/.test(fields.fp) || addresses.length === 0) continue;
        boxes.push({ instance, fingerprint: fields.fp, name: fields.name ?? instance, host: service.target, port: service.port, addresses });
      }
      resolve(boxes);
    }, timeoutMs);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}
