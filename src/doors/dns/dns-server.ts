import { createSocket, type Socket as UdpSocket } from 'node:dgram';
import { isIPv6 } from 'node:net';
import { createServer, type Server, type Socket } from 'node:net';
import type { FastifyBaseLogger } from 'fastify';
import { publicNetworkOf } from '../../server/public-network.js';
import type { ConnectionRefusal } from '../../server/metrics.js';
import { largeAnswerBlockOf, slipAnswer, truncatedAnswer } from './large-answers.js';

/** Answers one wire query (see DnsResponder). */
export type DnsHandler = (query: Buffer, transport: 'udp' | 'tcp') => Promise<Buffer | undefined>;

/** Settings of the listeners. */
export interface DnsServerOptions {
  host: string;
  /** 0 picks a free port; UDP and TCP then share the number found. */
  port: number;
  handler: DnsHandler;
  logger?: Pick<FastifyBaseLogger, 'debug' | 'warn'>;
  /** How long a TCP connection may stay silent, and how long one query's frame may take to arrive whole. */
  tcpIdleMs?: number;
  maxTcpConnections?: number;
  /**
   * TCP connections one source network (an IPv4 address, an IPv6 /64: `publicNetworkOf`) may hold
   * at once (default: an eighth of maxTcpConnections, at least 1).
   */
  maxTcpPerAddress?: number;
  /**
   * UDP answers per source network (an IPv4 address, an IPv6 /64) per second (0 = unlimited).
   * Beyond it, every second query gets its question back with TC (`slipAnswer`) so a real resolver retries
   * over TCP, the rest are dropped: a spoofed source cannot turn the server into an amplifier
   * (response rate limiting).
   */
  udpPerSecond?: number;
  /**
   * UDP answers per source block (an IPv4 /24, an IPv6 /56: `largeAnswerBlockOf`) per second (0 or
   * absent = unlimited), beyond it as beyond `udpPerSecond`. That one counts per address, so a
   * spoofer spreading its queries over a victim's /24 had 256 budgets of small answers to aim at it.
   */
  udpPerBlockPerSecond?: number;
  /**
   * UDP answers longer than `udpLargeAnswerBytes` (default 512) sent per source block (an IPv4 /24,
   * an IPv6 /56: `largeAnswerBlockOf`) per second (0 or absent = unlimited). Beyond it each such
   * query gets its question back with TC set and no records (`truncatedAnswer`), never dropped:
   * no larger than the query, so a spoofer gains nothing, while a real resolver retries over TCP.
   */
  udpLargePerSecond?: number;
  /** The length over which a UDP answer counts toward `udpLargePerSecond`. */
  udpLargeAnswerBytes?: number;
  /**
   * TCP queries answered per source network per second (0 = unlimited). Beyond it the network's
   * connections are read no further until the next second: TCP's source cannot be spoofed, so
   * nothing is dropped, the queries only wait. Without it one source's 32 connections had answers
   * as fast as the database could give them, and HTTP shares that event loop.
   */
  tcpPerSecond?: number;
  /** Counts each TCP connection refused (the server's `pairgate_connections_refused_total`). */
  countRefused?: (reason: ConnectionRefusal) => void;
}

/**
 * This process's monotonic milliseconds: the rate limits' seconds and connections' idle times are
 * elapsed time. On the wall clock, each step began a new second (a fresh budget for every network),
 * and one stepped back an hour made every connection active since look idler than one silent for
 * minutes before it, so the active one was closed for a newcomer.
 */
const monotonicNow = (): number => performance.now();

/** Counts of one second, per source network: the rate limits of both transports. */
class PerSecondCounts {
  private second = -1;
  private counts = new Map<string, number>();

  /** Counts one for `network` in the current second; returns the count so far. */
  add(network: string): number {
    const second = Math.floor(monotonicNow() / 1000);
    if (second !== this.second) {
      this.second = second;
      this.counts = new Map();
    }
    const count = (this.counts.get(network) ?? 0) + 1;
    this.counts.set(network, count);
    return count;
  }
}

/** What the TCP listener keeps of one connection, to choose the one that makes way for a newcomer. */
interface TcpConnection {
  network: string;
  /** When a whole query of it was last taken, or an answer to it written: bytes trickled in do not count. */
  lastActive: number;
  /**
   * A query of it is being answered. A frame partly here, or whole but waiting for the network's
   * next second, is not: a client trickling a frame's bytes, or over its rate, is the one to close.
   */
  busy(): boolean;
}

