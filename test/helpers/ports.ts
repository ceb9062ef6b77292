import { createServer } from 'node:net';

/**
 * A loopback TCP port nothing listens on: taken from the system (port 0), then freed. For a server
 * a test starts on a known port, or for a connection that must find no one there.
 */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}
