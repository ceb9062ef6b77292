import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import dgram from 'node:dgram';
import { networkInterfaces } from 'node:os';
import { AddressPlaces } from './nearby-places.js';
import { terminalText } from './terminal-text.js';
import { discoveryKey } from './secret-proof.js';

/**
 * UDP multicast discovery. Two kinds of announcement share one packet layout:
 *
 *   magic (4) | kind (1) | instance id (8) | JSON body | HMAC-SHA256 (32, authenticated kind only)
 *
 * - authenticated (kind 3): sent by an offering device after the QR code was shown (and by a
 *   joiner looking for it); the HMAC is keyed by a key derived from the pairing secret, so only a
 *   holder of the QR code can make or check one. Packets with a bad HMAC are ignored: a stranger
 *   cannot pose as the peer. The authenticated body also carries when it was sent (`t`) and the
 *   address it was sent from (`a`): anyone on the network hears these packets, and without those
 *   a copy sent again later or from another machine would point the joiner somewhere else. A packet
 *   whose time is more than `MAX_ANNOUNCEMENT_SKEW_MS` away from the receiver's clock, or that
 *   arrives from another address than the one it names, is refused.
 * - plain (kind 2): "I am here" for `pairgate lan nearby`, before any secret is shared; `c: 1` says
 *   the offer takes a short pairing code. Advisory only: the pairing is still confirmed by the
 *   connection string or the code's PAKE, never by the announcement.
 * - kind 1 is the first authenticated kind (no time, no address). It is still read, so a joiner
 *   can find an offer of an older pairgate, but never sent: the secret is fresh per offer, so no
 *   kind 1 packet exists under the secret of an offer made by this version, and the joiner dials
 *   every announcer it hears until one holds the pinned key (`discovery-dial.ts`), so a replayed
 *   one costs a dial, not the pairing.
 *
 * The magic number and size limit (Syncthing's discovery does the same) drop foreign and oversized
 * packets cheaply; the instance id lets a process ignore its own packets.
 */

/** Magic number opening every packet. */
export const DISCOVERY_MAGIC = 0x9a3e1c57;
/** Packets larger than this are dropped unread. */
export const MAX_PACKET_BYTES = 512;
/** Default multicast group (organisation-local scope) and port. */
export const DEFAULT_GROUP = '239.255.70.71';
export const DEFAULT_DISCOVERY_PORT = 47390;
/** Default TCP port of `lan connect --listen`, next to the discovery port (kept here, in a module that loads fast, for the CLI's help). */
export const DEFAULT_CONNECT_PORT = 47391;
/**
 * How far an authenticated announcement's time may be from the receiver's clock, either way. Short,
 * so a recorded packet is soon worthless; not shorter, because the two devices' clocks are set
 * independently (a phone and a laptop are usually within seconds of each other, not always).
 */
export const MAX_ANNOUNCEMENT_SKEW_MS = 60_000;

/** The first authenticated kind: read (older offers send it), never sent. */
const KIND_AUTH_V1 = 1;
const KIND_PLAIN = 2;
const KIND_AUTH = 3;
const MAC_BYTES = 32;
const HEADER_BYTES = 13;

/** Where and how to multicast. */
export interface DiscoveryOptions {
  group?: string;
  port?: number;
  /** Only this local IPv4 address's interface (default: every non-loopback IPv4 interface). */
  interfaceAddress?: string;
  /** Announcement period (default 500 ms). */
  intervalMs?: number;
}

/** What an announcement says. */
export interface Announcement {
  deviceId: string;
  /** TCP port of the announcer's listener (0 for a joiner, which has none). */
  port: number;
  /** `join`: a joining device looking for its peer (authenticated kind only); default an offer. */
  role?: 'offer' | 'join';
  /** Device name (plain announcements only: an authenticated one needs none). */
  name?: string;
  /** The offer accepts a short pairing code (`lan offer --code`; plain announcements only). */
  code?: boolean;
}

