import { createServer, request, type IncomingMessage, type ServerResponse } from 'node:http';
import { connect, type Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import { afterAll, beforeAll } from 'vitest';
import { SupportOriginClient } from '../../src/sdk/support.js';
import type { TestApp } from '../helpers/app.js';
import { ADMIN, startOrigin, startRelay } from '../doors/support/helpers.js';
import { listening } from '../sdk/consumer-sdk-helpers.js';

/**
 * What the proxy in front of the origin does before passing a request on; each hook answers true
 * when it took the request (held it, dropped it, answered it) and nothing is to be passed on.
 */
export interface OriginProxyHooks {
  /** Each HTTP request, before it is passed on. */
  request?(incoming: IncomingMessage, answer: ServerResponse): boolean;
  /** The origin's reply to a request passed on, before it is passed back. */
  reply?(incoming: IncomingMessage, reply: IncomingMessage, answer: ServerResponse): boolean;
  /** Each WebSocket upgrade (the session channel), before it is passed on. */
  upgrade?(incoming: IncomingMessage, socket: Duplex): boolean;
}

/** A relay and an origin whose public URL is a proxy the test steers (`OriginProxyHooks`). */
export interface ProxiedSupportOrigin {
  relay: TestApp;
  origin: TestApp;
  /** The supporter's client, straight to the origin (never through the proxy). */
  sdk: SupportOriginClient;
}

/** Passes an upgrade on to the origin at `port`, byte for byte, as the request line and headers came. */
function passUpgrade(port: number, incoming: IncomingMessage, socket: Duplex, head: Buffer): Socket {
  const upstream = connect(port, '127.0.0.1', () => {
    const headers = [];
    for (let i = 0; i < incoming.rawHeaders.length; i += 2) headers.push(`${incoming.rawHeaders[i]}: ${incoming.rawHeaders[i + 1]}`);
    upstream.write(`${incoming.method} ${incoming.url} HTTP/1.1\r\n${headers.join('\r\n')}\r\n\r\n`);
    upstream.write(head);
    upstream.pipe(socket);
    socket.pipe(upstream);
  });
  upstream.on('error', () => socket.destroy());
  socket.on('close', () => upstream.destroy());
  return upstream;
}

/**
 * Starts, before the tests of the calling describe block, a relay and an origin whose public URL
 * (what its pairing codes lead to, so what `pairgate join` talks to) is a proxy running `hooks`;
 * closes them after. The fields are there from the first test on.
 */
export function useProxiedSupportOrigin(hooks: OriginProxyHooks): ProxiedSupportOrigin {
  const servers = {} as ProxiedSupportOrigin;
  const passedUpgrades: Socket[] = [];
  let originPort = 0;
  let proxy: Awaited<ReturnType<typeof listening>> | undefined;
  beforeAll(async () => {
    const forward = (incoming: IncomingMessage, answer: ServerResponse): void => {
      if (hooks.request?.(incoming, answer)) return;
      const upstream = request({ host: '127.0.0.1', port: originPort, path: incoming.url, method: incoming.method, headers: incoming.headers }, (reply) => {
        if (hooks.reply?.(incoming, reply, answer)) return;
        answer.writeHead(reply.statusCode ?? 502, reply.headers);
        reply.pipe(answer);
      });
      upstream.on('error', () => answer.destroy());
      incoming.pipe(upstream);
    };
    proxy = await listening(createServer(forward));
    proxy.server.on('upgrade', (incoming: IncomingMessage, socket: Duplex, head: Buffer) => {
      socket.on('error', () => undefined);
      if (hooks.upgrade?.(incoming, socket)) return;
      passedUpgrades.push(passUpgrade(originPort, incoming, socket, head));
    });
    servers.relay = await startRelay();
    servers.origin = await startOrigin(servers.relay.url, { PAIRGATE_PUBLIC_URL: proxy.url });
    originPort = Number(new URL(servers.origin.url).port);
    servers.sdk = new SupportOriginClient({ baseUrl: servers.origin.url, ...ADMIN });
  }, 60_000);
  afterAll(async () => {
    for (const socket of passedUpgrades) socket.destroy();
    proxy?.server.close();
    await servers.origin?.close();
    await servers.relay?.close();
  });
  return servers;
}
