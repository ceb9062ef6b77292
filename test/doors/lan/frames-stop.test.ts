import { createServer, connect, type Socket } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { FramedChannel } from '../../../src/doors/lan/frames.js';
import { interruptedNotice } from '../../../src/doors/lan/peer-failure.js';

/** A connected pair of real TCP sockets on loopback. */
async function socketPair(): Promise<{ a: Socket; b: Socket; close: () => void }> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const accepted = new Promise<Socket>((resolve) => server.once('connection', resolve));
  const a = connect((server.address() as { port: number }).port, '127.0.0.1');
  const b = await accepted;
  return { a, b, close: () => { a.destroy(); b.destroy(); server.close(); } };
}

const pairs: { close: () => void }[] = [];
afterEach(() => {
  for (const pair of pairs.splice(0)) pair.close();
});

/**
 * Ctrl-C on a device receiving a file: it tells the sender, then its process ends. Ending with the
 * file's bytes unread makes the kernel reset the connection, and the sender, busy writing, failed
 * on the reset ("connection lost") before it read the notice (seen in CI). The stopped side reads
 * on until the sender has closed, so the sender always reads why.
 */
describe('stopping a channel that is receiving a file', () => {
  it('waits for the sender to close, reading what still comes, so the sender learns it was stopped, not that the connection was lost', async () => {
    for (let round = 0; round < 5; round++) {
      const pair = await socketPair();
      pairs.push(pair);
      const sender = new FramedChannel(pair.a);
      const receiver = new FramedChannel(pair.b);
      // In the middle of an exchange: both ends proved the secret, so their words are shown.
      sender.authenticate();
      receiver.authenticate();
      // The sender writes a file far larger than the sockets' buffers.
      const sending = (async () => {
        for (let i = 0; i < 2000; i++) await sender.sendData(Buffer.alloc(256 * 1024, i));
        return 'finished';
      })().catch((error: { code?: string; message?: string }) => {
        sender.endWith(error);
        return `${error.code}: ${error.message}`;
      });
      expect((await receiver.receive(5000)).kind).toBe('data');
      await receiver.stopFor(interruptedNotice('SIGINT'));
      const closedWhenStopped = pair.b.destroyed || pair.b.closed;
      // What the process's end does: the socket goes at once, with whatever is left unread.
      pair.b.destroy();
      expect(await sending).toMatch(/^lan_peer_failed: .*stopped \(Ctrl-C\)/);
      expect(closedWhenStopped).toBe(true);
    }
  }, 30_000);

  it('resolves at once when there is no connection left to tell', async () => {
    const pair = await socketPair();
    pairs.push(pair);
    const channel = new FramedChannel(pair.b);
    pair.b.destroy();
    await new Promise((resolve) => pair.b.once('close', resolve));
    await expect(channel.stopFor(interruptedNotice('SIGTERM'))).resolves.toBeUndefined();
  });
});
