import { connect } from 'node:net';

/**
 * Writes `raw` (a request's bytes, as no HTTP client would send them) on a new connection to
 * `base`; resolves with everything the server sent once it closes the connection, and rejects when
 * it keeps the connection open for 5 s.
 */
export function rawExchange(base: string, raw: string | Buffer): Promise<string> {
  const { hostname, port } = new URL(base);
  return new Promise((resolve, reject) => {
    const socket = connect(Number(port), hostname);
    let received = '';
    socket.setEncoding('utf8');
    socket.on('data', (chunk: string) => {
      received += chunk;
    });
    socket.on('error', reject);
    socket.on('close', () => resolve(received));
    socket.setTimeout(5_000, () => {
      socket.destroy();
      reject(new Error(`the server kept the connection open; it sent: ${received}`));
    });
    socket.write(raw);
  });
}
