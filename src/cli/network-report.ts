import { arch, hostname, networkInterfaces, platform, release, uptime } from 'node:os';

/**
 * The network diagnostics report the agent may share with its supporter (only when the person asks
 * for it with /diag): host name, system, and the addresses of the network interfaces.
 */
export function networkReport(): Record<string, unknown> {
  const interfaces: Record<string, { address: string; family: string; cidr: string | null; mac: string }[]> = {};
  for (const [name, addresses] of Object.entries(networkInterfaces())) {
    const external = (addresses ?? []).filter((address) => !address.internal);
    if (external.length) interfaces[name] = external.map((a) => ({ address: a.address, family: a.family, cidr: a.cidr, mac: a.mac }));
  }
  return {
    hostname: hostname(),
    platform: platform(),
    release: release(),
    arch: arch(),
    node: process.version,
    uptimeSeconds: Math.round(uptime()),
    interfaces,
  };
}
