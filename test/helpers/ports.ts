import { randomInt } from 'node:crypto';
import dgram from 'node:dgram';
import { readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';

/**
 * Ports handed out by this helper, kept apart from three kinds of takers between the moment a test
 * gets a port and the moment its server (often a child process told the port in its arguments or
 * config) binds it:
 * - other test files running at the same time (vitest runs files in parallel worker processes): each
 *   port is reserved for the process that got it, across processes, until that process exits;
 * - anything binding port 0 or connecting out (servers of this run, clients of PostgreSQL...): the
 *   port comes from outside the kernel's ephemeral range, which those never get;
 * - anything else already there: the port is free for TCP and UDP on 127.0.0.1 when handed out.
 * A reserved port nobody binds stays closed: fit for a test that needs a port where nothing listens.
 */

/** Where the kernel picks ports for port 0 and outgoing connections (Linux; its default elsewhere). */
function ephemeralRange(): [number, number] {
  try {
    const [low, high] = readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8').trim().split(/\s+/).map(Number);
    if (low && high) return [low, high];
  } catch {
    // Not Linux: assume the IANA range.
  }
  return [49152, 65535];
}

/** The widest stretch of ports from 10000 up (below it live well-known services) outside the ephemeral range. */
function candidateRange(): [number, number] {
  const [low, high] = ephemeralRange();
  const below: [number, number] = [10_000, low - 1];
  const above: [number, number] = [Math.max(10_000, high + 1), 65_535];
  return below[1] - below[0] >= above[1] - above[0] ? below : above;
}

/** This process's reservations; they last until it exits (a test file's process in vitest's forks pool). */
const held = new Set<Server>();

/**
 * Reserves `port` for this process until it exits; false when a process holds it already (this one
 * included). The reservation is a Unix socket in Linux's abstract namespace: the kernel allows one
 * holder per name and frees it when the holder's process ends however it ends, even killed, so no
 * stale lock is left behind for the next run (a lock file left by a crash would be). Abstract names
 * are per network namespace like ports themselves. Elsewhere than Linux: no reservation (true).
 */
export function reservePort(port: number): Promise<boolean> {
  if (process.platform !== 'linux') return Promise.resolve(true);
  return new Promise((resolve, reject) => {
    const lock = createServer();
    lock.once('error', (error: NodeJS.ErrnoException) => (error.code === 'EADDRINUSE' ? resolve(false) : reject(error)));
    lock.listen(`\0pairgate-test-port-${port}`, () => {
      // Held for the process's life without keeping it alive.
      lock.unref();
      held.add(lock);
      resolve(true);
    });
  });
}

/** Whether a TCP server and a UDP socket can bind 127.0.0.1:`port` (alone: UDP without SO_REUSEADDR). */
async function bindable(port: number): Promise<boolean> {
  const tcp = await new Promise<boolean>((resolve) => {
    const server = createServer();
    server.once('error', () => resolve(false));
    server.listen(port, '127.0.0.1', () => server.close(() => resolve(true)));
  });
  if (!tcp) return false;
  return new Promise<boolean>((resolve) => {
    const socket = dgram.createSocket({ type: 'udp4', reuseAddr: false });
    socket.once('error', () => {
      socket.close();
      resolve(false);
    });
    socket.bind(port, '127.0.0.1', () => socket.close(() => resolve(true)));
  });
}

/**
 * A loopback port for this test file alone, TCP or UDP, nothing bound to it: for a server a test
 * starts on a port it must know beforehand (a child's arguments or config, a URL in its settings), for
 * a multicast discovery port, or for a connection that must find no one there. See the top of this
 * file for why it stays ours until used. Servers that can listen on port 0 and report their port
 * should do that instead.
 */
export async function freePort(): Promise<number> {
  const [low, high] = candidateRange();
  for (let attempt = 0; attempt < 200; attempt++) {
    const port = randomInt(low, high + 1);
    // Reserved first, checked second: once reserved, no other test file checks or uses it.
    if ((await reservePort(port)) && (await bindable(port))) return port;
  }
  throw new Error(`no free port found between ${low} and ${high}`);
}