/** An announcement as received. */
export interface ReceivedAnnouncement extends Announcement {
  /** Source address of the packet: where the announcer is. */
  address: string;
  authenticated: boolean;
  instanceId: string;
  /** Authenticated kind 1 (an older pairgate): neither time nor address is vouched for. */
  legacy?: true;
}

/** What makes an authenticated announcement: the key material, when it is sent and from where. */
export interface AnnouncementAuth {
  secret: Buffer;
  /** Milliseconds since the epoch, on the sender's clock. */
  sentAt: number;
  /** The IPv4 address the packet leaves from (the receiver checks it against the source). */
  from: string;
}

/**
 * Why a packet was not taken. `stale` and `wrong_source` are said only of packets whose HMAC
 * checked out: a copy of a real announcement, or two clocks far apart.
 */
export type RefusalReason = 'foreign' | 'stale' | 'wrong_source';

/** The outcome of reading one packet. */
export type AnnouncementVerdict = { ok: true; announcement: ReceivedAnnouncement } | { ok: false; reason: RefusalReason };

/** The IPv4 addresses to multicast on. */
export function multicastInterfaces(options: DiscoveryOptions): string[] {
  if (options.interfaceAddress) return [options.interfaceAddress];
  const found: string[] = [];
  for (const entries of Object.values(networkInterfaces())) {
    for (const entry of entries ?? []) if (entry.family === 'IPv4' && !entry.internal) found.push(entry.address);
  }
  return found;
}

/** Builds one packet: authenticated when `auth` is given, else plain. */
export function encodeAnnouncement(announcement: Announcement, instanceId: Buffer, auth?: AnnouncementAuth): Buffer {
  const header = Buffer.alloc(HEADER_BYTES);
  header.writeUInt32BE(DISCOVERY_MAGIC, 0);
  header[4] = auth ? KIND_AUTH : KIND_PLAIN;
  instanceId.copy(header, 5, 0, 8);
  const body = Buffer.from(JSON.stringify(auth
    ? { d: announcement.deviceId, p: announcement.port, ...(announcement.role === 'join' ? { r: 'j' } : {}), t: Math.floor(auth.sentAt), a: plainIpv4(auth.from) }
    : { d: announcement.deviceId, p: announcement.port, n: announcement.name ?? '', ...(announcement.code ? { c: 1 } : {}) }));
  const unsigned = Buffer.concat([header, body]);
  const packet = auth ? Buffer.concat([unsigned, createHmac('sha256', discoveryKey(auth.secret)).update(unsigned).digest()]) : unsigned;
  if (packet.length > MAX_PACKET_BYTES) throw new RangeError('announcement too large');
  return packet;
}

/** `::ffff:10.0.0.2` is `10.0.0.2`: a dual-stack socket may report either. */
function plainIpv4(address: string): string {
  return address.startsWith('::ffff:') ? address.slice(7) : address;
}

const FOREIGN = { ok: false, reason: 'foreign' } as const;

/**
 * Reads one packet and says why it is refused: anything foreign, oversized, malformed or (when
 * `secret` is given) not authenticated by it is `foreign`; an authenticated one sent more than
 * `MAX_ANNOUNCEMENT_SKEW_MS` away from `now` is `stale`, one arriving from another address than it
 * names `wrong_source`. Never throws: packets come from anyone on the network.
 */
