import { randomBytes } from 'node:crypto';
import dgram from 'node:dgram';
import net from 'node:net';
import { networkInterfaces } from 'node:os';
import { isPrivateAddress, unicastProblem } from './ip-addresses.js';

/**
 * Own-IP discovery, the seed's three stages, each reported:
 *
 * 1. Ask the OS for the preferred outbound address (a UDP socket "connected" to a public address:
 *    this only consults the routing table, no packet is sent), then confirm it by calling our own
 *    pairing listener on that address with a nonce.
 * 2. Otherwise list the interfaces, keep private-range unicast addresses, call the pairing listener
 *    on each with a nonce, keep those that answer.
 * 3. Otherwise report that no address could be confirmed: the peers must find each other by
 *    multicast discovery.
 *
 * "Our own listener" is the pairing port itself (its protocol sniffer answers the probe line), so
 * an address where that port is bound away or filtered by a firewall is not confirmed. Only where
 * no pairing listener exists yet (the doctor run on its own) is a throwaway echo listener called,
 * which then proves the address, not a port.
 */

/** The line a self-call sends: this prefix, a nonce, a newline. Its first byte is not TLS's 0x16. */
export const OWN_IP_PROBE = 'PAIRGATE-OWN-IP ';
const OWN_IP_ANSWER = 'pairgate-own-ip:';

/**
 * The answer to a self-call's first bytes, or undefined when they are not one: what both the
 * echo listener and the pairing listener's protocol sniffer send back.
 */
export function ownIpProbeAnswer(first: Buffer): string | undefined {
  const line = first.subarray(0, 80).toString('latin1');
  const match = /^PAIRGATE-OWN-IP ([A-Za-z0-9_-]{1,64})\r?\n/.exec(line);
  return match ? `${OWN_IP_ANSWER}${match[1]}\n` : undefined;
}

/** The outcome of one stage. */
export interface OwnIpStage {
  stage: 1 | 2 | 3;
  name: string;
  status: 'ok' | 'fail' | 'skip';
  addresses: string[];
  detail: string;
}

/** The outcome of own-IP discovery. */
export interface OwnIpReport {
  /** Confirmed addresses (empty when only multicast discovery is left). */
  addresses: string[];
  stages: OwnIpStage[];
  /** True when stage 3 was reached: rely on multicast discovery. */
  useDiscovery: boolean;
}

// Routing-table look-up targets for stage 1. Nothing is sent to them.
const ROUTE_PROBE_V4 = '8.8.8.8';
const ROUTE_PROBE_V6 = '2001:4860:4860::8888';

/** The address the OS would send from toward the internet, or an error text. */
export function preferredOutboundAddress(family: 4 | 6 = 4): Promise<{ address?: string; error?: string }> {
  return new Promise((resolve) => {
    const socket = dgram.createSocket(family === 4 ? 'udp4' : 'udp6');
    const done = (result: { address?: string; error?: string }) => {
      try { socket.close(); } catch { /* already closed */ }
      resolve(result);
    };
    socket.once('error', (error) => done({ error: error.message }));
    socket.connect(53, family === 4 ? ROUTE_PROBE_V4 : ROUTE_PROBE_V6, () => {
      try {
        const address = socket.address().address;
        // Without a route some kernels leave the socket unbound instead of failing the connect.
        done(unicastProblem(address) ? { error: `no usable source address (got ${address})` } : { address });
      } catch (error) {
        done({ error: (error as Error).message });
      }
    });
  });
}

/**
 * A tiny TCP listener on all addresses that echoes a nonce: what "calling oneself" reaches. Closing
 * it drops the connections still open: `server.close()` alone waits for them, and a caller that
 * sent a probe line and then kept sending a byte now and then (each one restarting the idle
 * timeout) held the doctor's own-address check, and the `pairgate doctor` process, for as long as
 * it liked.
 */
export async function startEchoListener(): Promise<{ port: number; close(): Promise<void> }> {
  const open = new Set<net.Socket>();
  const server = net.createServer((socket) => {
    open.add(socket);
    socket.once('close', () => open.delete(socket));
    socket.setTimeout(2000, () => socket.destroy());
    socket.once('data', (data) => {
      const answer = ownIpProbeAnswer(data);
      if (answer) socket.end(answer);
      else socket.destroy();
    });
    socket.on('error', () => undefined);
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', (error: NodeJS.ErrnoException) => {
      // No IPv6 on this host: all IPv4 addresses then.
      if (error.code === 'EAFNOSUPPORT' || error.code === 'EADDRNOTAVAIL') server.listen(0, '0.0.0.0', () => resolve());
      else reject(error);
    });
    server.listen({ port: 0, host: '::', ipv6Only: false }, () => resolve());
  });
  const port = (server.address() as net.AddressInfo).port;
  return {
    port,
    close: () => new Promise<void>((resolve) => {
      server.close(() => resolve());
      for (const socket of open) socket.destroy();
    }),
  };
}

