import { isIPv4, isIPv6, type BlockList } from 'node:net';
import { networkInterfaces } from 'node:os';
import type { Answer } from 'dns-packet';
import multicastDns from 'multicast-dns';
import { PairgateError } from '../../core/errors.js';
import { ownSubnets } from '../lan/ip-addresses.js';
import { MDNS_GROUP, MDNS_OPTION_FIELDS, mdnsError, type MdnsSettings, type MdnsStep } from './mdns-errors.js';

export type { MdnsSettings } from './mdns-errors.js';

/** The DNS-SD service type boxes advertise. */
export const PAIRGATE_SERVICE = '_pairgate._tcp.local';

/** Where mDNS traffic goes; tests keep it on loopback and an unprivileged port. */
export interface MdnsOptions {
  /** UDP port (default 5353). */
  port?: number;
  /** Address of the interface to send and join on (default: the system's choice). */
  interface?: string;
}

/** Longest wait for the goodbye's send when an advert stops (see `advertiseBox`). */
const GOODBYE_WAIT_MS = 1_000;

/** Least time between two answers of a box to questions (RFC 6762 section 6: a record is multicast at most once a second). */
const MIN_ANSWER_INTERVAL_MS = 1_000;

/**
 * How long the subnets of this machine's interfaces are reused before they are read again: a
 * question is checked against them (see `advertiseBox`), and a flood of questions must not read
 * the interfaces once each; an address the network hands out anew counts within seconds.
 */
const SUBNETS_REREAD_MS = 5_000;

/**
 * The most boxes (`_pairgate._tcp` instances) a discovery keeps what it hears of: a host sending
 * answers for ever new names made it hold every one until its timeout. Far more than a network has.
 */
export const MAX_DISCOVERED_BOXES = 256;

/** The most addresses a discovery keeps of one box's host name (a box sends its own few). */
export const MAX_ADDRESSES_PER_BOX = 16;

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
    ip: MDNS_GROUP,
    multicast: true,
    loopback: true,
    reuseAddr: true,
  };
}

function defaultAddresses(): string[] {
  const found = Object.values(networkInterfaces()).flatMap((list) => (list ?? []).filter((a) => a.family === 'IPv4' && !a.internal).map((a) => a.address));
  return found.length ? found : ['127.0.0.1'];
}

/** The most characters (grapheme clusters) of a box's name the TXT record carries. */
const MAX_TXT_NAME_CHARACTERS = 100;

/**
 * The most bytes of a TXT string (RFC 6763 6.1: one length byte, so 255), `name=` included.
 * dns-packet writes a longer one's length modulo 256, and the record no longer decodes: a name of
 * 100 CJK characters (300 bytes in UTF-8) made the box unfindable.
 */
const MAX_TXT_STRING_BYTES = 255;

/**
 * `name` as the TXT record's `name=` carries it: at most {@link MAX_TXT_NAME_CHARACTERS}
 * characters and {@link MAX_TXT_STRING_BYTES} bytes of UTF-8 with its key, cut between
 * characters (grapheme clusters). `slice(0, 100)` cut UTF-16 units: half a surrogate pair (an
 * emoji, shown as U+FFFD), a letter from its accent, a family emoji into a lone person and a
 * joiner; and it did not bound the bytes at all.
 */
export function txtName(name: string): string {
  const room = MAX_TXT_STRING_BYTES - Buffer.byteLength('name=');
  let kept = '';
  let bytes = 0;
  let count = 0;
  for (const { segment } of new Intl.Segmenter(undefined, { granularity: 'grapheme' }).segment(name)) {
    const size = Buffer.byteLength(segment);
    if (count === MAX_TXT_NAME_CHARACTERS || bytes + size > room) break;
    kept += segment;
    bytes += size;
    count += 1;
  }
  return kept;
}

