import { describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import { MAX_BUFFERED, MAX_TEXT } from '../../../src/doors/support/channel-limits.js';
import { LOG_KEEP } from '../../../src/doors/support/session-log.js';
import { ADMIN_AUTH, connectedSession, useSupportServers, escapedText, sayAll } from './helpers.js';

/*
 * A `history` is the latest LOG_KEEP messages of up to MAX_TEXT characters each: in UTF-8, a long
 * chat in Chinese or Japanese (3 bytes a character), or one full of control characters (6 bytes
 * each as JSON escapes), is several MB in one message, above the MAX_BUFFERED a socket may hold
 * unread. The server chose to send it: the side asking for it must get it, on every reconnect,
 * over a network slower than loopback too.
 */

/** A message of MAX_TEXT characters, each 3 bytes in UTF-8 (CJK), numbered at its start. */
const cjk = (n: number): string => `${n}:${'漢字かな'.repeat(MAX_TEXT)}`.slice(0, MAX_TEXT);



/** What a socket that read slowly got: the texts of its history (undefined for none), and whether it was cut off. */
interface SlowRead {
  history: string[] | undefined;
  cutOff: boolean;
  socket: WebSocket;
  events: Record<string, unknown>[];
}

/**
 * Opens a socket to `url` (sending `hello` first, for an agent) that reads nothing for `stallMs`
 * once open, as a peer a real network away takes a few MB in a while, not at once; then reads on
 * and reports what it got within `waitMs`.
 */
async function slowReader(url: string, headers: Record<string, string>, hello: unknown | undefined, stallMs = 500, waitMs = 10_000): Promise<SlowRead> {
  const socket = new WebSocket(url, { headers });
  const events: Record<string, unknown>[] = [];
  let cutOff = false;
  socket.on('message', (data) => events.push(JSON.parse(String(data)) as Record<string, unknown>));
  socket.on('error', () => undefined);
  const closed = new Promise<void>((resolve) => socket.once('close', () => ((cutOff = true), resolve())));
  await new Promise<void>((resolve, reject) => {
    socket.once('open', () => resolve());
    socket.once('unexpected-response', (_request, response) => reject(new Error(`upgrade refused: ${response.statusCode}`)));
  });
  if (hello !== undefined) socket.send(JSON.stringify(hello));
  socket.pause();
  await new Promise((resolve) => setTimeout(resolve, stallMs));
  socket.resume();
  const history = (): Record<string, unknown> | undefined => events.find((e) => e.type === 'history');
  const deadline = Date.now() + waitMs;
  while (!history() && !cutOff && Date.now() < deadline) await Promise.race([closed, new Promise((resolve) => setTimeout(resolve, 50))]);
  const messages = history()?.messages as { text: string }[] | undefined;
  return { history: messages?.map((m) => m.text), cutOff, socket, events };
}

/** Compares a history with the texts expected, without printing megabytes on a failure. */
function summary(read: SlowRead, expected: string[]): { cutOff: boolean; historyLength: number | undefined; same: boolean } {
  return { cutOff: read.cutOff, historyLength: read.history?.length, same: JSON.stringify(read.history) === JSON.stringify(expected) };
}

describe('support channel: a history larger than MAX_BUFFERED still arrives', () => {
  const servers = useSupportServers({ PAIRGATE_SUPPORT_CHANNEL_MESSAGES_PER_SECOND: '10000' });

  /** Fills session `id`'s log with `texts` from the agent, then attaches twice with history, reading slowly. */
  async function attachTwiceWithHistory(id: string, texts: string[]): Promise<void> {
    const { supporter, agent } = await connectedSession(servers.origin, id);
    await sayAll(agent, supporter, texts);
    supporter.close();
    const url = `${servers.origin.url.replace(/^http/, 'ws')}/session/${id}/channel?history=true`;
    let expected = texts;
    for (let attempt = 0; attempt < 2; attempt++) {
      const read = await slowReader(url, { authorization: ADMIN_AUTH }, undefined);
      // Before the fix: cut off as a peer that reads nothing, at every attempt, and never attached with history.
      expect(summary(read, expected)).toEqual({ cutOff: false, historyLength: expected.length, same: true });
      // Still attached: live messages follow.
      agent.say(`after ${attempt}`);
      await expect.poll(() => read.events.at(-1), { timeout: 10_000 }).toMatchObject({ type: 'message', text: `after ${attempt}` });
      expected = [...expected.slice(1), `after ${attempt}`];
      read.socket.close();
    }
  }

  it('a supporter attaching again with history gets LOG_KEEP long CJK messages (over 2 MB), every time, and stays attached', async () => {
    const texts = Array.from({ length: LOG_KEEP }, (_, i) => cjk(i));
    expect(Buffer.byteLength(JSON.stringify(texts))).toBeGreaterThan(2 * MAX_BUFFERED);
    await attachTwiceWithHistory('long-history-cjk', texts);
  }, 120_000);

  it('a supporter attaching again with history gets LOG_KEEP messages of control characters (JSON escapes, over 4 MB), every time', async () => {
    const texts = Array.from({ length: LOG_KEEP }, (_, i) => escapedText(i));
    expect(Buffer.byteLength(JSON.stringify(texts))).toBeGreaterThan(4 * MAX_BUFFERED);
    await attachTwiceWithHistory('long-history-escaped-supporter', texts);
  }, 120_000);

  it('an agent joining again with history gets LOG_KEEP messages of control characters (JSON escapes)', async () => {
    const { supporter, agent, meshServer, credential } = await connectedSession(servers.origin, 'long-history-escaped-agent');
    const texts = Array.from({ length: LOG_KEEP }, (_, i) => escapedText(i));
    expect(Buffer.byteLength(JSON.stringify(texts))).toBeGreaterThan(4 * MAX_BUFFERED);
    await sayAll(supporter, agent, texts);
    const disconnected = supporter.next((e) => e.type === 'state' && e.state === 'confirmed');
    agent.close();
    await disconnected;
    const read = await slowReader(meshServer, {}, { type: 'hello', credential, agent: 'browser', history: true });
    expect(summary(read, texts)).toEqual({ cutOff: false, historyLength: LOG_KEEP, same: true });
    supporter.say('after');
    await expect.poll(() => read.events.at(-1), { timeout: 10_000 }).toMatchObject({ type: 'message', text: 'after' });
    read.socket.close();
  }, 120_000);

  it('a supporter that asked for a long history and reads nothing is still cut off once more than MAX_BUFFERED waits for it', async () => {
    const { supporter, agent } = await connectedSession(servers.origin, 'long-history-stalled');
    await sayAll(agent, supporter, Array.from({ length: LOG_KEEP }, (_, i) => escapedText(i)));
    const url = `${servers.origin.url.replace(/^http/, 'ws')}/session/long-history-stalled/channel?history=true`;
    const stalled = new WebSocket(url, { headers: { authorization: ADMIN_AUTH } });
    stalled.on('error', () => undefined);
    let reports = 0;
    stalled.on('message', (data) => {
      if (String(data).includes('"diagnostics"')) reports++;
    });
    const closed = new Promise<number>((resolve) => stalled.once('close', (code) => resolve(code)));
    await new Promise((resolve) => stalled.once('open', resolve));
    stalled.pause();
    // 400 reports of 30 KB (12 MB) said after it attached: they wait behind the history it does not take.
    const count = 400;
    for (let i = 0; i < count; i++) agent.sendDiagnostics({ n: i, filler: 'x'.repeat(30_000) });
    for (let i = 0; i < count; i++) await supporter.next((e) => e.type === 'diagnostics', 30_000);
    stalled.resume();
    // Cut off: it closes without getting them all (the server did not keep 12 MB for it).
    const code = await Promise.race([closed, new Promise<undefined>((resolve) => setTimeout(() => resolve(undefined), 10_000))]);
    expect({ closed: code !== undefined, allReceived: reports === count }).toEqual({ closed: true, allReceived: false });
    supporter.close();
  }, 120_000);

  it('a session ended while a long history is on its way: the history, then `ended`, then the close (4000)', async () => {
    const { supporter, agent } = await connectedSession(servers.origin, 'long-history-ended');
    await sayAll(agent, supporter, Array.from({ length: LOG_KEEP }, (_, i) => escapedText(i)));
    const url = `${servers.origin.url.replace(/^http/, 'ws')}/session/long-history-ended/channel?history=true`;
    const socket = new WebSocket(url, { headers: { authorization: ADMIN_AUTH } });
    socket.on('error', () => undefined);
    const types: unknown[] = [];
    socket.on('message', (data) => types.push((JSON.parse(String(data)) as { type: unknown }).type));
    const closed = new Promise<number>((resolve) => socket.once('close', (code) => resolve(code)));
    await new Promise((resolve) => socket.once('open', resolve));
    socket.pause();
    // Once the history is under way (more than the kernel's buffers take), the agent ends the session.
    await new Promise((resolve) => setTimeout(resolve, 500));
    agent.end();
    await supporter.next((e) => e.type === 'ended', 10_000);
    socket.resume();
    // Before: the close went between two fragments of the history, which never arrived, nor `ended`.
    expect(await closed).toBe(4000);
    expect(types).toEqual(['state', 'history', 'ended']);
  }, 120_000);
});