/**
 * Calls our own listener (the pairing listener, or the echo listener) at `address` and `port` with
 * a nonce; resolves an error text, or undefined when it answered with the nonce.
 */
export function callSelf(address: string, port: number, timeoutMs: number): Promise<string | undefined> {
  const nonce = randomBytes(12).toString('base64url');
  return new Promise((resolve) => {
    const socket = net.connect({ host: address, port });
    let answer = '';
    const timer = setTimeout(() => { socket.destroy(); resolve(`no answer within ${timeoutMs} ms`); }, timeoutMs);
    socket.on('connect', () => socket.write(`${OWN_IP_PROBE}${nonce}\n`));
    socket.on('data', (data) => { answer += data.toString('utf8'); });
    socket.on('error', (error) => { clearTimeout(timer); resolve(error.message); });
    socket.on('close', () => {
      clearTimeout(timer);
      resolve(answer.trim() === `${OWN_IP_ANSWER}${nonce}` ? undefined : 'the answer did not carry our nonce');
    });
  });
}

/** Private-range unicast addresses of the interfaces that are up. */
export function privateInterfaceAddresses(): string[] {
  const found: string[] = [];
  for (const entries of Object.values(networkInterfaces())) {
    for (const entry of entries ?? []) if (!entry.internal && isPrivateAddress(entry.address)) found.push(entry.address);
  }
  return found;
}

/** Options of own-IP discovery. */
export interface OwnIpOptions {
  /** How long one self-call may take (default 1.5 s). */
  timeoutMs?: number;
  /**
   * The running pairing listener's port: the stages confirm each address by calling it there. Without
   * it (no listener yet, as in the doctor) a throwaway echo listener on all addresses is called.
   */
  listenerPort?: number;
  log?: (line: string) => void;
}

/** Calls our own listener on each address at once; the addresses that answered, and every result. */
export async function confirmAddresses(addresses: string[], port: number, timeoutMs: number): Promise<{ confirmed: string[]; results: { address: string; problem?: string }[] }> {
  const results = await Promise.all(addresses.map(async (address) => {
    const problem = await callSelf(address, port, timeoutMs);
    return problem ? { address, problem } : { address };
  }));
  return { confirmed: results.filter((r) => !r.problem).map((r) => r.address), results };
}

/** Runs the three stages; `log` hears each as it finishes. */
export async function discoverOwnAddresses(options: OwnIpOptions = {}): Promise<OwnIpReport> {
  const timeoutMs = options.timeoutMs ?? 1500;
  const stages: OwnIpStage[] = [];
  const record = (stage: OwnIpStage) => {
    stages.push(stage);
    options.log?.(`own IP stage ${stage.stage} (${stage.name}): ${stage.status}${stage.addresses.length ? ` [${stage.addresses.join(', ')}]` : ''} - ${stage.detail}`);
  };
  const echo = options.listenerPort === undefined ? await startEchoListener() : undefined;
  const port = options.listenerPort ?? echo!.port;
  const called = echo ? 'our own (echo) listener' : `our own pairing listener (port ${port})`;
  try {
    const preferred = await preferredOutboundAddress(4);
    if (preferred.address) {
      const problem = await callSelf(preferred.address, port, timeoutMs);
      if (!problem) {
        record({ stage: 1, name: 'preferred outbound address', status: 'ok', addresses: [preferred.address], detail: `confirmed by calling ${called}` });
        record({ stage: 2, name: 'private interface addresses', status: 'skip', addresses: [], detail: 'stage 1 succeeded' });
        record({ stage: 3, name: 'multicast discovery', status: 'skip', addresses: [], detail: 'stage 1 succeeded' });
        return { addresses: [preferred.address], stages, useDiscovery: false };
      }
      record({ stage: 1, name: 'preferred outbound address', status: 'fail', addresses: [preferred.address], detail: `cannot reach ${called} there: ${problem}` });
    } else {
      record({ stage: 1, name: 'preferred outbound address', status: 'fail', addresses: [], detail: `the OS has no route: ${preferred.error}` });
    }
    const candidates = privateInterfaceAddresses();
    const { confirmed: reachable, results } = await confirmAddresses(candidates, port, timeoutMs);
    if (reachable.length > 0) {
      record({ stage: 2, name: 'private interface addresses', status: 'ok', addresses: reachable, detail: `${reachable.length} of ${candidates.length} private addresses answered on ${called}` });
      record({ stage: 3, name: 'multicast discovery', status: 'skip', addresses: [], detail: 'stage 2 succeeded' });
      return { addresses: reachable, stages, useDiscovery: false };
    }
    record({
      stage: 2, name: 'private interface addresses', status: 'fail', addresses: [],
      detail: candidates.length ? results.map((r) => `${r.address}: ${r.problem}`).join('; ') : 'no private-range address on any interface that is up',
    });
    record({ stage: 3, name: 'multicast discovery', status: 'ok', addresses: [], detail: 'no address confirmed: the peer must find this device by multicast discovery' });
    return { addresses: [], stages, useDiscovery: true };
  } finally {
    await echo?.close();
  }
}