export function checkAnnouncement(packet: Buffer, address: string, secret?: Buffer, now: number = Date.now()): AnnouncementVerdict {
  if (packet.length > MAX_PACKET_BYTES || packet.length < HEADER_BYTES + 2) return FOREIGN;
  if (packet.readUInt32BE(0) !== DISCOVERY_MAGIC) return FOREIGN;
  const kind = packet[4];
  const authenticated = kind === KIND_AUTH || kind === KIND_AUTH_V1;
  let body: Buffer;
  if (authenticated) {
    if (!secret || packet.length < HEADER_BYTES + 2 + MAC_BYTES) return FOREIGN;
    const unsigned = packet.subarray(0, packet.length - MAC_BYTES);
    const mac = packet.subarray(packet.length - MAC_BYTES);
    const expected = createHmac('sha256', discoveryKey(secret)).update(unsigned).digest();
    if (!timingSafeEqual(mac, expected)) return FOREIGN;
    body = unsigned.subarray(HEADER_BYTES);
  } else if (kind === KIND_PLAIN) {
    body = packet.subarray(HEADER_BYTES);
  } else {
    return FOREIGN;
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(body.toString('utf8'));
  } catch {
    return FOREIGN;
  }
  const b = parsed as { d?: unknown; p?: unknown; n?: unknown; r?: unknown; t?: unknown; a?: unknown; c?: unknown } | null;
  if (!b || typeof b.d !== 'string' || !/^[A-Za-z0-9_-]{22}$/.test(b.d)) return FOREIGN;
  const role = authenticated && b.r === 'j' ? 'join' : 'offer';
  const minPort = role === 'join' ? 0 : 1;
  if (typeof b.p !== 'number' || !Number.isInteger(b.p) || b.p < minPort || b.p > 65535) return FOREIGN;
  if (kind === KIND_AUTH) {
    if (typeof b.t !== 'number' || !Number.isSafeInteger(b.t) || typeof b.a !== 'string') return FOREIGN;
    if (Math.abs(now - b.t) > MAX_ANNOUNCEMENT_SKEW_MS) return { ok: false, reason: 'stale' };
    if (b.a !== plainIpv4(address)) return { ok: false, reason: 'wrong_source' };
  }
  // Shown on a terminal by `lan nearby`, before the address and id on the same line.
  const name = typeof b.n === 'string' ? terminalText(b.n, 64) : undefined;
  return {
    ok: true,
    announcement: {
      deviceId: b.d,
      port: b.p,
      role,
      ...(name !== undefined ? { name } : {}),
      ...(!authenticated && b.c === 1 ? { code: true } : {}),
      address,
      authenticated,
      instanceId: packet.subarray(5, 13).toString('hex'),
      ...(kind === KIND_AUTH_V1 ? { legacy: true as const } : {}),
    },
  };
}

/**
 * Reads one packet; undefined for anything `checkAnnouncement` refuses (foreign, oversized,
 * malformed, not authenticated by `secret` when given, stale, from the wrong address).
 */
export function decodeAnnouncement(packet: Buffer, address: string, secret?: Buffer, now: number = Date.now()): ReceivedAnnouncement | undefined {
  const verdict = checkAnnouncement(packet, address, secret, now);
  return verdict.ok ? verdict.announcement : undefined;
}

/** A running announcer. */
export interface Announcer {
  /** Packets sent so far. */
  sent(): number;
  /** Errors of the last round, per interface (e.g. no route for multicast). */
  errors(): string[];
  stop(): Promise<void>;
}

/**
 * Multicasts `announcement` every interval on every interface until stopped. With a `secret`, each
 * packet is authenticated and stamped afresh with the time and the address of the interface it
 * leaves from.
 */
