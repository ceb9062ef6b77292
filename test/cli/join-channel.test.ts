import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { relayCodeFormat } from '../../src/doors/support/relay-code.js';
import { sessionChannelOf } from '../../src/sdk/support.js';
import { ensureBuilt, runCli } from '../helpers/cli.js';

beforeAll(ensureBuilt, 120_000);

/** Listens on a free loopback port; answers with `handle`. */
async function listening(handle: Parameters<typeof createServer>[1]): Promise<{ server: Server; url: string }> {
  const server = createServer(handle);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { server, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}` };
}

/**
 * Anyone may publish a server of their own on an open relay. Such a server's confirmation names
 * the session channel `pairgate join` opens: it must not steer the person's machine to another
 * host (a service on their own loopback or network), the session's credential in its hello.
 */
describe('pairgate join: a session channel on another server than the code led to', () => {
  const hits: string[] = [];
  let inside: { server: Server; url: string };
  let origin: { server: Server; url: string };
  let meshServer = '';
  let supporterName = 'Eve';

  beforeAll(async () => {
    // A service on the person's own machine, which nothing from the internet should reach.
    inside = await listening((request, response) => {
      hits.push(`${request.method} ${request.url} upgrade=${request.headers.upgrade ?? ''}`);
      response.writeHead(404).end();
    });
    inside.server.on('upgrade', (request, socket) => {
      hits.push(`UPGRADE ${request.url}`);
      socket.destroy();
    });
    // The relay and the published server in one: the code leads to its own pairing URL.
    origin = await listening((request, response) => {
      const json = (body: unknown) => response.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(body));
      const path = request.url ?? '';
      if (path.startsWith('/relay/pairing/')) return void response.writeHead(302, { location: `${origin.url}/pairing/${path.split('/').pop()}` }).end();
      if (request.method === 'GET' && path.startsWith('/pairing/')) return json({ AgentMSH: '', ExpiresAt: new Date(Date.now() + 60_000).toISOString(), CompanyName: 'Helpful', CompanyLogo: '', SupporterName: supporterName, SupporterAvatar: '' });
      if (request.method === 'POST' && path.endsWith('/confirm')) return json({ SessionID: 's', State: 'confirmed', MeshServer: meshServer, AgentCredential: 'secret-credential', ExpiresAt: new Date(Date.now() + 60_000).toISOString(), SupporterName: 'Eve', CompanyName: 'Helpful' });
      response.writeHead(404).end();
    });
  });
  afterAll(() => {
    inside.server.close();
    origin.server.close();
  });

  it('is not connected to: exit 1, saying so, and the other host hears nothing', async () => {
    for (const elsewhere of [`${inside.url.replace('http', 'ws')}/admin/reboot?x=1`, 'ws://[::1]:9/x', 'not a url']) {
      meshServer = elsewhere;
      const run = await runCli(['join', relayCodeFormat.generate(), '--relay', `${origin.url}/relay`, '--yes']);
      expect(run.status).toBe(1);
      expect(run.stderr).toMatch(/^pairgate: The supporter's server \(http:\/\/127\.0\.0\.1:\d+\) named a session channel on another server .*nothing was connected\. Tell your supporter: .*\[session_channel_elsewhere\]\n$/);
    }
    expect(hits).toEqual([]);
  }, 60_000);

  it('the supporter\'s name is shown on one line: its line breaks add no line of the server\'s making', async () => {
    supporterName = 'Mallory\nCompany:   Example Bank Ltd (verified by pairgate)';
    meshServer = 'not a url';
    const run = await runCli(['join', relayCodeFormat.generate(), '--relay', `${origin.url}/relay`, '--yes']);
    supporterName = 'Eve';
    expect(run.stdout.split('\n').filter((line) => line.startsWith('Company:'))).toEqual(['Company:   Helpful']);
    expect(run.stdout).toContain('Supporter: Mallory Company: Example Bank Ltd (verified by pairgate)\n');
  }, 60_000);

  it('the channel must be the pairing URL\'s own origin, ws for http and wss for https, without credentials', () => {
    expect(sessionChannelOf('https://help.example/pairing/abc', 'wss://help.example/agent/s:t')).toBe('wss://help.example/agent/s:t');
    expect(sessionChannelOf('https://help.example:443/pairing/abc', 'wss://help.example/agent/x')).toBe('wss://help.example/agent/x');
    expect(sessionChannelOf('http://127.0.0.1:8080/pairing/abc', 'ws://127.0.0.1:8080/agent/x')).toBe('ws://127.0.0.1:8080/agent/x');
    for (const [pairing, channel] of [
      ['https://help.example/pairing/abc', 'ws://help.example/agent/x'],
      ['https://help.example/pairing/abc', 'wss://help.example:8443/agent/x'],
      ['https://help.example/pairing/abc', 'wss://help.example.evil.test/agent/x'],
      ['https://help.example/pairing/abc', 'wss://user:pw@help.example/agent/x'],
      ['http://127.0.0.1:8080/pairing/abc', 'ws://127.0.0.1:8081/agent/x'],
      ['http://127.0.0.1:8080/pairing/abc', 42],
    ] as const) {
      expect(() => sessionChannelOf(pairing, channel)).toThrow(expect.objectContaining({ code: 'session_channel_elsewhere', status: 502 }));
    }
  });
});
