import net from 'node:net';
import type tls from 'node:tls';

/**
 * One port for two things: the pairing TLS listener, and `GET /diagnostics` in plain HTTP for
 * whoever sits on the same machine. The first byte tells them apart (a TLS handshake record starts
 * with 0x16). Diagnostics answer only loopback callers: they name addresses and the device, which
 * the network at large need not learn. Anything else is closed.
 */

const TLS_HANDSHAKE = 0x16;

function isLoopback(address: string | undefined): boolean {
  const a = (address ?? '').replace(/^::ffff:/, '');
  return a === '::1' || a.startsWith('127.');
}

/** A plain TCP server that hands TLS connections to `tlsServer` and answers `GET /diagnostics`. */
export function sniffingServer(tlsServer: tls.Server, diagnostics: () => unknown): net.Server {
  return net.createServer((socket) => {
    socket.on('error', () => undefined);
    socket.setTimeout(10_000, () => socket.destroy());
    socket.once('data', (first: Buffer) => {
      socket.setTimeout(0);
      if (first[0] === TLS_HANDSHAKE) {
        socket.pause();
        socket.unshift(first);
        tlsServer.emit('connection', socket);
        return;
      }
      const line = first.subarray(0, 64).toString('latin1');
      if (isLoopback(socket.remoteAddress) && /^GET \/diagnostics[ ?]/.test(line)) {
        const body = JSON.stringify(diagnostics());
        socket.end(`HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: ${Buffer.byteLength(body)}\r\ncache-control: no-store\r\nconnection: close\r\n\r\n${body}`);
        return;
      }
      if (/^[A-Z]+ /.test(line)) socket.end('HTTP/1.1 404 Not Found\r\ncontent-length: 0\r\nconnection: close\r\n\r\n');
      else socket.destroy();
    });
  });
}
