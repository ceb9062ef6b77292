import { networkInterfaces } from 'node:os';
import { isPrivateAddress, unicastProblem } from '../lan/ip-addresses.js';
import { preferredOutboundAddress } from '../lan/own-ip.js';

/**
 * The IPv4 address a box announces as its local one (`pairgate box announce`): the address the
 * system sends from toward the internet (the routing table's answer, as the lan door's own-IP
 * discovery asks it: no packet is sent), when it is one of this machine's interface addresses.
 * The first non-internal address of the interface list was taken before, and a Docker bridge
 * (`docker0`, 172.17.0.1) or a VPN's interface often comes first there: browsers on the network
 * were sent to an address only this machine reaches.
 *
 * Without a route (a network with no way out), a private-range address of the list, else its
 * first. Undefined when no interface holds a usable IPv4 address (Wi-Fi reconnecting, no cable):
 * the caller announces nothing rather than the loopback address.
 */
export async function boxLocalIPv4(): Promise<string | undefined> {
  const own = Object.values(networkInterfaces())
    .flatMap((entries) => entries ?? [])
    .filter((entry) => entry.family === 'IPv4' && !entry.internal && unicastProblem(entry.address) === undefined)
    .map((entry) => entry.address);
  if (own.length === 0) return undefined;
  const preferred = await preferredOutboundAddress(4);
  if (preferred.address !== undefined && own.includes(preferred.address)) return preferred.address;
  return own.find(isPrivateAddress) ?? own[0];
}
