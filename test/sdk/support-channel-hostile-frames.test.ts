import { createServer } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WebSocketServer } from 'ws';
import { connectAgent, MAX_CHANNEL_FRAME_BYTES } from '../../src/sdk/support.js';
import { listening } from './consumer-sdk-helpers.js';

/** The welcome a session channel's server sends first. */
const welcome = (): string => JSON.stringify({ type: 'welcome', session: 's', supporterName: 'T', expiresAt: new Date().toISOString(), supporterAttached: true });

/**
 * A stand-in for a session channel's server, listening for the tests of the calling describe: on
 * the first message of each socket it sends, in order, the frames `frames()` makes then (so the
 * times in them are the send's). Read `url` inside the tests.
 */
function useFakeChannel(frames: () => readonly string[]): { readonly url: string } {
  let server: { url: string; server: ReturnType<typeof createServer> };
  let sockets: WebSocketServer;
  beforeAll(async () => {
    server = await listening(createServer());
    sockets = new WebSocketServer({ server: server.server });
    sockets.on('connection', (socket) => {
      socket.once('message', () => {
        for (const frame of frames()) socket.send(frame);
      });
    });
  });
  afterAll(async () => {
    sockets.close();
    await new Promise<void>((resolve) => server.server.close(() => resolve()));
  });
  return {
    get url() {
      return server.url;
    },
  };
}

/**
 * The session channel's client reads what the server sends: for `pairgate join`, whatever server
 * a code led to (on an open relay, anyone's). A frame that is JSON but no object (`null`, a number,
 * a list) threw a TypeError inside the socket's message listener, which no caller can catch: the
 * process (the agent, a supporter's tool built on the SDK) ended with an uncaught exception.
 */
describe('SDK session channel: frames that are JSON but no object are left out', () => {
  const server = useFakeChannel(() => [
    'null', '42', '[1,2]', '"text"', 'true',
    welcome(),
    'null',
    JSON.stringify({ type: 'message', from: 'supporter', text: 'still here', at: new Date().toISOString() }),
  ]);

  it('the welcome and the messages after such frames arrive; nothing is thrown', async () => {
    const uncaught: unknown[] = [];
    const onUncaught = (error: unknown): void => {
      uncaught.push(error);
    };
    process.on('uncaughtException', onUncaught);
    try {
      const channel = await connectAgent(`${server.url.replace('http', 'ws')}/agent/s:token`, 'credential');
      expect(channel.welcome).toMatchObject({ type: 'welcome', supporterName: 'T' });
      const message = await channel.next((event) => event.type === 'message', 5_000);
      expect(message.text).toBe('still here');
      channel.close();
      expect(uncaught).toEqual([]);
    } finally {
      process.off('uncaughtException', onUncaught);
    }
  });
});

describe('SDK session channel: a history\'s entries and a frame\'s size', () => {
  const server = useFakeChannel(() => [
    welcome(),
    JSON.stringify({ type: 'history', messages: [null, 5, 'text', { from: 'supporter', text: 'hello' }] }),
    JSON.stringify({ type: 'message', from: 'supporter', text: 'x'.repeat(MAX_CHANNEL_FRAME_BYTES) }),
  ]);

  it('keeps only the history entries that are objects (join reads from and text of each), and closes on a frame over 8 MiB, never passing it on', async () => {
    const channel = await connectAgent(`${server.url.replace('http', 'ws')}/agent/s:token`, 'credential', 'test', { history: true });
    const seen: string[] = [];
    channel.on('event', (event: { type: string }) => seen.push(event.type));
    const history = await channel.next((event) => event.type === 'history', 5_000);
    expect(history.messages).toEqual([{ from: 'supporter', text: 'hello' }]);
    // ws refuses the frame (WS_ERR_UNSUPPORTED_MESSAGE_LENGTH) and closes with 1009; the close this end
    // reports is 1006 or 1009, depending on whether the server's echo of it came in time.
    const closed = await new Promise<{ code: number }>((resolve) => channel.once('close', resolve));
    expect([1006, 1009]).toContain(closed.code);
    expect(seen).not.toContain('message');
  });
});
