import { Duplex } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { FramedChannel } from '../../../src/doors/lan/frames.js';

/** A socket whose writes are never taken (its buffer stays full) and which can be closed at will. */
function stuckSocket(): Duplex {
  return new Duplex({ highWaterMark: 1024, read() {}, write() {} });
}

/** `promise`, or 'pending' when it has not settled within `ms`. */
function settledWithin<T>(promise: Promise<T>, ms: number): Promise<T | 'pending'> {
  return Promise.race([promise, new Promise<'pending'>((resolve) => setTimeout(() => resolve('pending'), ms))]);
}

describe('sending payload bytes on a connection that is lost', () => {
  it('fails with lan_connection_lost when the connection closed before the send, instead of waiting for a drain forever', async () => {
    const socket = stuckSocket();
    const channel = new FramedChannel(socket);
    socket.destroy();
    await new Promise((resolve) => socket.once('close', resolve));
    const sent = channel.sendData(Buffer.alloc(256 * 1024)).then(() => 'sent', (error: { code?: string }) => error.code);
    expect(await settledWithin(sent, 1000)).toBe('lan_connection_lost');
  });

  it('fails with lan_connection_lost when the connection closes while the send waits for the buffer to drain', async () => {
    const socket = stuckSocket();
    const channel = new FramedChannel(socket);
    const sent = channel.sendData(Buffer.alloc(256 * 1024)).then(() => 'sent', (error: { code?: string }) => error.code);
    setTimeout(() => socket.destroy(), 20);
    expect(await settledWithin(sent, 1000)).toBe('lan_connection_lost');
  });

  it('fails with lan_connection_lost when the socket is destroyed but has not told its close yet', async () => {
    const socket = stuckSocket();
    const channel = new FramedChannel(socket);
    // Fill the buffer first, then destroy: the next write returns false on a destroyed socket.
    socket.write(Buffer.alloc(4096));
    socket.destroy();
    const sent = channel.sendData(Buffer.alloc(256 * 1024)).then(() => 'sent', (error: { code?: string }) => error.code);
    expect(await settledWithin(sent, 1000)).toBe('lan_connection_lost');
  });
});
