import { createServer as createTcpServer } from 'node:net';
import { createServer } from 'node:http';
import { afterEach, describe, expect, it } from 'vitest';
import { PairgateClient } from '../../src/sdk/client.js';
import { DnsUpdateClient } from '../../src/sdk/dns-update.js';
import { RegistryClient } from '../../src/sdk/registry.js';
import { connectAgent } from '../../src/sdk/support.js';
import { newBox } from '../doors/dns/dns-helpers.js';
import { freePort } from '../helpers/ports.js';
import { listening, rejection, silentListener } from './consumer-sdk-helpers.js';

/**
 * Nothing answering is `network_error` whatever the cause (the code programs already branch on),
 * and `reason` tells a refused connection (nothing was sent: even a creation is safe to send again)
 * from a timeout or a cut connection (the server may have acted on it). Every one stays retryable.
 */

const closers: Array<() => void> = [];
afterEach(() => {
  for (const close of closers.splice(0)) close();
});

describe('network_error says why nothing answered', () => {
  it('a port nobody listens on: refused', async () => {
    const port = await freePort();
    const error = await rejection(new PairgateClient({ baseUrl: `http://127.0.0.1:${port}` }).createGrant({ label: 'x' }));
    expect({ code: error.code, status: error.status, reason: error.reason, retryable: error.retryable }).toEqual({ code: 'network_error', status: 0, reason: 'refused', retryable: true });
    // The registry client calls through the same function.
    expect((await rejection(new RegistryClient({ baseUrl: `http://127.0.0.1:${port}` }).ping())).reason).toBe('refused');
  });

  it('the clients that call by their own sockets say it too: the DNS update API and the session channel', async () => {
    const port = await freePort();
    const box = await newBox();
    const dns = await rejection(new DnsUpdateClient({ baseUrl: `https://127.0.0.1:${port}`, box }).list(`${box.fingerprint}.example.test`));
    expect({ code: dns.code, reason: dns.reason }).toEqual({ code: 'network_error', reason: 'refused' });
    const channel = await rejection(connectAgent(`ws://127.0.0.1:${port}/meshrelay.ashx`, 'credential'));
    expect({ code: channel.code, reason: channel.reason }).toEqual({ code: 'network_error', reason: 'refused' });
  });

  it('a listener that takes the connection and never answers: timeout', async () => {
    const silent = await silentListener();
    closers.push(silent.close);
    const error = await rejection(new PairgateClient({ baseUrl: `http://127.0.0.1:${silent.port}`, timeoutMs: 300 }).createGrant({ label: 'x' }));
    expect({ code: error.code, reason: error.reason, retryable: error.retryable }).toEqual({ code: 'network_error', reason: 'timeout', retryable: true });
    // The request did reach it: a timeout is no proof that nothing was done.
    expect(silent.asked.size).toBe(1);
  });

  it('a listener that reads the request and closes the connection: reset', async () => {
    const { server, port } = await listening(createTcpServer((socket) => socket.once('data', () => socket.destroy())));
    closers.push(() => server.close());
    const error = await rejection(new PairgateClient({ baseUrl: `http://127.0.0.1:${port}` }).createGrant({ label: 'x' }));
    expect({ code: error.code, reason: error.reason, retryable: error.retryable }).toEqual({ code: 'network_error', reason: 'reset', retryable: true });
  });

  it('an answer cut halfway is reset, one that stalls halfway is timeout', async () => {
    const { server, url } = await listening(createServer((request, response) => {
      response.writeHead(200, { 'content-type': 'application/json', 'content-length': '100' });
      response.write('{"status":');
      if (request.url === '/healthz') setTimeout(() => response.destroy(), 50);
    }));
    closers.push(() => server.closeAllConnections());
    closers.push(() => server.close());
    const cut = await rejection(new PairgateClient({ baseUrl: url }).health());
    expect({ code: cut.code, reason: cut.reason }).toEqual({ code: 'network_error', reason: 'reset' });
    const stalled = await rejection(new PairgateClient({ baseUrl: url, timeoutMs: 300 }).getGrant('g'));
    expect({ code: stalled.code, reason: stalled.reason, retryable: stalled.retryable }).toEqual({ code: 'network_error', reason: 'timeout', retryable: true });
  });

  it('a refusal that is the server\'s answer has no reason', async () => {
    const { server, url } = await listening(createServer((_request, response) => {
      response.writeHead(503, { 'content-type': 'application/json', 'retry-after': '2' });
      response.end('{"error":"store_unavailable","message":"later"}');
    }));
    closers.push(() => server.close());
    const error = await rejection(new PairgateClient({ baseUrl: url }).health());
    expect({ code: error.code, reason: error.reason, retryable: error.retryable }).toEqual({ code: 'store_unavailable', reason: undefined, retryable: true });
  });
});
