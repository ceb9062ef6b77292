import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import dgram from 'node:dgram';
import { networkInterfaces } from 'node:os';
import { discoveryKey } from './secret-proof.js';

/**
 * UDP multicast discovery. Two kinds of announcement share one packet layout:
 *
 *   magic (4) | kind (1) | instance id (8) | JSON body | HMAC-SHA256 (32, authenticated kind only)
 *
 * - authenticated (kind 1): sent by an offering device after the QR code was shown; the HMAC is
 *   keyed by a key derived from the pairing secret, so only a holder of the QR code can make or
 *   check one. Packets with a bad HMAC are ignored: a stranger cannot pose as the peer.
 * - plain (kind 2): "I am here" for `pairgate lan nearby`, before any secret is shared. Advisory
 *   only: the pairing is still confirmed by the connection string.
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

const KIND_AUTH = 1;
const KIND_PLAIN = 2;
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
}

/** An announcement as received. */
export interface ReceivedAnnouncement extends Announcement {
  /** Source address of the packet: where the announcer is. */
  address: string;
  authenticated: boolean;
  instanceId: string;
}

/** The IPv4 addresses to multicast on. */
export function multicastInterfaces(options: DiscoveryOptions): string[] {
  if (options.interfaceAddress) return [options.interfaceAddress];
  const found: string[] = [];
  for (const entries of Object.values(networkInterfaces())) {
    for (const entry of entries ?? []) if (entry.family === 'IPv4' && !entry.internal) found.push(entry.address);
  }
  return found;
}

/** Builds one packet. */
export function encodeAnnouncement(announcement: Announcement, instanceId: Buffer, secret?: Buffer): Buffer {
  const header = Buffer.alloc(HEADER_BYTES);
  header.writeUInt32BE(DISCOVERY_MAGIC, 0);
  header[4] = secret ? KIND_AUTH : KIND_PLAIN;
  instanceId.copy(header, 5, 0, 8);
  const body = Buffer.from(JSON.stringify(secret
    ? { d: announcement.deviceId, p: announcement.port, ...(announcement.role === 'join' ? { r: 'j' } : {}) }
    : { d: announcement.deviceId, p: announcement.port, n: announcement.name ?? '' }));
  const unsigned = Buffer.concat([header, body]);
  const packet = secret ? Buffer.concat([unsigned, createHmac('sha256', discoveryKey(secret)).update(unsigned).digest()]) : unsigned;
  if (packet.length > MAX_PACKET_BYTES) throw new RangeError('announcement too large');
  return packet;
}

/**
 * Reads one packet; undefined for anything foreign, oversized, malformed or (when `secret` is
 * given) not authenticated by it. Never throws: packets come from anyone on the network.
 */
export function decodeAnnouncement(packet: Buffer, address: string, secret?: Buffer): ReceivedAnnouncement | undefined {
  if (packet.length > MAX_PACKET_BYTES || packet.length < HEADER_BYTES + 2) return undefined;
  if (packet.readUInt32BE(0) !== DISCOVERY_MAGIC) return undefined;
  const kind = packet[4];
  let body: Buffer;
  if (kind === KIND_AUTH) {
    if (!secret || packet.length < HEADER_BYTES + 2 + MAC_BYTES) return undefined;
    const unsigned = packet.subarray(0, packet.length - MAC_BYTES);
    const mac = packet.subarray(packet.length - MAC_BYTES);
    const expected = createHmac('sha256', discoveryKey(secret)).update(unsigned).digest();
    if (!timingSafeEqual(mac, expected)) return undefined;
    body = unsigned.subarray(HEADER_BYTES);
  } else if (kind === KIND_PLAIN) {
    body = packet.subarray(HEADER_BYTES);
  } else {
    return undefined;
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(body.toString('utf8'));
  } catch {
    return undefined;
  }
  const b = parsed as { d?: unknown; p?: unknown; n?: unknown; r?: unknown } | null;
  if (!b || typeof b.d !== 'string' || !/^[A-Za-z0-9_-]{22}$/.test(b.d)) return undefined;
  const role = kind === KIND_AUTH && b.r === 'j' ? 'join' : 'offer';
  const minPort = role === 'join' ? 0 : 1;
  if (typeof b.p !== 'number' || !Number.isInteger(b.p) || b.p < minPort || b.p > 65535) return undefined;
  // eslint-disable-next-line no-control-regex
  const name = typeof b.n === 'string' ? b.n.replace(/[\u0000-\u001f\u007f-\u009f]/g, ' ').slice(0, 64) : undefined;
  return {
    deviceId: b.d,
    port: b.p,
    role,
    ...(name !== undefined ? { name } : {}),
    address,
    authenticated: kind === KIND_AUTH,
    instanceId: packet.subarray(5, 13).toString('hex'),
  };
}