/** A running DNS server. */
export interface RunningDnsServer {
  host: string;
  /** The port UDP and TCP listen on. */
  port: number;
  close(): Promise<void>;
}

/** Queries of one TCP connection answered at once; further frames wait unread. */
const MAX_TCP_IN_FLIGHT = 32;
/** Bytes of answers one TCP connection may have waiting to be sent before it is read no further. */
const MAX_TCP_UNSENT = 64 * 1024;

function bindUdp(host: string, port: number): Promise<UdpSocket> {
  return new Promise((resolve, reject) => {
    const socket = createSocket({ type: isIPv6(host) ? 'udp6' : 'udp4' });
    socket.once('error', reject);
    socket.bind(port, host, () => {
      socket.off('error', reject);
      resolve(socket);
    });
  });
}

function listenTcp(server: Server, host: string, port: number): Promise<void> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
}

/**
 * Serves DNS over UDP (dgram) and TCP (net, RFC 1035 length-prefixed frames, several queries per
 * connection). Nothing a client sends can crash it: every handler failure is caught and logged,
 * a zero-length TCP frame ends the connection once the queries before it are answered, a stalled
 * frame ends it at once, idle connections are closed, and a TCP connection is read only as fast as
 * its answers leave.
 */
export async function startDnsServer(options: DnsServerOptions): Promise<RunningDnsServer> {
  const { host, handler, logger } = options;
  const idleMs = options.tcpIdleMs ?? 10_000;
  const maxConnections = options.maxTcpConnections ?? 256;

  let udp: UdpSocket | undefined;
  const tcp = createServer({ allowHalfOpen: false });
  // With port 0, find a number free for both protocols.
  for (let attempt = 0; ; attempt++) {
    udp = await bindUdp(host, options.port);
    const port = udp.address().port;
    try {
      await listenTcp(tcp, host, port);
      break;
    } catch (error) {
      udp.close();
      if (options.port !== 0 || attempt >= 10) throw error;
    }
  }
  const udpSocket = udp;
  const port = udpSocket.address().port;

  udpSocket.on('error', (error) => logger?.warn({ err: error }, 'dns udp socket error'));
  const udpPerSecond = options.udpPerSecond ?? 0;
  const udpCounts = new PerSecondCounts();
  const udpPerBlock = options.udpPerBlockPerSecond ?? 0;
  const udpBlockCounts = new PerSecondCounts();
  /**
   * How far past its UDP budgets of this second a query from `address` is (0 within them). Each
   * query counts in both, so the result grows by one a query once past either, and every second
   * query past them gets the slip.
   */
  const pastUdpBudgets = (address: string): number => {
    let past = 0;
    // Per network, not per address: a host given an IPv6 /64 may send from any of its 2^64
    // addresses, and would otherwise have as many budgets.
    if (udpPerSecond > 0) past = udpCounts.add(publicNetworkOf(address)) - udpPerSecond;
    if (udpPerBlock > 0) past = Math.max(past, udpBlockCounts.add(largeAnswerBlockOf(address)) - udpPerBlock);
    return Math.max(0, past);
  };
  const largePerSecond = options.udpLargePerSecond ?? 0;
  const largeBytes = options.udpLargeAnswerBytes ?? 512;
  const largeCounts = new PerSecondCounts();
  /**
   * `answer` as it may go to `address` now: past the block's large answers of this second,
   * truncated; empty (nothing sent) should its question not be readable, never so for ours.
   */
  const limitLarge = (answer: Buffer, address: string): Buffer => {
    if (largePerSecond <= 0 || answer.length <= largeBytes) return answer;
    if (largeCounts.add(largeAnswerBlockOf(address)) <= largePerSecond) return answer;
    return truncatedAnswer(answer) ?? answer.subarray(0, 0);
  };
  /**
   * Sends one UDP answer. dgram throws, synchronously, what it cannot send (port 0, a socket
   * closed while the look-up ran): thrown out of the message listener or of the look-up's promise,
   * that ended the whole process (an uncaught exception, an unhandled rejection).
   */
  const reply = (answer: Buffer, remote: { port: number; address: string }): void => {
    try {
      udpSocket.send(answer, remote.port, remote.address, (error) => error && logger?.debug({ err: error }, 'dns udp send failed'));
    } catch (error) {
      logger?.debug({ err: error }, 'dns udp send failed');
    }
  };
  udpSocket.on('message', (message, remote) => {
    // Source port 0 means "no reply expected" (RFC 768), and no answer can be sent to it: one
    // datagram from it, which anyone can send, crashed the server when its answer was sent.
    if (remote.port === 0) return;
    const past = pastUdpBudgets(remote.address);
    if (past > 0) {
      const slip = past % 2 === 1 ? slipAnswer(message) : undefined;
      if (slip) reply(slip, remote);
      return;
    }
    handler(message, 'udp').then(
      (answer) => {
        const limited = answer && limitLarge(answer, remote.address);
        if (limited && limited.length > 0) reply(limited, remote);
      },
      (error: unknown) => logger?.warn({ err: error }, 'dns query failed'),
    );
  });

  const tcpPerSecond = options.tcpPerSecond ?? 0;
  const tcpCounts = new PerSecondCounts();
  const connections = new Map<Socket, TcpConnection>();
  // One source must not take every connection (RFC 7766 section 6.2.2): a client sending a byte
  // now and then would otherwise hold them all. A source is a network (an IPv6 /64 whole), or one
  // host would open its share from each of its addresses and fill the cap.
  const maxPerNetwork = options.maxTcpPerAddress ?? Math.max(1, Math.floor(maxConnections / 8));
  // Each network's connections, oldest first (a Set keeps insertion order).
  const perNetwork = new Map<string, Set<Socket>>();
  /** Closes `socket` to make way for a newcomer: removed now, not at its close event, so the newcomer takes its place at once. */
  const evict = (socket: Socket): void => {
    const network = connections.get(socket)?.network;
    connections.delete(socket);
    if (network !== undefined) perNetwork.get(network)?.delete(socket);
    socket.destroy();
  };
  /** The connection silent the longest with no query being answered, if any. */
  const longestIdle = (): Socket | undefined => {
    let idlest: [Socket, TcpConnection] | undefined;
    for (const entry of connections) if (!entry[1].busy() && (!idlest || entry[1].lastActive < idlest[1].lastActive)) idlest = entry;
    return idlest?.[0];
  };
  /**
   * All connections are taken: makes way for a newcomer whose network holds `held`, as RFC 7766
   * section 6.2.3 allows. The oldest of the network holding the most goes when that network holds
   * more than the newcomer's would: without it, eight networks each keeping their share busy with
   * a query now and then held every connection for as long as they liked, and no one else was
   * answered over TCP (resolvers retrying a truncated answer, CAs checking a DNS-01 challenge).
   * When no network holds more (as many networks as connections, one each: one customer's IPv6
   * /56 is 256 /64s), a newcomer holding none takes the place of the connection silent the
   * longest, unless every one has a query under way. False when it is refused instead: its network
   * already holds as many as the largest.
   */
  const makeRoomFor = (held: number): boolean => {
    let largest: Set<Socket> | undefined;
    for (const sockets of perNetwork.values()) if (!largest || sockets.size > largest.size) largest = sockets;
    if (largest && largest.size > held + 1) {
      evict(largest.values().next().value!);
      return true;
    }
    const idlest = held === 0 ? longestIdle() : undefined;
    if (!idlest) return false;
    evict(idlest);
    return true;
  };
  tcp.on('connection', (socket) => {
    const network = publicNetworkOf(socket.remoteAddress ?? '');
    const held = perNetwork.get(network)?.size ?? 0;
    if (held >= maxPerNetwork || (connections.size >= maxConnections && !makeRoomFor(held))) {
      options.countRefused?.(held >= maxPerNetwork ? 'network' : 'limit');
      socket.destroy();
      return;
    }
    let pending: Buffer = Buffer.alloc(0);
    let inFlight = 0;
    const connection: TcpConnection = { network, lastActive: monotonicNow(), busy: () => inFlight > 0 };
    connections.set(socket, connection);
    const mine = perNetwork.get(network) ?? new Set<Socket>();
    mine.add(socket);
    perNetwork.set(network, mine);
    socket.setTimeout(idleMs, () => socket.destroy());
    socket.on('error', () => socket.destroy());
    // A frame must arrive whole within the idle time from its first byte, however it trickles in:
    // the idle timeout alone restarts with every byte.
    let frameDeadline: NodeJS.Timeout | undefined;
    // Set while the network has spent its TCP queries of this second: reading resumes at the next.
    let throttled: NodeJS.Timeout | undefined;
    // Set once our side is shut after a zero-length frame: the client has this long to close too.
    let closeDeadline: NodeJS.Timeout | undefined;
    socket.on('close', () => {
      clearTimeout(frameDeadline);
      clearTimeout(throttled);
      clearTimeout(closeDeadline);
      connections.delete(socket);
      mine.delete(socket);
      if (mine.size === 0 && perNetwork.get(network) === mine) perNetwork.delete(network);
    });
    // Answers go out in query order even when look-ups finish out of order.
    let queue: Promise<void> = Promise.resolve();
    // Set once a zero-length frame is read: nothing after it is taken as a query.
    let ending = false;
    /**
     * A zero-length frame is no DNS message, so the connection ends; but the queries pipelined
     * before it are owed their answers (RFC 7766 6.2.1.1), so it ends only once they are written.
     * Destroying it at once lost every answer still being looked up. Then our side is shut
     * (FIN after the answers) and whatever the client still sends is read and dropped until it
     * closes too: closing with unread bytes would reset the connection, and a reset can discard
     * answers the client has not read yet. The idle timeout bounds the wait for the answers; the
     * wait for the client's close has a deadline of its own, as bytes it sends would restart that
     * timeout.
     */
    const endAfterAnswers = (): void => {
      ending = true;
      pending = Buffer.alloc(0);
      clearTimeout(frameDeadline);
      frameDeadline = undefined;
      socket.pause();
      void queue.then(() => {
        if (socket.destroyed) return;
        socket.end();
        socket.resume();
        closeDeadline = setTimeout(() => socket.destroy(), idleMs);
      });
    };
    // Reads only as fast as answers leave (RFC 7766 6.2.2): at most MAX_TCP_IN_FLIGHT queries are
    // being answered and MAX_TCP_UNSENT bytes of answers wait to be sent; beyond that the frames
    // stay unparsed and the socket paused. A client pipelining queries without reading the answers
    // then holds one read's worth of memory, not tens of kilobytes of answers per query it sends,
    // and its connection goes idle and is closed.
    const pump = (): void => {
      while (!socket.destroyed && !ending && !throttled && inFlight < MAX_TCP_IN_FLIGHT && socket.writableLength <= MAX_TCP_UNSENT && pending.length >= 2) {
        const length = pending.readUInt16BE(0);
        if (length === 0) {
          endAfterAnswers();
          return;
        }
        if (pending.length < 2 + length) break; // a partial frame: wait for the rest (or the frame deadline)
        if (tcpPerSecond > 0 && tcpCounts.add(network) > tcpPerSecond) {
          throttled = setTimeout(() => {
            throttled = undefined;
            pump();
          }, 1_001 - (monotonicNow() % 1_000));
          break;
        }
        const frame = Buffer.from(pending.subarray(2, 2 + length));
        pending = pending.subarray(2 + length);
        connection.lastActive = monotonicNow();
        inFlight++;
        const answered = handler(frame, 'tcp').catch((error: unknown) => {
          logger?.warn({ err: error }, 'dns query failed');
          return undefined;
        });
        queue = queue.then(async () => {
          const answer = await answered;
          inFlight--;
          if (answer && !socket.destroyed) {
            connection.lastActive = monotonicNow();
            const prefix = Buffer.alloc(2);
            prefix.writeUInt16BE(answer.length, 0);
            socket.write(Buffer.concat([prefix, answer]));
          }
          pump();
        });
      }
      if (socket.destroyed || ending) return;
      const backedUp = throttled !== undefined || inFlight >= MAX_TCP_IN_FLIGHT || socket.writableLength > MAX_TCP_UNSENT;
      if (backedUp) socket.pause();
      else socket.resume();
      // The frame deadline runs only while a frame is partly here: waiting on the client, not on us.
      const partial = pending.length > 0 && (pending.length < 2 || pending.length < 2 + pending.readUInt16BE(0));
      if (!partial) {
        clearTimeout(frameDeadline);
        frameDeadline = undefined;
      } else {
        frameDeadline ??= setTimeout(() => socket.destroy(), idleMs);
      }
    };
    socket.on('drain', pump);
    socket.on('data', (chunk: Buffer) => {
      if (ending) return; // after a zero-length frame: read only to see the client close, never answered
      pending = pending.length === 0 ? chunk : Buffer.concat([pending, chunk]);
      pump();
    });
  });
  tcp.on('error', (error) => logger?.warn({ err: error }, 'dns tcp server error'));

  let closing: Promise<void> | undefined;
  return {
    host,
    port,
    close() {
      closing ??= new Promise<void>((resolve) => {
        for (const socket of connections.keys()) socket.destroy();
        let open = 2;
        const done = (): void => {
          if (--open === 0) resolve();
        };
        udpSocket.close(done);
        tcp.close(() => done());
      });
      return closing;
    },
  };
}
