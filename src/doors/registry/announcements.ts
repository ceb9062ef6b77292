import type { EphemeralStore } from '../../store/ports.js';
import { publicNetworkOf } from '../../server/public-network.js';
import { NumberedSlots, type HeldSlot } from '../shared/numbered-slots.js';
import { ipv6BlockOfNetwork } from './ipv6-block.js';
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
   * Claims a place for `client` on the public network of `callerIp` (one of `caps.perNetwork`)
   * and, on IPv6, in the /48 around it too (one of `caps.perIpv6Block`, `ipv6BlockOfNetwork`),
   * until `now` + TTL, before its announcement is written with the same `now` (so places and entry
   * expire at the same instant). Each level is claimed as `claimPlace` says: a box that holds a
   * place renews it and is never refused; a new box takes a free numbered slot (set-if-absent, so
   * boxes announcing at once, through any nodes sharing the ephemeral store, never get more than
   * the cap). Counting the entries and then writing, as before, let a burst of new boxes all read
   * the same count and pass.
   *
   * The /48 is claimed second: a box refused there gives back the network place this claim took
   * (one it already held stays held, as its entry lives on until its TTL), so a full /48 never
   * keeps places of boxes it refused. Only a place counts at the /48 level: a box listed on its
   * network without a /48 place (listed before the /48 cap, or its place lapsed and was taken) takes
   * a free one or is refused, or the two announcements of one new box at once (one taking the
   * network place, the other renewing it) would list it beyond the /48's cap.
   *
   * Returns, when a level is full, the milliseconds until its first place frees up, and which level.
   */
  async claim(callerIp: string, client: string, caps: PlaceCaps, now: number): Promise<PlaceClaim> {
    const network = publicNetworkOf(callerIp);
    const networkSlots = new NumberedSlots(this.store, 'registry-slot|', caps.perNetwork);
    const onNetwork = await claimPlace(networkSlots, network, client, this.ttlMs, now);
    if (!onNetwork.ok) {
      // Listed without a place: an entry written by a node that predates places (or a box whose
      // place lapsed and was taken). Refusing would drop a listed box; it takes a place at a later
      // refresh once one frees up.
      if (!(await this.has(callerIp, client, now))) return { ok: false, retryAfterMs: msUntilFirstFree(onNetwork.held, now), level: 'network' };
    }
    const block = ipv6BlockOfNetwork(network);
    if (block === undefined) return { ok: true };
    // The holder is the box on this network: a box announcing from two /64s of the /48 is listed,
    // and counted, on each.
    const inBlock = await claimPlace(new NumberedSlots(this.store, 'registry-block-slot|', caps.perIpv6Block), block, `${network}|${client}`, this.ttlMs, now);
    if (inBlock.ok) return { ok: true };
    if (onNetwork.ok && onNetwork.took !== undefined) await networkSlots.releaseIfHeld(onNetwork.took, client, now);
    return { ok: false, retryAfterMs: msUntilFirstFree(inBlock.held, now), level: 'ipv6-block' };
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

/** The caps a new box's announcement must fit in: boxes per public network, and per IPv6 /48. */
export interface PlaceCaps {
  /** PAIRGATE_REGISTRY_MAX_PER_IP: boxes per IPv4 address or IPv6 /64. */
  perNetwork: number;
  /** PAIRGATE_REGISTRY_MAX_PER_IPV6_48: boxes on all the /64s of one IPv6 /48 together. */
  perIpv6Block: number;
}

/** What `Announcements.claim` found: places held, or the level that is full and when it frees up. */
export type PlaceClaim = { ok: true } | { ok: false; retryAfterMs: number; level: 'network' | 'ipv6-block' };

/** One level's claim: held (and the key when this claim took it, not renewed it), or the places held. */
type LevelClaim = { ok: true; took?: string } | { ok: false; held: HeldSlot[] };

/**
 * Claims one of the places of `scope` in `slots` for `holder`. A holder that holds a place renews
 * it and is never refused; one holding none takes a free slot, and one that announced twice at
 * once ends with one place (`giveBackExtras`).
 *
 * The renewal writes the place only while it is still the holder's (`renewIfHeld`): between the
 * listing and the write it may have lapsed and been taken by another box (a stalled node or
 * store), whose place a plain write took back, both boxes then counting as one; or another
 * announcement of this box may have given it back (it saw a lower one). A place found lost is
 * taken again like a new box's, from a fresh listing.
 */
async function claimPlace(slots: NumberedSlots, scope: string, holder: string, ttlMs: number, now: number): Promise<LevelClaim> {
  const held = await slots.held(scope, now);
  const own = placesOf(held, holder);
  if (own.length > 0 && (await slots.renewIfHeld(own[0]!.key, holder, ttlMs, now))) {
    // Looked at again after the write: another announcement of this box may have taken a place
    // meanwhile, which one of the two gives back.
    await giveBackExtras(slots, holder, placesOf(await slots.held(scope, now), holder), now);
    return { ok: true };
  }
  // The listing is stale once the box's place was found lost: the slots are listed again.
  const taken = await slots.take(scope, holder, ttlMs, now, own.length > 0 ? {} : { held });
  if (!taken.ok) return { ok: false, held: taken.held };
  // Looked at again: another announcement of this box may have taken a place meanwhile.
  await giveBackExtras(slots, holder, placesOf(await slots.held(scope, now), holder), now);
  return { ok: true, took: taken.key };
}

/** The milliseconds until the first of `held` frees up; a second when none is listed (every one lapsed meanwhile), not Infinity. */
function msUntilFirstFree(held: readonly HeldSlot[], now: number): number {
  const firstFree = held.length > 0 ? Math.min(...held.map((slot) => slot.expiresAt)) : now + 1000;
  return Math.max(0, firstFree - now);
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
