import type { EphemeralStore } from '../../store/ports.js';
import type { Announcement } from './schemas.js';

/**
 * Announcements in the ephemeral store, one entry per (public IP, box), living for the registry
 * TTL: a box that stops announcing disappears on its own. `|` separates the parts because it occurs
 * in neither an IPv4/IPv6 address nor a fingerprint.
 */
export class Announcements {
  constructor(
    private readonly store: EphemeralStore,
    private readonly ttlMs: number,
  ) {}

  private static prefix(publicIp: string): string {
    return `registry|${publicIp}|`;
  }

  /** Boxes announced behind `publicIp`, oldest first. */
  async list(publicIp: string, now: number): Promise<Announcement[]> {
    const entries = await this.store.list(Announcements.prefix(publicIp), now);
    return entries
      .map((entry) => JSON.parse(entry.value) as Announcement)
      .filter((announcement) => announcement.public_ip === publicIp)
      .sort((a, b) => a.timestamp - b.timestamp || a.client.localeCompare(b.client));
  }

  /** Whether `client` is announced behind `publicIp` now. */
  async has(publicIp: string, client: string, now: number): Promise<boolean> {
    return (await this.store.get(`${Announcements.prefix(publicIp)}${client}`, now)) !== undefined;
  }

  /** Stores (or refreshes) an announcement for the TTL. */
  async put(announcement: Announcement, now: number): Promise<void> {
    await this.store.set(`${Announcements.prefix(announcement.public_ip)}${announcement.client}`, JSON.stringify(announcement), this.ttlMs, now);
  }
}
