import net from 'node:net';
import { networkInterfaces } from 'node:os';
import type tls from 'node:tls';
import { unfinishedConnections, type ConnectionLimits } from './connection-limits.js';
import { ownIpProbeAnswer } from './own-ip.js';

/**
 * One port for two things: the pairing TLS listener, and `GET /diagnostics` in plain HTTP for
 * whoever sits on the same machine. The first byte tells them apart (a TLS handshake record starts
 * with 0x16). Diagnostics answer only loopback callers: they name addresses and the device, which
 * the network at large need not learn. The own-IP probe line (`own-ip.ts`) is answered too, so
 * own-IP discovery confirms an address on this very port; only calls from one of this machine's
 * own addresses get an answer (a self-call comes from one), so strangers learn nothing from it.
 * Anything else is closed. Connections that have not finished their TLS handshake are limited per
 * address and in all (`connection-limits.ts`); the TLS server's `handshakeTimeout` bounds how long.
 */

const TLS_HANDSHAKE = 0x16;

/** The most of a request's head read for `/diagnostics`: curl's and the CLI's take a few hundred bytes. */
const MAX_HEAD_BYTES = 16 * 1024;
/** How long the rest of a request's head may take once its first bytes came. */
const HEAD_WAIT_MS = 5_000;

/**
 * The head of the plain HTTP request that `first` starts (up to its empty line), read to its end:
 * the checks of `fromAWebPage` need every header, and a head comes in as many TCP segments as its
 * sender likes (headers cut after Host, an `Origin` in the next segment, read nothing of it).
 * Undefined when the head is over MAX_HEAD_BYTES, takes over HEAD_WAIT_MS, or the socket closes.
 */
function readHead(socket: net.Socket, first: Buffer): Promise<Buffer | undefined> {
  return new Promise((resolve) => {
    let head = first;
    const done = (result: Buffer | undefined): void => {
      clearTimeout(timer);
      socket.off('data', onData);
      socket.off('close', onClose);
      resolve(result);
    };
    const check = (): boolean => {
      const end = head.indexOf('\r\n\r\n');
      if (end >= 0 && end + 4 <= MAX_HEAD_BYTES) done(head.subarray(0, end + 4));
      else if (head.length >= MAX_HEAD_BYTES) done(undefined);
      else return false;
      return true;
    };
    const onData = (more: Buffer): void => {
      head = Buffer.concat([head, more]);
      check();
    };
    const onClose = (): void => done(undefined);
    const timer = setTimeout(() => done(undefined), HEAD_WAIT_MS);
    if (check()) return;
    socket.on('data', onData);
    socket.once('close', onClose);
  });
}

function isLoopback(address: string | undefined): boolean {
  const a = (address ?? '').replace(/^::ffff:/, '');
  return a === '::1' || a.startsWith('127.');
}

/** Loopback, or an address of one of this machine's interfaces: where a self-call comes from. */
function isOwnAddress(address: string | undefined): boolean {
  if (isLoopback(address)) return true;
  const a = (address ?? '').replace(/^::ffff:/, '').replace(/%.*$/, '');
  return Object.values(networkInterfaces()).some((entries) => (entries ?? []).some((e) => e.address.replace(/%.*$/, '') === a));
}

/** What a diagnostics request asks for. */
export interface DiagnosticsRequest {
  /** False for `GET /diagnostics?doctor=0`: the listener's state alone, at once. */
  doctor: boolean;
}

/**
 * Whether a loopback `GET /diagnostics` was sent by a web page rather than by the person's own
 * tools (curl, the CLI): its Host is not a loopback name (a page of a name that an attacker's DNS
 * points at 127.0.0.1, DNS rebinding, could otherwise read the answer), or it carries an `Origin`,
 * or a `Sec-Fetch-Site` other than `none` (any page could otherwise start a doctor run with a
 * plain cross-site GET). Such a request gets the plain 404 of any other path.
 */
