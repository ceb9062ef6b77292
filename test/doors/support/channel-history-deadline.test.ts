import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import { allDoors } from '../../../src/doors/index.js';
import { MAX_BUFFERED } from '../../../src/doors/support/channel-limits.js';
import { supportDoor, supportDoorWith } from '../../../src/doors/support/support-door.js';
import { LOG_KEEP } from '../../../src/doors/support/session-log.js';
import type { TestApp } from '../../helpers/app.js';
import { ADMIN_AUTH, connectedSession, startOrigin, startRelay, escapedText, sayAll } from './helpers.js';

/*
 * A history is sent in fragments, each once the one before left the server (sendLong): a peer
 * that takes nothing stalls it with up to about 5 MB held here. The pings do not judge a socket its
 * MessagePacer paused (its peer sends faster than the pace), so a peer that keeps sending and reads
 * nothing kept its stalled history, and its socket, for ever. A history has a deadline
 * (HISTORY_DEADLINE_MS, a minute; 1.5 s here): not all sent by then, the socket is cut off.
 */

const DEADLINE_MS = 1500;



/** What a stalled socket found once it read again: whether it got its history, and whether it was cut off. */
interface Stalled {
  history: boolean;
  cutOff: boolean;
}

/**
 * Opens a socket to `url` that reads nothing (its own socket paused) and sends `first` (an agent's
 * hello), then `spam` bad messages at once, so that the server's pacer keeps the socket paused too;
 * after `stallMs` it reads again: a socket the server cut off meanwhile finds the end of the stream
 * before the whole history, one still open gets the history.
 */
async function stalledSender(url: string, headers: Record<string, string>, first: unknown | undefined, spam: number, stallMs: number): Promise<Stalled> {
  const socket = new WebSocket(url, { headers });
  socket.on('error', () => undefined);
  let history = false;
  let cutOff = false;
  socket.on('message', (data) => {
    if (String(data).startsWith('{"type":"history"')) history = true;
  });
  const closed = new Promise<void>((resolve) => socket.once('close', () => ((cutOff = true), resolve())));
  await new Promise<void>((resolve, reject) => {
    socket.once('open', () => resolve());
    socket.once('unexpected-response', (_request, response) => reject(new Error(`upgrade refused: ${response.statusCode}`)));
  });
  socket.pause();
  if (first !== undefined) socket.send(JSON.stringify(first));
  for (let i = 0; i < spam; i++) socket.send('{}');
  await new Promise((resolve) => setTimeout(resolve, stallMs));
  socket.resume();
  const deadline = Date.now() + 10_000;
  while (!history && !cutOff && Date.now() < deadline) await Promise.race([closed, new Promise((resolve) => setTimeout(resolve, 50))]);
  socket.terminate();
  return { history, cutOff };
}

describe('support channel: a history not taken within its deadline has its socket cut off', () => {
  let relay: TestApp;
  let origin: TestApp;
  beforeAll(async () => {
    relay = await startRelay();
    // Pings every second: they would cut off a silent peer within 2 s, but not one its pacer paused.
    // 50 messages a second after a burst of 250: the history is filled at once, and the stalled
    // socket's thousands of messages keep it paused for the whole test.
    const doors = allDoors.map((door) => (door === supportDoor ? supportDoorWith({ historyDeadlineMs: DEADLINE_MS }) : door));
    origin = await startOrigin(relay.url, { PAIRGATE_SUPPORT_PING_SECONDS: '1', PAIRGATE_SUPPORT_CHANNEL_MESSAGES_PER_SECOND: '50' }, { doors });
  });
  afterAll(async () => {
    await origin?.close();
    await relay?.close();
  });

  it('a supporter that asked for a long history, reads nothing and keeps sending is cut off within the deadline', async () => {
    const { supporter, agent } = await connectedSession(origin, 'deadline-supporter');
    const texts = Array.from({ length: LOG_KEEP }, (_, i) => escapedText(i));
    // More than the kernel's buffers take on loopback, so the history stalls.
    expect(Buffer.byteLength(JSON.stringify(texts))).toBeGreaterThan(4 * MAX_BUFFERED);
    await sayAll(agent, supporter, texts);
    const url = `${origin.url.replace(/^http/, 'ws')}/session/deadline-supporter/channel?history=true`;
    // Before the fix: still open after the deadline and two more pings (and for ever, as long as it
    // sends), the pings never judging it; it then got the history.
    expect(await stalledSender(url, { authorization: ADMIN_AUTH }, undefined, 20_000, DEADLINE_MS + 2_000)).toEqual({ history: false, cutOff: true });
    supporter.close();
    agent.close();
  }, 60_000);

  it('an agent that asked for a long history, reads nothing and keeps sending is cut off within the deadline', async () => {
    const { supporter, agent, meshServer, credential } = await connectedSession(origin, 'deadline-agent');
    await sayAll(supporter, agent, Array.from({ length: LOG_KEEP }, (_, i) => escapedText(i)));
    const disconnected = supporter.next((e) => e.type === 'state' && e.state === 'confirmed');
    agent.close();
    await disconnected;
    const connected = supporter.next((e) => e.type === 'state' && e.state === 'connected', 5_000);
    expect(await stalledSender(meshServer, {}, { type: 'hello', credential, agent: 'browser', history: true }, 20_000, DEADLINE_MS + 2_000)).toEqual({ history: false, cutOff: true });
    await connected;
    // Its place is given back: the supporter sees it gone.
    await supporter.next((e) => e.type === 'state' && e.state === 'confirmed', 5_000);
    supporter.close();
  }, 60_000);
});