/** A running announcer. */
export interface Announcer {
  /** Packets sent so far. */
  sent(): number;
  /** Errors of the last round, per interface (e.g. no route for multicast). */
  errors(): string[];
  stop(): Promise<void>;
}

/** Multicasts `announcement` every interval on every interface until stopped. */
export async function startAnnouncer(options: DiscoveryOptions & { announcement: Announcement; secret?: Buffer; instanceId?: Buffer }): Promise<Announcer> {
  const group = options.group ?? DEFAULT_GROUP;
  const port = options.port ?? DEFAULT_DISCOVERY_PORT;
  const packet = encodeAnnouncement(options.announcement, options.instanceId ?? randomBytes(8), options.secret);
  const sockets: dgram.Socket[] = [];
  let errors: string[] = [];
  let sent = 0;
  for (const address of multicastInterfaces(options)) {
    const socket = dgram.createSocket({ type: 'udp4', reuseAddr: true });
    socket.on('error', (error) => errors.push(`${address}: ${error.message}`));
    try {
      await new Promise<void>((resolve, reject) => {
        socket.once('error', reject);
        socket.bind(0, address, () => { socket.off('error', reject); resolve(); });
      });
      socket.setMulticastInterface(address);
      socket.setMulticastTTL(1);
      socket.setMulticastLoopback(true);
      sockets.push(socket);
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
    for (const socket of sockets) {
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
      await Promise.all(sockets.map((s) => new Promise<void>((resolve) => s.close(() => resolve()))));
    },
  };
}

/** A running listener. */
export interface AnnouncementListener {
  /** Interfaces whose group membership failed, with why. */
  errors: string[];
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
  socket.on('message', (packet, rinfo) => {
    const announcement = decodeAnnouncement(packet, rinfo.address, options.secret);
    if (!announcement || announcement.instanceId === options.ignoreInstance) return;
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
  return { errors, stop: () => new Promise<void>((resolve) => socket.close(() => resolve())) };
}

/**
 * Waits for an authenticated offer announcement of `deviceId`; resolves with where it came from,
 * or undefined after `timeoutMs`. When `self` is given, this device announces itself as a joiner
 * meanwhile (both sides multicast), so the offering side can report that the joiner's packets
 * reach it even when its TCP connections do not.
 */
export async function findPeer(options: DiscoveryOptions & { secret: Buffer; deviceId: string; timeoutMs: number; self?: string }): Promise<ReceivedAnnouncement | undefined> {
  // Announce first, so the offer hears us before we could possibly dial it.
  let announcer: Announcer | undefined;
  if (options.self) {
    try {
      announcer = await startAnnouncer({ ...options, announcement: { deviceId: options.self, port: 0, role: 'join' }, secret: options.secret });
    } catch {
      // Listening alone still finds the peer.
    }
  }
  let finish: (value: ReceivedAnnouncement | undefined) => void = () => undefined;
  const found = new Promise<ReceivedAnnouncement | undefined>((resolve) => { finish = resolve; });
  let listener: AnnouncementListener;
  try {
    listener = await listenForAnnouncements({
      ...options,
      onAnnouncement: (announcement) => {
        if (announcement.deviceId === options.deviceId && announcement.role === 'offer') finish(announcement);
      },
    });
  } catch (error) {
    await announcer?.stop();
    throw error;
  }
  const timer = setTimeout(() => finish(undefined), options.timeoutMs);
  try {
    return await found;
  } finally {
    clearTimeout(timer);
    await announcer?.stop();
    await listener.stop();
  }
}

/** Listens for plain announcements for `durationMs` and lists the devices heard, one per device id. */
export async function scanNearby(options: DiscoveryOptions & { durationMs: number }): Promise<ReceivedAnnouncement[]> {
  const seen = new Map<string, ReceivedAnnouncement>();
  const listener = await listenForAnnouncements({
    ...options,
    onAnnouncement: (announcement) => {
      if (!announcement.authenticated) seen.set(`${announcement.deviceId}@${announcement.address}`, announcement);
    },
  });
  await new Promise((resolve) => setTimeout(resolve, options.durationMs));
  await listener.stop();
  return [...seen.values()];
}
