import { request as httpRequest, type IncomingHttpHeaders } from 'node:http';
import { afterAll, beforeAll, expect } from 'vitest';
import { WebSocket } from 'ws';
import { createTestApp, type TestApp } from '../../helpers/app.js';
import { createTestDatabase, createTestPrefix, REDIS_URL } from '../../helpers/services.js';
import { MAX_TEXT } from '../../../src/doors/support/channel-limits.js';
import { supportRelayDoor } from '../../../src/doors/support/relay-door.js';
import { confirmPairing, connectAgent, SupportOriginClient, type SessionChannel } from '../../../src/sdk/support.js';
import type { Clock } from '../../../src/core/clock.js';
import type { EphemeralStore, MessageBus } from '../../../src/store/ports.js';
export { freePort } from '../../helpers/ports.js';

/** Supporter credentials of the test origins. */
export const ADMIN = { user: 'support', password: '1234' };
/** The Authorization header of ADMIN. */
export const ADMIN_AUTH = `Basic ${Buffer.from(`${ADMIN.user}:${ADMIN.password}`).toString('base64')}`;

/**
 * Relay settings for tests: plain http on loopback, creation and per-address limits that tests (all
 * from 127.0.0.1) do not hit by accident.
 */
export const RELAY_TEST_ENV = { PAIRGATE_RELAY_ALLOW_HTTP: 'true', PAIRGATE_RELAY_CREATE_MAX: '1000', PAIRGATE_RELAY_CREATE_WINDOW_SECONDS: '60', PAIRGATE_RELAY_MAX_LIVE_CODES_PER_IP: '1000' };

/**
 * Settings of an origin at `url` that is also the relay it publishes on (at /relay), as one
 * process serves both in the Chromium suites; `env` on top.
 */
export function selfRelayingOriginEnv(url: string, env: Record<string, string> = {}): Record<string, string> {
  return {
    ...RELAY_TEST_ENV,
    PAIRGATE_PUBLIC_URL: url,
    PLEXUS_AUTH_USER: ADMIN.user,
    PLEXUS_AUTH_PASS: ADMIN.password,
    PLEXUS_PAIRING_URL: `${url}/relay/pairing/`,
    PLEXUS_COMPANY_NAME: 'The great PC support',
    ...env,
  };
}

/** A relay alone (relay-only, at /), listening. */
export async function startRelay(env: Record<string, string> = {}): Promise<TestApp> {
  const relay = await createTestApp({ ...RELAY_TEST_ENV, PAIRGATE_RELAY_ONLY: 'true', ...env }, { doors: [supportRelayDoor] });
  await relay.listen();
  return relay;
}

/** An origin (every door; its own relay at /relay stays unused) publishing on `relayUrl`. */
export async function startOrigin(relayUrl: string, env: Record<string, string> = {}, options: Parameters<typeof createTestApp>[1] = {}): Promise<TestApp> {
  const origin = await createTestApp({
    PLEXUS_AUTH_USER: ADMIN.user,
    PLEXUS_AUTH_PASS: ADMIN.password,
    PLEXUS_PAIRING_URL: relayUrl ? `${relayUrl}/pairing/` : '',
    PLEXUS_COMPANY_NAME: 'The great PC support',
    PLEXUS_COMPANY_LOGO: 'https://img.example/logo.png',
    ...RELAY_TEST_ENV,
    ...env,
  }, options);
  await origin.listen();
  return origin;
}

/** A relay, an origin publishing on it, and an SDK client of the origin as its supporter. */
export interface SupportServers {
  relay: TestApp;
  origin: TestApp;
  sdk: SupportOriginClient;
}

/**
 * Starts a relay and an origin before the tests of the calling describe block and closes them
 * after; the fields are there from the first test on.
 */
export function useSupportServers(originEnv: Record<string, string> = {}): SupportServers {
  const servers = {} as SupportServers;
  beforeAll(async () => {
    servers.relay = await startRelay();
    servers.origin = await startOrigin(servers.relay.url, originEnv);
    servers.sdk = new SupportOriginClient({ baseUrl: servers.origin.url, ...ADMIN });
  });
  afterAll(async () => {
    await servers.origin?.close();
    await servers.relay?.close();
  });
  return servers;
}

/**
 * For suites that look up unknown codes from one address on purpose, many within minutes (races
 * whose losers miss, answers to unknown codes compared): 100 misses in five minutes instead of 5.
 * Such a budget is above the brute-force budget, which is lifted with it.
 */
export const ROOMY_MISSES = { PAIRGATE_CODE_MISSES_PER_HOUR: '1200', PAIRGATE_BRUTE_FORCE_BUDGET: '1' };

/** Two origin nodes of one deployment (A and B) behind one relay, and what they share. */
export interface TwoOriginNodes {
  relay: TestApp;
  a: TestApp;
  b: TestApp;
  /** The PostgreSQL database both nodes use. */
  databaseUrl: string;
  /** The Redis key prefix both nodes use (with Redis). */
  redisPrefix: string;
}