/** A multicast-dns instance and the promise of its start (see {@link startMdns}). */
interface StartedMdns {
  mdns: multicastDns.MulticastDNS;
  started: Promise<void>;
  /** Closes the socket; a start still under way rejects with `mdns_stopped`. */
  stop(): Promise<void>;
  /** Tells `later` of a failed send after the start, once until a send succeeds again. */
  sent(error: Error | null): void;
}

/**
 * Starts multicast-dns and tells when it really works: `started` resolves once its UDP port is
 * bound, the multicast group joined on at least one interface and `first` sent (a box's
 * announcement, a discovery's first question), and rejects with the error {@link mdnsError}
 * explains when one of those fails, the socket closed.
 *
 * What multicast-dns reports, and when (node_modules/multicast-dns/index.js, 7.x):
 * - a bind failure: 'error' (EADDRINUSE and EACCES twice: from its socket's 'error' listener, then
 *   from the bind's), and no 'ready';
 * - the group joined on an interface: 'networkInterface'; a join that failed: 'warning' (syscall
 *   `addMembership`). Both come from the socket's 'listening' listener, which runs before 'ready';
 *   interfaces not joined are tried again every 5 s, warning again each time;
 * - a send that failed: only the send's callback hears it;
 * - a packet that does not decode (any stranger's): 'warning', of no concern here.
 *
 * After the start, `later` hears what goes wrong (the socket's errors, a join that failed), each
 * error once: multicast-dns would repeat a failed join every 5 s.
 */
function startMdns(
  options: MdnsOptions,
  settings: MdnsSettings,
  first: (mdns: multicastDns.MulticastDNS, sent: (error: Error | null) => void) => void,
  later: (error: PairgateError) => void,
): StartedMdns {
  const mdns = multicastDns(socketOptions(options));
  const failure = (step: MdnsStep, error: unknown) => ({ step, port: options.port ?? 5353, interface: options.interface, error, settings });
  let state: 'starting' | 'started' | 'over' = 'starting';
  let joined = false;
  const joinWarnings: unknown[] = [];
  const told = new Set<string>();
  const tell = (error: PairgateError): void => {
    const key = `${error.code} ${error.message}`;
    if (told.has(key)) return;
    told.add(key);
    later(error);
  };
  let settle!: (error?: PairgateError) => void;
  const started = new Promise<void>((resolve, reject) => {
    settle = (error) => {
      if (state !== 'starting') return;
      if (!error) {
        state = 'started';
        resolve();
        // Joined elsewhere, so started: the interfaces that could not be joined are still worth a word.
        for (const warning of joinWarnings) tell(mdnsError(failure('join', warning), true));
        return;
      }
      state = 'over';
      mdns.destroy();
      reject(error);
    };
  });
  mdns.on('networkInterface', () => {
    joined = true;
  });
  mdns.on('warning', (error: NodeJS.ErrnoException) => {
    if (error.syscall !== 'addMembership') return;
    if (state === 'starting') joinWarnings.push(error);
    else if (state === 'started') tell(mdnsError(failure('join', error), true));
  });
  mdns.on('error', (error) => {
    if (state === 'starting') settle(mdnsError(failure('bind', error)));
    else if (state === 'started') tell(mdnsError(failure('socket', error), true));
  });
  mdns.on('ready', () => {
    if (state !== 'starting') return;
    // Bound but in no group: nothing asked on the network would be heard.
    if (!joined) return settle(mdnsError(failure('join', joinWarnings[0] ?? new Error('no IPv4 interface'))));
    first(mdns, (error) => settle(error ? mdnsError(failure('send', error)) : undefined));
  });
  return {
    mdns,
    started,
    stop: () => {
      settle(new PairgateError('mdns_stopped', 503, 'mDNS was stopped before it had started.'));
      state = 'over';
      return new Promise<void>((resolve) => mdns.destroy(() => resolve()));
    },
    sent: (error) => {
      if (state !== 'started') return;
      if (error) tell(mdnsError(failure('send', error), true));
      // Sending works again: a later failure is news again.
      else for (const key of told) if (key.startsWith('mdns_send_failed ')) told.delete(key);
    },
  };
}

