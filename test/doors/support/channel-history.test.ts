import { describe, expect, it } from 'vitest';
import { connectAgent, type ChannelEvent, type SessionChannel } from '../../../src/sdk/support.js';
import { chatTranscript, connectedSession, useSupportServers } from './helpers.js';

/** Chat as fast as the tests send it. */
const FAST_CHAT = { PAIRGATE_SUPPORT_CHANNEL_MESSAGES_PER_SECOND: '1000' };

/** The `from` and `text` of chat events, for comparing transcripts. */
const lines = (events: ChannelEvent[]): string[] => events.map((event) => `${event.from}: ${event.text}`);

describe('support channel: the chat so far for an agent that asks (a reloaded session page)', () => {
  const servers = useSupportServers(FAST_CHAT);

  /** Closes the agent's socket and waits until the session says it is gone (its lease is free again). */
  async function leave(supporter: SessionChannel, agent: SessionChannel): Promise<void> {
    const disconnected = supporter.next((e) => e.type === 'state' && e.state === 'confirmed');
    agent.close();
    await disconnected;
  }

  it('after a reconnect, history holds both sides of the chat, oldest first, without diagnostics; then only new messages follow', async () => {
    const { supporter, agent, meshServer, credential } = await connectedSession(servers.origin, 'history-basic');
    supporter.say('one');
    await agent.next((e) => e.type === 'message' && e.text === 'one');
    const heard = supporter.next((e) => e.type === 'diagnostics');
    agent.say('two');
    agent.sendDiagnostics({ network: 'ok' });
    await heard;
    await leave(supporter, agent);

    const again = await connectAgent(meshServer, credential, 'browser', { history: true });
    const history = await again.next((e) => e.type === 'history', 5000);
    expect(lines(history.messages!)).toEqual(['supporter: one', 'agent: two']);
    supporter.say('three');
    expect(await again.next((e) => e.type === 'message', 5000)).toMatchObject({ from: 'supporter', text: 'three' });
    again.close();
  });

  it('an agent that does not ask gets no history, only what is said after it joined', async () => {
    const { supporter, agent, meshServer, credential } = await connectedSession(servers.origin, 'history-not-asked');
    supporter.say('before');
    await agent.next((e) => e.type === 'message' && e.text === 'before');
    await leave(supporter, agent);

    const again = await connectAgent(meshServer, credential);
    const seen: ChannelEvent[] = [];
    again.onEvent((event) => seen.push(event));
    supporter.say('after');
    await expect.poll(() => seen.some((e) => e.type === 'message')).toBe(true);
    expect(seen.map((e) => e.type)).toEqual(['message']);
    expect(seen[0]).toMatchObject({ text: 'after' });
    again.close();
  });

  it('messages said while the agent joins appear exactly once, in order, across the history and the live messages', async () => {
    const { supporter, agent, meshServer, credential } = await connectedSession(servers.origin, 'history-race');
    supporter.say('m0');
    await agent.next((e) => e.type === 'message' && e.text === 'm0');
    await leave(supporter, agent);

    // The supporter keeps talking while the agent's hello is handled; none may be lost or shown
    // twice. (In one process the store answers at once; two-nodes.test.ts runs the same through a
    // store a network away, where messages do arrive while the history is read.)
    const texts = Array.from({ length: 40 }, (_, i) => `m${i + 1}`);
    const joining = connectAgent(meshServer, credential, 'browser', { history: true });
    for (const text of texts) {
      supporter.say(text);
      await new Promise((resolve) => setImmediate(resolve));
    }
    const transcript = chatTranscript(await joining);
    await expect.poll(() => transcript.at(-1), { timeout: 10_000 }).toBe('m40');
    expect(transcript).toEqual(['m0', ...texts]);
  });
});

describe('support channel: the chat so far for a supporter who attaches again', () => {
  const servers = useSupportServers(FAST_CHAT);

  it('with history: what the person wrote while nobody was attached comes after the state, both ways, oldest first; then only new messages', async () => {
    const { sdk, supporter, agent } = await connectedSession(servers.origin, 'supporter-history');
    supporter.say('hello');
    await agent.next((e) => e.type === 'message' && e.text === 'hello');
    supporter.close();
    // Nobody is attached: this used to reach no one, ever.
    agent.say('are you still there?');
    await new Promise((resolve) => setTimeout(resolve, 200));

    const again = await sdk.attach('supporter-history', { history: true });
    const seen: ChannelEvent[] = [];
    again.onEvent((event) => seen.push(event));
    await expect.poll(() => seen.map((e) => e.type)).toEqual(['state', 'history']);
    expect(seen[0]).toMatchObject({ state: 'connected' });
    expect(lines(seen[1]!.messages!)).toEqual(['supporter: hello', 'agent: are you still there?']);
    agent.say('good');
    await expect.poll(() => seen.length).toBe(3);
    expect(seen[2]).toMatchObject({ type: 'message', from: 'agent', text: 'good' });
    again.close();

    // Without asking, as before: the state, then what is said from then on.
    const plain = await sdk.attach('supporter-history');
    const plainSeen: ChannelEvent[] = [];
    plain.onEvent((event) => plainSeen.push(event));
    agent.say('after');
    await expect.poll(() => plainSeen.map((e) => e.type)).toEqual(['state', 'message']);
    plain.close();
  });

  it('messages the agent sends while the supporter attaches appear exactly once, in order', async () => {
    const { sdk, supporter, agent } = await connectedSession(servers.origin, 'supporter-history-race');
    agent.say('m0');
    await supporter.next((e) => e.type === 'message' && e.text === 'm0');
    supporter.close();
    const texts = Array.from({ length: 40 }, (_, i) => `m${i + 1}`);
    const attaching = sdk.attach('supporter-history-race', { history: true });
    for (const text of texts) {
      agent.say(text);
      await new Promise((resolve) => setImmediate(resolve));
    }
    const transcript = chatTranscript(await attaching);
    await expect.poll(() => transcript.at(-1), { timeout: 10_000 }).toBe('m40');
    expect(transcript).toEqual(['m0', ...texts]);
  });
});
