import type { EphemeralStore } from '../../store/ports.js';
import { publicNetworkOf } from '../../server/public-network.js';
import type { Announcement } from './schemas.js';

/**
 * Announcements in the ephemeral store, one entry per (public network, box), living for the
 * registry TTL: a box that stops announcing disappears on its own. The public network is the
 * caller's IPv4 address, or its IPv6 /64 (`publicNetworkOf`), so a box and a browser behind one
 * IPv6 router meet although their addresses differ. `|` separates the parts because it occurs in
 * neither a network nor a fingerprint.
 */
export class Announcements {
  constructor(
    private readonly store: EphemeralStore,
    private readonly ttlMs: number,
  ) {}

  private static prefix(network: string): string {
    return `registry|${network}|`;
  }

  /** Boxes announced on the public network of `callerIp`, oldest first. */
  async list(callerIp: string, now: number): Promise<Announcement[]> {
    const network = publicNetworkOf(callerIp);
    const entries = await this.store.list(Announcements.prefix(network), now);
    return entries
      .map((entry) => JSON.parse(entry.value) as Announcement)
      .filter((announcement) => announcement.public_ip === network)
      .sort((a, b) => a.timestamp - b.timestamp || a.client.localeCompare(b.client));
  }

  /** Whether `client` is announced on the public network of `callerIp` now. */
  async has(callerIp: string, client: string, now: number): Promise<boolean> {
    return (await this.store.get(`${Announcements.prefix(publicNetworkOf(callerIp))}${client}`, now)) !== undefined;
  }

  /** Milliseconds from `now` until the oldest of `announcements` expires (when a place frees up). */
  untilFirstExpiry(announcements: readonly Announcement[], now: number): number {
    const oldest = Math.min(...announcements.map((a) => a.timestamp));
    return Math.max(0, oldest + this.ttlMs - now);
  }

  /**
   * Stores (or refreshes) the announcement of `client` made from `callerIp` for the TTL. Its
   * `public_ip` is the network it is listed under (`publicNetworkOf`), which is what the box and
   * the browsers that see it share.
   */
  async put(callerIp: string, announcement: Omit<Announcement, 'public_ip'>, now: number): Promise<void> {
    const network = publicNetworkOf(callerIp);
    await this.store.set(`${Announcements.prefix(network)}${announcement.client}`, JSON.stringify({ public_ip: network, ...announcement }), this.ttlMs, now);
  }
}
