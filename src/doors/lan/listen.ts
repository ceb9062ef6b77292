import type { AddressInfo, Server } from 'node:net';

/**
 * Starts a (TLS or sniffing) server on all addresses: `::` with IPv4 mapped (dual stack), or 0.0.0.0 where the
 * host has no IPv6. `host` narrows it (tests bind to loopback).
 */
export async function listenTls(server: Server, port: number, host?: string): Promise<number> {
  await new Promise<void>((resolve, reject) => {
    const onError = (error: NodeJS.ErrnoException) => {
      if (!host && (error.code === 'EAFNOSUPPORT' || error.code === 'EADDRNOTAVAIL')) {
        server.once('error', reject);
        server.listen(port, '0.0.0.0', () => resolve());
      } else {
        reject(error);
      }
    };
    server.once('error', onError);
    server.listen({ port, host: host ?? '::', ipv6Only: false }, () => {
      server.off('error', onError);
      resolve();
    });
  });
  return (server.address() as AddressInfo).port;
}

/** The peer's address without the IPv4-mapped prefix. */
export function plainAddress(address: string | undefined): string {
  return (address ?? '').replace(/^::ffff:/, '');
}
