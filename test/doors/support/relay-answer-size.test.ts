import { createServer, type Server } from 'node:http';
import { describe, expect, it } from 'vitest';
import { ADMIN_AUTH, postJson, startOrigin } from './helpers.js';

/** What the fake relay sends at most (then ends the answer, still not valid JSON). */
const LIMIT = 256 * 1024 * 1024;

/**
 * A "relay" that answers a publish with a JSON body that does not end (spaces, as fast as the
 * origin takes them, up to LIMIT), and counts the bytes it got out before the origin hung up.
 */
async function endlessRelay(): Promise<{ url: string; sent: () => number; close: () => Promise<void> }> {
  let sent = 0;
  const chunk = Buffer.alloc(64 * 1024, 0x20);
  const server: Server = createServer((request, response) => {
    request.resume();
    response.writeHead(200, { 'content-type': 'application/json' });
    response.write('{"success": true, "code": "7auu83", "pad": "');
    const pump = (): void => {
      while (!response.destroyed && sent < LIMIT) {
        sent += chunk.length;
        if (!response.write(chunk)) {
          response.once('drain', pump);
          return;
        }
      }
      if (!response.destroyed) response.end();
    };
    pump();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : 0;
  return {
    url: `http://127.0.0.1:${port}`,
    sent: () => sent,
    close: () => new Promise((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    }),
  };
}

describe('support origin: what it reads of the relay\'s answer', () => {
  it('a relay answering without end is cut off after a small answer\'s worth: 502 relay_bad_answer at once, not megabytes read for the whole timeout', async () => {
    const relay = await endlessRelay();
    const origin = await startOrigin(relay.url, { PAIRGATE_SUPPORT_RELAY_TIMEOUT_SECONDS: '5' });
    try {
      const started = Date.now();
      const response = await postJson(`${origin.url}/session`, { id: 'endless', supporter_name: 'T', supporter_avatar: 'https://img.example/a.png' }, { authorization: ADMIN_AUTH });
      expect(response.status).toBe(502);
      expect(await response.json()).toMatchObject({ Error: 'Bad Gateway', Code: 'relay_bad_answer' });
      expect(Date.now() - started).toBeLessThan(3_000);
      // What the relay got out: the origin's first reads plus what the sockets buffer, far below the
      // gigabytes a loopback link carries in 5 s.
      expect(relay.sent()).toBeLessThan(32 * 1024 * 1024);
    } finally {
      await origin.close();
      await relay.close();
    }
  }, 30_000);
});
