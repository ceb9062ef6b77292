import { createServer } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SupportRelayClient } from '../../src/sdk/support.js';
import { listening, rejection } from './consumer-sdk-helpers.js';

/**
 * Where a code leads is what the relay's redirect says, and `pairgate join` goes on there: a
 * relay's Location of another scheme (file:, javascript:, data:) is no pairgate origin.
 */
describe('SupportRelayClient.resolve: the redirect\'s scheme', () => {
  let server: { url: string; server: ReturnType<typeof createServer> };
  beforeAll(async () => {
    server = await listening(createServer((incoming, answer) => {
      const target = decodeURIComponent(/\/pairing\/(.+)$/.exec(incoming.url ?? '')?.[1] ?? '');
      answer.writeHead(302, { location: target }).end();
    }));
  });
  afterAll(() => new Promise<void>((resolve) => server.server.close(() => resolve())));

  it('follows an http(s) address, relative ones included, and refuses any other scheme as relay_bad_answer', async () => {
    const relay = new SupportRelayClient(server.url);
    expect(await relay.resolve('https://origin.example/pairing/abc')).toBe('https://origin.example/pairing/abc');
    expect(await relay.resolve('/pairing/abc')).toBe(`${server.url}/pairing/abc`);
    for (const location of ['file:///etc/passwd', 'javascript:alert(1)', 'data:text/html,hi', 'ftp://origin.example/x']) {
      expect(await rejection(relay.resolve(location)), location).toMatchObject({ code: 'relay_bad_answer' });
    }
  });
});