/**
 * Starts a relay and two origins sharing a fresh PostgreSQL database (and, `withRedis`, Redis under
 * a fresh prefix) before the tests of the calling describe block, and stops them after; the fields
 * are there from the first test on. `extraEnv` is added to both origins' settings.
 */
export function useTwoOriginNodes(withRedis: boolean, extraEnv: Record<string, string> = {}): TwoOriginNodes {
  const nodes = {} as TwoOriginNodes;
  let database: Awaited<ReturnType<typeof createTestDatabase>> | undefined;
  let prefix: ReturnType<typeof createTestPrefix> | undefined;
  beforeAll(async () => {
    database = await createTestDatabase();
    prefix = createTestPrefix();
    nodes.databaseUrl = database.url;
    nodes.redisPrefix = prefix.prefix;
    const env = { PAIRGATE_DATABASE_URL: database.url, ...(withRedis ? { PAIRGATE_REDIS_URL: REDIS_URL, PAIRGATE_REDIS_PREFIX: prefix.prefix } : {}), ...extraEnv };
    nodes.relay = await startRelay();
    nodes.a = await startOrigin(nodes.relay.url, env);
    nodes.b = await startOrigin(nodes.relay.url, env);
  });
  afterAll(async () => {
    await Promise.allSettled([nodes.a?.close(), nodes.b?.close(), nodes.relay?.close()]);
    await prefix?.cleanup();
    await database?.drop();
  });
  return nodes;
}

/** Reads a JSON answer for assertions. */
export async function json(response: Response | Promise<Response>): Promise<any> {
  return (await response).json();
}

/** POSTs JSON. */
export function postJson(url: string, body: unknown, headers: Record<string, string> = {}): Promise<Response> {
  return fetch(url, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify(body) });
}

/** An answer read whole: status, headers and body text. */
export interface RawAnswer {
  status: number;
  headers: IncomingHttpHeaders;
  body: string;
}

/**
 * An HTTP request sent from `localAddress`, another loopback address (127.0.0.2, ...), so the server
 * sees another client IP: per-address budgets are tested with real sockets, not a forged header.
 */
export function requestFrom(localAddress: string, url: string, init: { method?: string; headers?: Record<string, string>; body?: string } = {}): Promise<RawAnswer> {
  return new Promise((resolve, reject) => {
    const request = httpRequest(url, { method: init.method ?? 'GET', headers: init.headers ?? {}, localAddress }, (response) => {
      let body = '';
      response.setEncoding('utf8');
      response.on('data', (chunk: string) => (body += chunk));
      response.on('end', () => resolve({ status: response.statusCode ?? 0, headers: response.headers, body }));
    });
    request.on('error', reject);
    request.end(init.body);
  });
}

/** The Authorization header of `user`:`password`. */
export function basicAuth(user: string, password: string): string {
  return `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`;
}

/**
 * Opens a WebSocket (the `ws` package, as agents and the CLI use) and tells how the upgrade went:
 * 101 with the open socket, or the HTTP status and body the server refused it with.
 */
export function upgrade(url: string, options: { headers?: Record<string, string>; origin?: string; localAddress?: string } = {}): Promise<{ status: number; body: string; socket?: WebSocket }> {
  return new Promise((resolve, reject) => {
    const socket = new WebSocket(url, {
      headers: options.headers ?? {},
      ...(options.origin ? { origin: options.origin } : {}),
      ...(options.localAddress ? { localAddress: options.localAddress } : {}),
      handshakeTimeout: 10_000,
    });
    socket.once('open', () => resolve({ status: 101, body: '', socket }));
    socket.once('unexpected-response', (_request, response) => {
      let body = '';
      response.setEncoding('utf8');
      response.on('data', (chunk: string) => (body += chunk));
      response.on('end', () => {
        socket.terminate();
        resolve({ status: response.statusCode ?? 0, body });
      });
    });
    // After a refusal, terminate() makes ws report an error too: the promise is settled by then.
    socket.on('error', reject);
  });
}

/** A confirmed session on `origin`: its supporter attached (SDK), an agent connected (no history asked). */
export interface ConnectedSession {
  sdk: SupportOriginClient;
  supporter: SessionChannel;
  agent: SessionChannel;
  /** Where the agent joins, and its credential: to join again. */
  meshServer: string;
  credential: string | undefined;
}

/** Creates session `id` on `origin`, confirms it and connects an agent, waiting until the supporter sees it connected. */
export async function connectedSession(origin: TestApp, id: string): Promise<ConnectedSession> {
  const sdk = new SupportOriginClient({ baseUrl: origin.url, ...ADMIN });
  const created = await sdk.createSession({ id, supporterName: 'T', supporterAvatar: 'https://img.example/avatar.png' });
  const supporter = await sdk.attach(id);
  // The first state comes once the supporter counts as attached, so the agent's welcome says so.
  await supporter.next((e) => e.type === 'state', 5000);
  const confirmation = await confirmPairing(`${origin.url}/pairing/${created.PairingCode}`);
  const connected = supporter.next((e) => e.type === 'state' && e.state === 'connected');
  const agent = await connectAgent(confirmation.MeshServer, confirmation.AgentCredential);
  await connected;
  return { sdk, supporter, agent, meshServer: confirmation.MeshServer, credential: confirmation.AgentCredential };
}

