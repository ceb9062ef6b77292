import { Duplex } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { FramedChannel, MAX_DATA_FRAME } from '../../../src/doors/lan/frames.js';
import { controlFrame } from './lan-fixtures.js';

/**
 * A frame may come in as many pieces as its sender likes: over TLS each record it sends (one byte
 * of content is enough) arrives as one chunk. The reader joined every chunk to the part of the
 * frame read so far, copying it again each time: a 256 KiB data frame in one-byte records (about
 * 6 MB on the wire, from anyone on the network, before any secret or key is proven) cost some 34
 * GB of copying and held the process (an offer, `lan connect --listen`) for seconds per frame.
 * Now the pieces are joined once the frame is whole.
 */

/** A socket as the channel sees it: what the test emits is what arrives, chunk by chunk. */
function socketPair(): { socket: Duplex; channel: FramedChannel } {
  const socket = new Duplex({ read() { /* chunks are emitted by the test */ }, write(_chunk, _encoding, done) { done(); } });
  return { socket, channel: new FramedChannel(socket, 'listener') };
}

/** Emits `bytes` one byte per chunk, as a sender of one-byte TLS records makes them arrive. */
function trickle(socket: Duplex, bytes: Buffer): void {
  for (let i = 0; i < bytes.length; i++) socket.emit('data', bytes.subarray(i, i + 1));
}

describe('frames that arrive in tiny pieces', () => {
  it('a largest data frame in one-byte chunks is read whole, in time linear in its size', async () => {
    const { socket, channel } = socketPair();
    const body = Buffer.alloc(MAX_DATA_FRAME);
    for (let i = 0; i < body.length; i++) body[i] = i % 251;
    const head = Buffer.alloc(5);
    head[0] = 2;
    head.writeUInt32BE(body.length, 1);
    const received = channel.receive(60_000);
    const started = performance.now();
    trickle(socket, Buffer.concat([head, body]));
    const frame = await received;
    const elapsed = performance.now() - started;
    expect(frame.kind).toBe('data');
    expect(frame.kind === 'data' && frame.data.equals(body)).toBe(true);
    // Tens of milliseconds now; over 8 s when each chunk copied what had come before.
    expect(elapsed).toBeLessThan(2000);
  }, 60_000);

  it('frames cut anywhere and run together are read in order, each whole', async () => {
    const { socket, channel } = socketPair();
    const first = controlFrame({ t: 'hello', n: 'a'.repeat(3000) });
    const second = controlFrame({ t: 'done' });
    const data = Buffer.concat([Buffer.from([2, 0, 0, 0, 3]), Buffer.from('xyz')]);
    const all = Buffer.concat([first, second, data]);
    // Cut so that pieces end inside a header, inside a body, and span two frames.
    const cuts = [2, 4, 7, 1500, first.length - 1, first.length + 3, first.length + second.length + 2, all.length];
    let from = 0;
    for (const to of cuts) {
      socket.emit('data', all.subarray(from, to));
      from = to;
    }
    expect(await channel.receive(1000)).toMatchObject({ kind: 'json', message: { t: 'hello', n: 'a'.repeat(3000) } });
    expect(await channel.receive(1000)).toMatchObject({ kind: 'json', message: { t: 'done' } });
    const last = await channel.receive(1000);
    expect(last.kind === 'data' && last.data.toString()).toBe('xyz');
  });

  it('a header announcing more than the limit is refused at once, before its body comes', async () => {
    const { socket, channel } = socketPair();
    const received = channel.receive(5000);
    received.catch(() => undefined);
    const head = Buffer.alloc(5);
    head[0] = 2;
    head.writeUInt32BE(MAX_DATA_FRAME + 1, 1);
    trickle(socket, head);
    await expect(received).rejects.toMatchObject({ code: 'lan_protocol_error', message: expect.stringContaining('size limit') });
  });
});
