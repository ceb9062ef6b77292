import type { EphemeralStore } from '../../store/ports.js';
import { publicNetworkOf } from '../../server/public-network.js';
import { NumberedSlots, type HeldSlot } from '../shared/numbered-slots.js';
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

  /**
   * Claims one of the `cap` places of the public network of `callerIp` for `client` until `now` +
   * TTL, before its announcement is written with the same `now` (so place and entry expire at the
   * same instant). A box that holds a place renews it and is never refused; a new box takes a free
   * numbered slot (`NumberedSlots`: set-if-absent, so boxes announcing at once, through any nodes
   * sharing the ephemeral store, never get more than `cap` places), and one box announcing twice
   * at once ends with one place (`giveBackExtras`). Counting the entries and then writing, as
   * before, let a burst of new boxes all read the same count and pass.
   *
   * The renewal writes the place only while it is still the box's (`renewIfHeld`): between the
   * listing and the write it may have lapsed and been taken by another box (a stalled node or
   * store), whose place a plain write took back, both boxes then counting as one; or another
   * announcement of this box may have given it back (it saw a lower one). A place found lost is
   * taken again like a new box's, from a fresh listing.
   *
   * Returns, when the network is full, the milliseconds until its first place frees up.
   */
  async claim(callerIp: string, client: string, cap: number, now: number): Promise<{ ok: true } | { ok: false; retryAfterMs: number }> {
    const network = publicNetworkOf(callerIp);
    const slots = new NumberedSlots(this.store, 'registry-slot|', cap);
    const held = await slots.held(network, now);
    const own = placesOf(held, client);
    if (own.length > 0 && (await slots.renewIfHeld(own[0]!.key, client, this.ttlMs, now))) {
      // Looked at again after the write: another announcement of this box may have taken a place
      // meanwhile, which one of the two gives back.
      await giveBackExtras(slots, client, placesOf(await slots.held(network, now), client), now);
      return { ok: true };
    }
    // The listing is stale once the box's place was found lost: the slots are listed again.
    const taken = await slots.take(network, client, this.ttlMs, now, own.length > 0 ? {} : { held });
    if (taken.ok) {
      // Looked at again: another announcement of this box may have taken a place meanwhile.
      await giveBackExtras(slots, client, placesOf(await slots.held(network, now), client), now);
      return { ok: true };
    }
    // Listed without a place: an entry written by a node that predates places (or a box whose
    // place lapsed and was taken). Refusing would drop a listed box; it takes a place at a later
    // refresh once one frees up.
    if (await this.has(callerIp, client, now)) return { ok: true };
    // A take that gave up with nothing listed (every place lapsed meanwhile) says a second, not Infinity.
    const firstFree = taken.held.length > 0 ? Math.min(...taken.held.map((slot) => slot.expiresAt)) : now + 1000;
    return { ok: false, retryAfterMs: Math.max(0, firstFree - now) };
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

/**
 * Gives back every place of box `client` but the first of `places` (its lowest-numbered, `placesOf`).
 * Two first announcements of one box at once (a retry racing the original, two nodes) each find no
 * place of their own and each take one; without this the box would hold two of the network's
 * places until they lapse, and another box could be refused meanwhile. Every claimer keeps the
 * same one (the lowest number among the box's places), so whichever runs last, the box is left
 * with exactly one place and never with none.
 */
async function giveBackExtras(slots: NumberedSlots, client: string, places: readonly HeldSlot[], now: number): Promise<void> {
  // Only while the place is still this box's: one that lapsed since the listing and was taken by
  // another box stays that box's.
  await Promise.all(places.slice(1).map((extra) => slots.releaseIfHeld(extra.key, client, now)));
}

/** The places of `client` among `held`, lowest slot number first (the one a box keeps). */
function placesOf(held: HeldSlot[], client: string): HeldSlot[] {
  return held.filter((slot) => slot.value === client).sort((a, b) => a.slot - b.slot);
}