export async function startAnnouncer(options: DiscoveryOptions & { announcement: Announcement; secret?: Buffer; instanceId?: Buffer }): Promise<Announcer> {
  const group = options.group ?? DEFAULT_GROUP;
  const port = options.port ?? DEFAULT_DISCOVERY_PORT;
  const instanceId = options.instanceId ?? randomBytes(8);
  const secret = options.secret;
  // Fails now, not at the first round, when the announcement cannot fit.
  encodeAnnouncement(options.announcement, instanceId, secret ? { secret, sentAt: Date.now(), from: '255.255.255.255' } : undefined);
  const sockets: { socket: dgram.Socket; address: string }[] = [];
  let errors: string[] = [];
  let sent = 0;
  for (const address of multicastInterfaces(options)) {
    const socket = dgram.createSocket({ type: 'udp4', reuseAddr: true });
    socket.on('error', (error) => errors.push(`${address}: ${error.message}`));
    try {
      await new Promise<void>((resolve, reject) => {
        socket.once('error', reject);
        // Bound to the interface's address, so the packet's source is the address it names.
        socket.bind(0, address, () => { socket.off('error', reject); resolve(); });
      });
      socket.setMulticastInterface(address);
      socket.setMulticastTTL(1);
      socket.setMulticastLoopback(true);
      sockets.push({ socket, address });
    } catch (error) {
      errors.push(`${address}: ${(error as Error).message}`);
      socket.close();
    }
  }
  if (sockets.length === 0) {
    throw new Error(`no interface to multicast on${errors.length ? ` (${errors.join('; ')})` : ' (no IPv4 interface is up)'}`);
  }
  const round = () => {
    const roundErrors: string[] = [];
    const sentAt = Date.now();
    for (const { socket, address } of sockets) {
      const packet = encodeAnnouncement(options.announcement, instanceId, secret ? { secret, sentAt, from: address } : undefined);
      socket.send(packet, port, group, (error) => {
        if (error) roundErrors.push(error.message);
        else sent++;
      });
    }
    errors = roundErrors;
  };
  round();
  const timer = setInterval(round, options.intervalMs ?? 500);
  timer.unref();
  return {
    sent: () => sent,
    errors: () => [...errors],
    stop: async () => {
      clearInterval(timer);
      await Promise.all(sockets.map(({ socket }) => new Promise<void>((resolve) => socket.close(() => resolve()))));
    },
  };
}

/** Authenticated announcements refused so far, by reason. */
export interface RefusedCounts {
  /** Sent more than `MAX_ANNOUNCEMENT_SKEW_MS` from now: an old copy, or clocks far apart. */
  stale: number;
  /** Arrived from another address than the one they name: a copy sent by someone else. */
  wrongSource: number;
}

/** A running listener. */
export interface AnnouncementListener {
  /** Interfaces whose group membership failed, with why. */
  errors: string[];
  /** Authenticated announcements refused as stale or from the wrong address (only with a secret). */
  refused(): RefusedCounts;
  stop(): Promise<void>;
}

/**
 * Joins the group on every interface and calls `onAnnouncement` for each valid packet (only
 * authenticated ones when `secret` is given). Own packets (same `ignoreInstance`) are skipped.
 */
export async function listenForAnnouncements(options: DiscoveryOptions & {
  secret?: Buffer;
  ignoreInstance?: string;
  onAnnouncement: (announcement: ReceivedAnnouncement) => void;
}): Promise<AnnouncementListener> {
  const group = options.group ?? DEFAULT_GROUP;
  const socket = dgram.createSocket({ type: 'udp4', reuseAddr: true });
  const errors: string[] = [];
  const refused: RefusedCounts = { stale: 0, wrongSource: 0 };
  socket.on('message', (packet, rinfo) => {
    const verdict = checkAnnouncement(packet, rinfo.address, options.secret);
    if (!verdict.ok) {
      if (verdict.reason === 'stale') refused.stale++;
      else if (verdict.reason === 'wrong_source') refused.wrongSource++;
      return;
    }
    const announcement = verdict.announcement;
    if (announcement.instanceId === options.ignoreInstance) return;
    if (options.secret && !announcement.authenticated) return;
    options.onAnnouncement(announcement);
  });
  await new Promise<void>((resolve, reject) => {
    socket.once('error', reject);
    socket.bind(options.port ?? DEFAULT_DISCOVERY_PORT, () => { socket.off('error', reject); resolve(); });
  });
  socket.on('error', (error) => errors.push(error.message));
  let joined = 0;
  for (const address of multicastInterfaces(options)) {
    try {
      socket.addMembership(group, address);
      joined++;
    } catch (error) {
      errors.push(`${address}: ${(error as Error).message}`);
    }
  }
  if (joined === 0) {
    socket.close();
    throw new Error(`Cannot join multicast group ${group} on any interface${errors.length ? ` (${errors.join('; ')})` : ' (no IPv4 interface is up)'}.`);
  }
  return { errors, refused: () => ({ ...refused }), stop: () => new Promise<void>((resolve) => socket.close(() => resolve())) };
}

