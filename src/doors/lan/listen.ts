import type { AddressInfo, Server } from 'node:net';
import { explainListenError, type Listener } from '../../server/listen-errors.js';

/**
 * The lan listeners' settings, as the commands name them (`lan offer`, `lan connect --listen`,
 * `doctor`): a port in use or an address not of this machine is told in words with the option
 * to change (exit code 2), not as Node's `listen EADDRNOTAVAIL` (exit code 1).
 */
const LAN_LISTENER: Listener = { purpose: 'pairing', portSetting: '--port', hostSetting: '--bind' };

/**
 * Starts a (TLS or sniffing) server on all addresses: `::` with IPv4 mapped (dual stack), or 0.0.0.0 where the
 * host has no IPv6. `host` narrows it (tests bind to loopback).
 */
export async function listenTls(server: Server, port: number, host?: string): Promise<number> {
  try {
    await listenOn(server, port, host);
  } catch (error) {
    throw explainListenError(error, { ...LAN_LISTENER, ...(host ? { host } : {}), ...(port ? { port } : {}) });
  }
  return (server.address() as AddressInfo).port;
}

function listenOn(server: Server, port: number, host: string | undefined): Promise<void> {
  return new Promise<void>((resolve, reject) => {
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
}

/** The peer's address without the IPv4-mapped prefix. */
export function plainAddress(address: string | undefined): string {
  return (address ?? '').replace(/^::ffff:/, '');
}