/** What {@link advertiseBox} takes: where to advertise, and who hears of failures once it runs. */
export interface AdvertiseOptions extends MdnsOptions {
  /**
   * Hears what goes wrong once the advert has started (`ready` resolved): an answer that could not
   * be sent (told once until a send succeeds again), an interface whose multicast group could not
   * be joined, an error of the socket. Each is a PairgateError (`mdns_send_failed`,
   * `mdns_interface_unusable`, `mdns_unavailable`); the advert goes on. Default: a process
   * warning (`process.emitWarning`, printed on stderr by Node).
   */
  onError?: (error: PairgateError) => void;
  /** How its errors name the port and interface settings (default: the option fields). */
  settings?: MdnsSettings;
}

/** A running advert: see {@link advertiseBox}. */
export interface BoxAdvert {
  /**
   * Resolves once the advert works: the UDP port bound, the multicast group joined, the first
   * announcement sent. Rejects when one of those fails (PairgateError `mdns_port_in_use`,
   * `mdns_not_permitted`, `mdns_interface_unusable`, `mdns_send_failed`, `mdns_unavailable`, all
   * status 503), the socket then closed; or with `mdns_stopped` when `stop()` came first.
   */
  ready: Promise<void>;
  /** Says goodbye (the records with TTL 0, once it had started), stops answering and closes the socket. */
  stop(): Promise<void>;
}

/**
 * Advertises a box as `_pairgate._tcp` (DNS-SD over multicast DNS): answers PTR questions for the
 * service with PTR, SRV, TXT (`fp=<fingerprint>`, `name=`) and A records, and announces itself once
 * at start. This is the serverless way to find a box (no registry). Await `ready` before saying
 * the box is advertised: a port another program holds alone, an interface that cannot join the
 * multicast group, or a network that cannot carry the announcement rejects it. Failures after
 * that go to `options.onError`.
 */
