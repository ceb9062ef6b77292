/**
 * A fair share of a server-wide cap under pressure. Each network's own cap (its share) alone still
 * lets `serverWide / share` networks hold every place (20 for the device door's defaults, 100 for
 * the access door's), and then no one else is served. So once half the places are taken, a network
 * already holding more than QUIET_SHARE is refused: networks holding many fill half the places at
 * most, and the other half stays for networks holding a few each, which an attacker would need
 * `serverWide / 2 / QUIET_SHARE` more networks to fill.
 */

/** What a network may hold and still count as quiet. */
export const QUIET_SHARE = 5;

/**
 * The server-wide cap a network holding `held` (the new one included) may fill: all of
 * `serverWide` while it is quiet, half of it once it holds more than QUIET_SHARE. `crowded` says
 * which, so the refusal can tell the network why.
 */
export function crowdedCapacity(held: number, serverWide: number): { max: number; crowded: boolean } {
  const crowded = held > QUIET_SHARE;
  return { max: crowded ? Math.max(1, Math.floor(serverWide / 2)) : serverWide, crowded };
}
