import { connect, type Socket } from 'node:net';

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

/** A connection a test holds open: what it received so far, and its end. */
export interface OpenConnection {
  socket: Socket;
  received: () => string;
  closed: Promise<void>;
}

/** A new connection to the server at `base` that has written `sent` (nothing when empty), kept open. */
export async function openConnection(base: string, sent: string): Promise<OpenConnection> {
  const socket = connect(Number(new URL(base).port), '127.0.0.1');
  let received = '';
  socket.setEncoding('utf8');
  socket.on('data', (chunk: string) => {
    received += chunk;
  });
  socket.on('error', () => undefined);
  const closed = new Promise<void>((resolve) => socket.on('close', () => resolve()));
  await new Promise((resolve) => socket.once('connect', resolve));
  if (sent) socket.write(sent);
  return { socket, received: () => received, closed };
}

/** One HTTP answer read off a socket: its status, lower-cased headers and body. */
export interface RawAnswer {
  status: number;
  headers: Record<string, string>;
  body: string;
}

/** The last answer in `received` (what a connection got, pipelined answers one after the other). */
export function lastRawAnswer(received: string): RawAnswer {
  const start = received.lastIndexOf('HTTP/1.1 ');
  const headEnd = received.indexOf('\r\n\r\n', start);
  if (start < 0 || headEnd < 0) throw new Error(`no whole answer in: ${received}`);
  const [statusLine = '', ...lines] = received.slice(start, headEnd).split('\r\n');
  const headers = Object.fromEntries(lines.map((line) => {
    const colon = line.indexOf(':');
    return [line.slice(0, colon).trim().toLowerCase(), line.slice(colon + 1).trim()];
  }));
  return { status: Number(statusLine.split(' ')[1]), headers, body: received.slice(headEnd + 4) };
}

/** Waits until `condition` holds, checking every 10 ms, for 5 s at most. */
export async function waitUntil(condition: () => boolean, what: string): Promise<void> {
  for (let waited = 0; !condition(); waited += 10) {
    if (waited > 5_000) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}