export function advertiseBox(box: AdvertisedBox, options: AdvertiseOptions = {}): BoxAdvert {
  const instance = `pairgate-${box.fingerprint.slice(0, 16)}.${PAIRGATE_SERVICE}`;
  const host = `pairgate-${box.fingerprint.slice(0, 16)}.local`;
  const addresses = box.addresses ?? defaultAddresses();
  const records = (): Answer[] => [
    { name: PAIRGATE_SERVICE, type: 'PTR', ttl: 120, data: instance },
    { name: instance, type: 'SRV', ttl: 120, data: { port: box.port, target: host, priority: 0, weight: 0 } },
    { name: instance, type: 'TXT', ttl: 120, data: [`fp=${box.fingerprint}`, `name=${txtName(box.name)}`] },
    ...addresses.map((address) => ({ name: host, type: 'A', ttl: 120, data: address }) as Answer),
  ];
  const onError = options.onError ?? ((error: PairgateError) => process.emitWarning(error.message, { code: error.code }));
  const advert = startMdns(options, options.settings ?? MDNS_OPTION_FIELDS, (mdns, sent) => mdns.respond({ answers: records() }, sent), onError);
  // Answers go to the whole network (multicast), at most once a second (RFC 6762 section 6): one
  // host asking in a loop, or anyone reaching UDP port 5353, made the box multicast its records
  // once per question, as fast as they came, to every host of the network (on Wi-Fi, at its
  // slowest rate). A question within the second after an answer is answered once that second
  // ends, with every other question of that second: all of them hear the one multicast answer.
  let answeredAt = -Infinity;
  let nextAnswer: NodeJS.Timeout | undefined;
  let stopping = false;
  // Only questions from the local link are answered (RFC 6762 section 5.5 and 11): anyone who
  // could reach UDP port 5353 from elsewhere (a box with a public address and no firewall) made it
  // multicast its records to its whole network at each question. The socket cannot tell a
  // multicast question from one sent to its address, nor see the packet's IP TTL, so the source
  // is what is checked: an address inside the subnet of one of this machine's interfaces (an IPv4
  // address and netmask, an IPv6 prefix, the link-local fe80::/64 included). An on-link host whose
  // address is in none of them (misconfigured) goes unanswered.
  let subnets: { list: BlockList; readAt: number } | undefined;
  const onLink = (source: string): boolean => {
    const address = source.split('%')[0]!;
    const family = isIPv4(address) ? 'ipv4' : isIPv6(address) ? 'ipv6' : undefined;
    if (!family) return false;
    const now = performance.now();
    if (!subnets || now - subnets.readAt >= SUBNETS_REREAD_MS) subnets = { list: ownSubnets(), readAt: now };
    return subnets.list.check(address, family);
  };
  const answer = (): void => {
    nextAnswer = undefined;
    answeredAt = performance.now();
    advert.mdns.respond({ answers: records() }, advert.sent);
  };
  advert.mdns.on('query', (query, rinfo) => {
    const asked = (query.questions ?? []).some((q) => q.name.toLowerCase() === PAIRGATE_SERVICE && (q.type === 'PTR' || (q.type as string) === 'ANY'));
    if (!asked || stopping || nextAnswer !== undefined || !onLink(rinfo.address)) return;
    const wait = answeredAt + MIN_ANSWER_INTERVAL_MS - performance.now();
    if (wait <= 0) answer();
    else nextAnswer = setTimeout(answer, wait);
  });
  let running = false;
  advert.started.then(() => {
    running = true;
  }, () => undefined);
  return {
    ready: advert.started,
    stop: async () => {
      // No answer after the goodbye: it would list the box again for 120 s.
      stopping = true;
      clearTimeout(nextAnswer);
      nextAnswer = undefined;
      // A goodbye (RFC 6762 10.1): the records once more with TTL 0, so that browsers and programs
      // on the network drop the box now; without it they kept listing a stopped box until their
      // copies expired (120 s). Best effort: a goodbye that cannot be sent changes nothing here.
      if (running) {
        await new Promise<void>((resolve) => {
          // Bounded: stopping must not hang on a send the socket never reports back on.
          const bound = setTimeout(resolve, GOODBYE_WAIT_MS);
          advert.mdns.respond({ answers: records().map((record) => ({ ...record, ttl: 0 }) as Answer) }, () => {
            clearTimeout(bound);
            resolve();
          });
        });
      }
      await advert.stop();
    },
  };
}

/**
 * The `fp=` and `name=` of a TXT record, the only fields a discovery reads: the others, kept, let
 * a host's answers hold more of a discovery's memory.
 */
function txtFields(data: unknown): { fp?: string; name?: string } {
  const fields: { fp?: string; name?: string } = {};
  const items = Array.isArray(data) ? data : [data];
  for (const item of items) {
    const text = Buffer.isBuffer(item) ? item.toString('utf8') : String(item);
    const eq = text.indexOf('=');
    if (eq < 0) continue;
    const key = text.slice(0, eq);
    if (key === 'fp' || key === 'name') fields[key] = text.slice(eq + 1);
  }
  return fields;
}

/** What a discovery heard of one `_pairgate._tcp` instance. */
interface HeardInstance {
  srv?: { port: number; target: string };
  txt?: { fp?: string; name?: string };
}

/**
 * Asks the local network for `_pairgate._tcp` boxes and collects answers for `timeoutMs` (asking
 * again every second). Only boxes with a well-formed fingerprint, port and address are returned.
 * What it keeps is bounded, whatever a host sends: at most {@link MAX_DISCOVERED_BOXES} instances
 * (the first heard), the SRV and TXT records of those only, and at most
 * {@link MAX_ADDRESSES_PER_BOX} addresses of the host names they point to.
 * When mDNS cannot start (its port held alone by another program, no interface joining the
 * multicast group, the first question not sent) it rejects with the PairgateError of
 * {@link BoxAdvert.ready}, the socket closed: an empty list would say "no boxes" of a network it
 * never heard. Once started, a later question that cannot be sent does not end it: the answers
 * heard until `timeoutMs` are returned. An aborted `signal` ends it at once: the multicast socket
 * closed, the promise rejected with the signal's reason.
 */