/** Creates session `id` on `node` (admin credentials, over HTTP) and confirms its pairing code: where the agent joins, and its credential. */
export async function confirmedSession(node: TestApp, id: string): Promise<{ MeshServer: string; AgentCredential: string }> {
  const created = await postJson(`${node.url}/session`, { id, supporter_name: 'T', supporter_avatar: 'https://img.example/t.png' }, { authorization: ADMIN_AUTH });
  expect(created.status).toBe(201);
  const code = ((await created.json()) as { PairingCode: string }).PairingCode;
  const confirmed = await postJson(`${node.url}/pairing/${code}/confirm`, { Decision: 'accept' });
  expect(confirmed.status).toBe(200);
  return (await confirmed.json()) as { MeshServer: string; AgentCredential: string };
}

/** Waits (up to a second) until no agent lease of session `grantId` is left in `ephemeral`, and checks so. */
export async function expectAgentLeaseGone(ephemeral: EphemeralStore, grantId: string): Promise<void> {
  const leases = () => ephemeral.list(`support:agent:${grantId}`, Date.now());
  for (let i = 0; i < 50 && (await leases()).length > 0; i++) await new Promise((resolve) => setTimeout(resolve, 20));
  expect(await leases()).toEqual([]);
}

/**
 * The chat an agent that asked for history is shown, kept up to date: the texts of the history,
 * then of each message after it, in the order they arrive.
 */
export function chatTranscript(agent: SessionChannel): string[] {
  const transcript: string[] = [];
  agent.onEvent((event) => {
    if (event.type === 'history') transcript.push(...(event.messages ?? []).map((message) => String(message.text)));
    if (event.type === 'message') transcript.push(String(event.text));
  });
  return transcript;
}

/** A WebSocket recording from its start what it is sent (the first frames may come with the upgrade's answer) and how it closed. */
export interface RecordedSocket {
  /** Resolves when it opened; rejects when the upgrade was refused. */
  opened: Promise<void>;
  /** The JSON messages received so far, in order. */
  events: Record<string, unknown>[];
  /** Resolves with the close code. */
  closed: Promise<number>;
  /** Sends a JSON message. */
  send: (message: unknown) => void;
}

/** Opens a WebSocket to `url` (with `headers`) that records what it is sent, from the start. */
export function openRecordedSocket(url: string, headers: Record<string, string> = {}): RecordedSocket {
  const socket = new WebSocket(url, { headers });
  const events: Record<string, unknown>[] = [];
  socket.on('message', (data) => events.push(JSON.parse(String(data)) as Record<string, unknown>));
  const opened = new Promise<void>((resolve, reject) => {
    socket.once('open', () => resolve());
    socket.once('unexpected-response', (_request, response) => reject(new Error(`upgrade refused: ${response.statusCode}`)));
  });
  socket.on('error', () => undefined);
  const closed = new Promise<number>((resolve) => socket.once('close', (code) => resolve(code)));
  return { opened, events, closed, send: (message) => socket.send(JSON.stringify(message)) };
}

/**
 * Counts who listens to `topic` on `bus` (a room of the session channel does while it lives):
 * `count()` is how many listeners added from now on still listen, `listen` the bus's own listen
 * (a listener of the test's own, not counted), `restore()` puts the bus back as it was.
 */
export function countTopicListeners(bus: MessageBus, topic: string): { count: () => number; listen: MessageBus['listen']; restore: () => void } {
  let listening = 0;
  const listen = bus.listen.bind(bus);
  bus.listen = (key, listener) => {
    if (key !== topic) return listen(key, listener);
    listening++;
    const unlisten = listen(key, listener);
    let done = false;
    return () => {
      if (!done) listening--;
      done = true;
      unlisten();
    };
  };
  return { count: () => listening, listen, restore: () => void (bus.listen = listen) };
}

/** A chat message of MAX_TEXT characters, most of them control characters (6 bytes each as a JSON escape), numbered `n` at its start. */
export const escapedText = (n: number): string => `${n}:${'\u0001'.repeat(MAX_TEXT)}`.slice(0, MAX_TEXT);

/** Says `texts` on `from`, one after the other, and waits until `to` has them all. */
export async function sayAll(from: SessionChannel, to: SessionChannel, texts: string[]): Promise<void> {
  const last = texts.at(-1);
  const heard = to.next((e) => e.type === 'message' && e.text === last, 60_000);
  for (const text of texts) from.say(text);
  await heard;
}

/** A clock that runs with the wall clock, `offset` ahead, so a test can move past a TTL without waiting. */
export function shiftedClock(): Clock & { offset: number } {
  const clock = { offset: 0, now: () => Date.now() + clock.offset };
  return clock;
}

/** Creates session `id` on `node` (no pairing: no relay needed), `ttl` seconds long if given. */
export function createSession(node: TestApp, id: string, ttl?: number): Promise<Response> {
  return postJson(`${node.url}/session`, { id, supporter_name: 'T', supporter_avatar: 'https://img.example/t.png', ...(ttl ? { ttl } : {}) }, { authorization: ADMIN_AUTH });
}