function fromAWebPage(request: Buffer): boolean {
  const head = request.toString('latin1');
  const end = head.indexOf('\r\n\r\n');
  const lines = (end < 0 ? head : head.slice(0, end)).split('\r\n').slice(1);
  const header = (name: string): string | undefined => {
    const line = lines.find((candidate) => candidate.toLowerCase().startsWith(`${name}:`));
    return line?.slice(name.length + 1).trim().toLowerCase();
  };
  const host = header('host');
  if (host === undefined || !/^(127\.0\.0\.1|localhost|\[::1\])(:\d{1,5})?$/.test(host)) return true;
  if (header('origin') !== undefined) return true;
  const site = header('sec-fetch-site');
  return site !== undefined && site !== 'none';
}

/**
 * A plain TCP server that hands TLS connections to `tlsServer`, answers own-IP probes and
 * `GET /diagnostics` (with what `diagnostics` returns or resolves to; it must bound its own time).
 */
export function sniffingServer(tlsServer: tls.Server, diagnostics: (request: DiagnosticsRequest) => unknown, limits: ConnectionLimits = {}): net.Server {
  const unfinished = unfinishedConnections(limits);
  tlsServer.on('secureConnection', (socket) => unfinished.finished(socket));
  // Node reports a failed or timed-out handshake (`handshakeTimeout`) here but leaves the
  // connection open, for as long as the other side likes: close it.
  tlsServer.on('tlsClientError', (_error, socket) => socket.destroy());
  const front = net.createServer((socket) => {
    socket.on('error', () => undefined);
    if (!unfinished.admit(socket)) return;
    socket.setTimeout(10_000, () => socket.destroy());
    socket.once('data', (first: Buffer) => {
      socket.setTimeout(0);
      if (first[0] === TLS_HANDSHAKE) {
        socket.pause();
        socket.unshift(first);
        tlsServer.emit('connection', socket);
        return;
      }
      const probeAnswer = ownIpProbeAnswer(first);
      if (probeAnswer) {
        if (isOwnAddress(socket.remoteAddress)) socket.end(probeAnswer);
        else socket.destroy();
        return;
      }
      if (!/^[A-Z]/.test(first.toString('latin1', 0, 1))) {
        socket.destroy();
        return;
      }
      void readHead(socket, first).then((head) => {
        if (head) answerHttp(socket, head, diagnostics);
        else socket.destroy();
      });
    });
  });
  // close() waits for every connection to end: one left before or in its TLS handshake by someone
  // on the network would hold it (and whoever awaits it: the doctor's report, an offer's end).
  const close = front.close.bind(front);
  front.close = (callback?: (error?: Error) => void) => {
    const closing = close(callback);
    unfinished.dropAll();
    return closing;
  };
  return front;
}

/** Answers a plain HTTP request whose whole head is `head`: `/diagnostics` to the person's own tools, 404 to anything else. */
function answerHttp(socket: net.Socket, head: Buffer, diagnostics: (request: DiagnosticsRequest) => unknown): void {
  const line = head.subarray(0, 64).toString('latin1');
  const diagnosticsPath = /^GET \/diagnostics(\?[^ ]*)? /.exec(line);
  if (isLoopback(socket.remoteAddress) && diagnosticsPath && !fromAWebPage(head)) {
    const doctor = !/[?&]doctor=0(&|$)/.test(diagnosticsPath[1] ?? '');
    void (async () => {
      let status = '200 OK';
      let body: string;
      try {
        body = JSON.stringify(await diagnostics({ doctor }));
      } catch (error) {
        status = '500 Internal Server Error';
        body = JSON.stringify({ error: 'lan_diagnostics_failed', message: (error as Error).message });
      }
      socket.end(`HTTP/1.1 ${status}\r\ncontent-type: application/json\r\ncontent-length: ${Buffer.byteLength(body)}\r\ncache-control: no-store\r\nconnection: close\r\n\r\n${body}`);
    })();
    return;
  }
  if (/^[A-Z]+ /.test(line)) socket.end('HTTP/1.1 404 Not Found\r\ncontent-length: 0\r\nconnection: close\r\n\r\n');
  else socket.destroy();
}
