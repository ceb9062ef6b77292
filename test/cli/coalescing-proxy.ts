import { connect, createServer, type Socket } from 'node:net';

/** A TCP proxy in front of a server, for {@link coalescingProxy}. */
export interface Proxy {
  url: string;
  close(): Promise<void>;
}

/** Where a {@link coalescingProxy} joins the server's bytes into one write. */
export interface Coalescing {
  /** Text that starts the hold: the chunk holding it is held, and what follows. */
  from: string;
  /** Text that ends it: once the held bytes hold it, they go to the client in one write. */
  until: string;
  /**
   * Done once, when the held bytes first hold `at`: what a test makes the server do meanwhile
   * (end the session), so that what the server says of it is in the same write.
   */
  meanwhile?: { at: string; act: () => void };
}

/**
 * A proxy to the server at `target()` (asked at each connection) that hands what the server
 * writes apart, from `from` to `until`, to the client in one write: the client reads them in one
 * packet, as a busy machine may (the first message with the upgrade's answer, the history with
 * the welcome). Every other byte passes as it comes.
 */
export async function coalescingProxy(target: () => URL, { from, until, meanwhile }: Coalescing): Promise<Proxy> {
  const sockets = new Set<Socket>();
  const server = createServer((client) => {
    const upstream = connect(Number(target().port), target().hostname);
    for (const socket of [client, upstream]) {
      sockets.add(socket);
      socket.on('close', () => sockets.delete(socket));
      socket.on('error', () => undefined);
    }
    client.on('close', () => upstream.destroy());
    upstream.on('close', () => client.destroy());
    client.pipe(upstream);
    let held: Buffer | undefined;
    let done = false;
    let acted = false;
    upstream.on('data', (chunk: Buffer) => {
      if (done || (!held && !chunk.includes(from))) {
        client.write(chunk);
        return;
      }
      held = held ? Buffer.concat([held, chunk]) : chunk;
      if (meanwhile && !acted && held.includes(meanwhile.at)) {
        acted = true;
        meanwhile.act();
      }
      if (!held.includes(until)) return;
      client.write(held);
      done = true;
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  return {
    url: `http://127.0.0.1:${port}`,
    close: () => {
      for (const socket of sockets) socket.destroy();
      return new Promise((resolve) => server.close(() => resolve()));
    },
  };
}
