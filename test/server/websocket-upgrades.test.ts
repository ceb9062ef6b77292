import Fastify, { type FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { MAX_WEBSOCKET_PAYLOAD, WebSocketUpgrades } from '../../src/server/websocket-upgrades.js';
import { createTestApp, useListeningApp, type TestApp } from '../helpers/app.js';
import { rawExchange } from '../helpers/raw-exchange.js';
import { INSTALL_ENV } from '../doors/install/install-helpers.js';

const upgradeHead = (method: string, path: string) =>
  `${method} ${path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n`;

describe('WebSocket upgrades: taken only by the routes that declare them', () => {
  const server = useListeningApp();

  it('an upgrade to an address without a WebSocket route is a 400 in pairgate shape, and the connection closes', async () => {
    for (const [method, path] of [['GET', '/api/v1/grants'], ['GET', '/healthz'], ['GET', '/no/such/address?x=1'], ['POST', '/api/v1/grants']] as const) {
      const answer = await rawExchange(server.base, upgradeHead(method, path));
      expect(answer, `${method} ${path}`).toMatch(/^HTTP\/1\.1 400 /);
      expect(answer.toLowerCase()).toContain('connection: close');
      // The headers of every machine answer, although no route made this one.
      expect(answer).toContain("content-security-policy: default-src 'none'; frame-ancestors 'none'");
      expect(answer).toContain('cache-control: no-store');
      const body = JSON.parse(answer.slice(answer.indexOf('\r\n\r\n') + 4)) as { error: string; message: string };
      expect(body.error).toBe('upgrade_not_accepted');
      expect(body.message).toMatch(/does not accept WebSocket/);
    }
  });
});

describe('WebSocket upgrades under a door\'s path prefix', () => {
  let t: TestApp;
  let base: string;
  beforeAll(async () => {
    t = await createTestApp({ ...INSTALL_ENV });
    base = await t.listen();
  });
  afterAll(() => t.close());

  it('are refused in the shape of the door owning the prefix (a Mattermost call response under /mattermost)', async () => {
    const answer = await rawExchange(base, upgradeHead('GET', '/mattermost/some-installation/socket'));
    expect(answer).toMatch(/^HTTP\/1\.1 400 /);
    expect(answer.toLowerCase()).toContain('connection: close');
    expect(answer).toContain('cache-control: no-store');
    const body = JSON.parse(answer.slice(answer.indexOf('\r\n\r\n') + 4)) as unknown;
    expect(body).toEqual({ type: 'error', text: expect.stringMatching(/does not accept WebSocket/), data: { error: 'upgrade_not_accepted' } });
    // Outside every prefix, pairgate's own shape.
    const outside = await rawExchange(base, upgradeHead('GET', '/mattermostly'));
    expect(JSON.parse(outside.slice(outside.indexOf('\r\n\r\n') + 4))).toMatchObject({ error: 'upgrade_not_accepted' });
  });
});

describe('WebSocketUpgrades: one scope takes WebSockets, the rest of the server none', () => {
  let app: FastifyInstance;
  let base: string;
  /** The app's log lines, parsed. */
  const logged: { level: number; msg: string }[] = [];
  beforeAll(async () => {
    app = Fastify({ logger: { level: 'info', stream: { write: (line: string) => logged.push(JSON.parse(line) as { level: number; msg: string }) } } });
    const upgrades = new WebSocketUpgrades(app.server);
    await app.register(async (scope) => {
      await upgrades.acceptIn(scope);
      scope.get('/rooms/:room/socket', { websocket: true }, (socket, request) => {
        socket.send(`joined ${(request.params as { room: string }).room}`);
      });
      scope.get('/broken/socket', { websocket: true }, () => {
        throw new Error('a bug in a handler');
      });
    });
    // Outside the scope: reports what the WebSocket plugin would have added to its requests.
    app.get('/plain', async (request) => ({ decorated: 'ws' in request }));
    await app.listen({ host: '127.0.0.1', port: 0 });
    const address = app.server.address();
    base = `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`;
  });
  afterAll(() => app.close());

  it('a WebSocket route of the scope opens, with its path parameters, and a query on its address', async () => {
    const socket = new WebSocket(`${base.replace('http', 'ws')}/rooms/blue/socket?x=1`);
    const first = await new Promise<string>((resolve, reject) => {
      socket.once('message', (data) => resolve(String(data)));
      socket.once('error', reject);
    });
    socket.close();
    expect(first).toBe('joined blue');
  });

  it('a HEAD or POST upgrade to it, or a GET upgrade to a route outside the scope, is the 400', async () => {
    for (const [method, path] of [['HEAD', '/rooms/blue/socket'], ['POST', '/rooms/blue/socket'], ['GET', '/plain']] as const) {
      const answer = await rawExchange(base, upgradeHead(method, path));
      expect(answer, `${method} ${path}`).toMatch(/^HTTP\/1\.1 400 /);
      expect(answer).toContain('upgrade_not_accepted');
    }
  });

  it('a frame over the payload limit closes the socket with 1009 and is logged at info, not as a server error; a handler\'s own failure is one', async () => {
    const socket = new WebSocket(`${base.replace('http', 'ws')}/rooms/big/socket`);
    await new Promise((resolve, reject) => {
      socket.once('message', resolve);
      socket.once('error', reject);
    });
    const closed = new Promise<number>((resolve) => socket.once('close', resolve));
    socket.send('x'.repeat(MAX_WEBSOCKET_PAYLOAD + 1));
    expect(await closed).toBe(1009);
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(logged.filter((line) => line.level >= 50)).toEqual([]);
    expect(logged.some((line) => line.level === 30 && /websocket closed/.test(line.msg))).toBe(true);

    const broken = new WebSocket(`${base.replace('http', 'ws')}/broken/socket`);
    await new Promise((resolve) => broken.once('close', resolve));
    expect(logged.filter((line) => line.level >= 50).map((line) => line.msg)).toEqual(['websocket handler failed']);
  });

  it('a route outside the scope carries none of the plugin: its requests are not decorated', async () => {
    const response = await fetch(`${base}/plain`);
    expect(await response.json()).toEqual({ decorated: false });
  });
});

describe('WebSocketUpgrades.acceptIn', () => {
  it('refuses a second scope: the plugin runs one WebSocket server', async () => {
    const app = Fastify();
    const upgrades = new WebSocketUpgrades(app.server);
    await app.register(async (scope) => upgrades.acceptIn(scope));
    await expect(app.register(async (scope) => upgrades.acceptIn(scope))).rejects.toThrow(/already accepted/);
    await app.close().catch(() => undefined);
  });
});