export function discoverBoxes(timeoutMs = 2000, options: MdnsOptions & { signal?: AbortSignal; settings?: MdnsSettings } = {}): Promise<DiscoveredBox[]> {
  const { signal } = options;
  if (signal?.aborted) return Promise.reject(signal.reason);
  // Everything heard is kept until the timeout: a host flooding answers (new instance names, many
  // addresses) grew it without bound. Only what a box's answer needs is kept, and only so much.
  const instances = new Map<string, HeardInstance>();
  const hosts = new Map<string, Set<string>>();
  const targets = (): Set<string> => new Set([...instances.values()].flatMap((heard) => (heard.srv ? [heard.srv.target] : [])));
  const question = { questions: [{ name: PAIRGATE_SERVICE, type: 'PTR' as const }] };
  const discovery = startMdns(options, options.settings ?? MDNS_OPTION_FIELDS, (mdns, sent) => mdns.query(question, sent), () => undefined);
  const { mdns } = discovery;
  mdns.on('response', (response) => {
    const records = [...(response.answers ?? []), ...(response.additionals ?? [])];
    // The PTRs first, then the records of the instances they name, then the addresses of their
    // hosts: a box's answer carries all of them, in any order, and only those are kept.
    for (const rr of records) {
      if (rr.type !== 'PTR' || rr.name.toLowerCase() !== PAIRGATE_SERVICE) continue;
      const instance = String(rr.data).toLowerCase();
      // TTL 0 is a goodbye (RFC 6762 10.1): the box stopped advertising, so it is not found.
      if (rr.ttl === 0) instances.delete(instance);
      else if (!instances.has(instance) && instances.size < MAX_DISCOVERED_BOXES) instances.set(instance, {});
    }
    for (const rr of records) {
      const heard = instances.get(rr.name.toLowerCase());
      if (!heard) continue;
      if (rr.type === 'SRV') heard.srv = { port: rr.data.port, target: rr.data.target.toLowerCase() };
      else if (rr.type === 'TXT') heard.txt = txtFields(rr.data);
    }
    let pointedTo: Set<string> | undefined;
    for (const rr of records) {
      if (rr.type !== 'A' && rr.type !== 'AAAA') continue;
      const name = rr.name.toLowerCase();
      pointedTo ??= targets();
      if (!pointedTo.has(name)) continue;
      let addresses = hosts.get(name);
      if (!addresses) {
        // Names no instance points to any more (goodbyes, SRVs changed) make room.
        for (const host of hosts.keys()) if (!pointedTo.has(host)) hosts.delete(host);
        hosts.set(name, (addresses = new Set()));
      }
      if (addresses.size < MAX_ADDRESSES_PER_BOX) addresses.add(String(rr.data));
    }
  });
  const again = setInterval(() => mdns.query(question), 1000);
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
    discovery.started.catch((error: unknown) => {
      end();
      reject(error);
    });
    const timer = setTimeout(() => {
      end();
      const boxes: DiscoveredBox[] = [];
      for (const [instance, { srv: service, txt: fields = {} }] of instances) {
        const addresses = service ? [...(hosts.get(service.target) ?? [])] : [];
        if (!service || !fields.fp || !/^[a-z2-7]{52}$/.test(fields.fp) || addresses.length === 0) continue;
        boxes.push({ instance, fingerprint: fields.fp, name: fields.name ?? instance, host: service.target, port: service.port, addresses });
      }
      resolve(boxes);
    }, timeoutMs);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}