/** A running watch for one device's offer announcements. */
export interface PeerWatch {
  /** Authenticated announcements refused so far (stale, or from the wrong address). */
  refused(): RefusedCounts;
  stop(): Promise<void>;
}

/**
 * Listens for authenticated offer announcements of `deviceId` and calls `onOffer` for every one
 * heard (the same announcer every interval: callers keep what they already tried). When `self` is
 * given, this device announces itself as a joiner meanwhile (both sides multicast), so the
 * offering side can report that the joiner's packets reach it even when its TCP connections do
 * not.
 */
export async function watchPeer(options: DiscoveryOptions & { secret: Buffer; deviceId: string; self?: string; onOffer: (announcement: ReceivedAnnouncement) => void }): Promise<PeerWatch> {
  // Announce first, so the offer hears us before we could possibly dial it.
  let announcer: Announcer | undefined;
  if (options.self) {
    try {
      announcer = await startAnnouncer({ ...options, announcement: { deviceId: options.self, port: 0, role: 'join' }, secret: options.secret });
    } catch {
      // Listening alone still finds the peer.
    }
  }
  let listener: AnnouncementListener;
  try {
    listener = await listenForAnnouncements({
      ...options,
      onAnnouncement: (announcement) => {
        if (announcement.deviceId === options.deviceId && announcement.role === 'offer') options.onOffer(announcement);
      },
    });
  } catch (error) {
    await announcer?.stop();
    throw error;
  }
  return {
    refused: () => listener.refused(),
    stop: async () => {
      await announcer?.stop();
      await listener.stop();
    },
  };
}

/**
 * Waits for the first authenticated offer announcement of `deviceId`; resolves with where it came
 * from, or undefined after `timeoutMs`. A joiner should not stop at the first (an announcer may
 * hold the secret without being the device): `dialByDiscovery` dials every one it hears.
 */
export async function findPeer(options: DiscoveryOptions & { secret: Buffer; deviceId: string; timeoutMs: number; self?: string }): Promise<ReceivedAnnouncement | undefined> {
  let finish: (value: ReceivedAnnouncement | undefined) => void = () => undefined;
  const found = new Promise<ReceivedAnnouncement | undefined>((resolve) => { finish = resolve; });
  const watch = await watchPeer({ ...options, onOffer: (announcement) => finish(announcement) });
  const timer = setTimeout(() => finish(undefined), options.timeoutMs);
  try {
    return await found;
  } finally {
    clearTimeout(timer);
    await watch.stop();
  }
}

/**
 * Most devices `scanNearby` lists, and most from one source address. A plain announcement costs
 * nothing to make up (any id, any name), so a flood of them must not grow the list (and the memory
 * and output behind it) without end; the places are shared among source addresses
 * (`AddressPlaces`), so a flood from a few addresses, or from a few dozen, leaves room for a device
 * announcing from its own.
 */
export const MAX_NEARBY_DEVICES = 256;
export const MAX_NEARBY_PER_ADDRESS = 16;

/**
 * Listens for plain announcements for `durationMs` and lists the devices heard, one per device id
 * and address, at most MAX_NEARBY_DEVICES of them and MAX_NEARBY_PER_ADDRESS per address, shared
 * among addresses (`AddressPlaces`).
 */
export async function scanNearby(options: DiscoveryOptions & { durationMs: number }): Promise<ReceivedAnnouncement[]> {
  const seen = new Map<string, ReceivedAnnouncement>();
  const places = new AddressPlaces<string>(MAX_NEARBY_DEVICES, MAX_NEARBY_PER_ADDRESS);
  const listener = await listenForAnnouncements({
    ...options,
    onAnnouncement: (announcement) => {
      if (announcement.authenticated) return;
      const key = `${announcement.deviceId}@${announcement.address}`;
      const place = places.admit(key, announcement.address);
      if (!place.admitted) return;
      if (place.evicted !== undefined) seen.delete(place.evicted);
      seen.set(key, announcement);
    },
  });
  await new Promise((resolve) => setTimeout(resolve, options.durationMs));
  await listener.stop();
  return [...seen.values()];
}
