import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WebSocketServer } from 'ws';
import { channelErrorWords, CONNECTION_LOST_WORDS, diagnosticsFailedWords } from '../../src/cli/commands/join.js';
import { relayCodeFormat } from '../../src/doors/support/relay-code.js';
import { ensureBuilt, runCli } from '../helpers/cli.js';

beforeAll(ensureBuilt, 120_000);

/** Every line pairgate join prints on standard error in the house shape: a sentence, then `[<machine code>]`. */
const HOUSE_SHAPE = /^pairgate: [A-Z].*[.!?:)] \[[a-z][a-z0-9_]*\]$/;

/**
 * The chat's own error lines (an `error` event from the server, the connection lost, `/diag`
 * failing) were the bare message, or a lower-case phrase without a code
 * (`pairgate: the connection to the supporter's server was lost. The session is no longer live.`),
 * where every other error of the CLI says what to do and ends with its machine code.
 */
describe('pairgate join: the chat\'s error lines say what to do, with a code', () => {
  let origin: { server: Server; url: string };
  let events: Record<string, unknown>[] = [];

  beforeAll(async () => {
    // The relay, the supporter's server and its session channel in one: each agent is welcomed,
    // sent `events`, then cut off without the session ending.
    const server = createServer((request, response) => {
      const json = (body: unknown) => response.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(body));
      const path = request.url ?? '';
      const expiresAt = new Date(Date.now() + 60_000).toISOString();
      if (path.startsWith('/relay/pairing/')) return void response.writeHead(302, { location: `${origin.url}/pairing/${path.split('/').pop()}` }).end();
      if (request.method === 'GET' && path.startsWith('/pairing/')) return json({ AgentMSH: '', ExpiresAt: expiresAt, CompanyName: 'Helpful', CompanyLogo: '', SupporterName: 'Eve', SupporterAvatar: '' });
      if (request.method === 'POST' && path.endsWith('/confirm')) return json({ SessionID: 's', State: 'confirmed', MeshServer: `${origin.url.replace('http', 'ws')}/agent/s`, AgentCredential: 'c', ExpiresAt: expiresAt, SupporterName: 'Eve', CompanyName: 'Helpful' });
      response.writeHead(404).end();
    });
    const sockets = new WebSocketServer({ server });
    sockets.on('connection', (socket) => {
      socket.once('message', () => {
        socket.send(JSON.stringify({ type: 'welcome', supporterAttached: true }));
        for (const event of events) socket.send(JSON.stringify(event));
        // Let the events be read first; then the connection drops, the session not ended.
        setTimeout(() => socket.terminate(), 300);
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    origin = { server, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}` };
  });
  afterAll(() => origin.server.close());

  it('an error event and the lost connection: a sentence each, what to do, the code in brackets; exit 1', async () => {
    events = [
      { type: 'error', code: 'bad_message', message: 'Messages are JSON: message (text up to 4000 characters), diagnostics (report: a JSON object, up to 65536 characters) or end.' },
      // A server's code that is no code, and words without a full stop: the code said is the CLI's own.
      { type: 'error', code: 'not a code [x]', message: 'something odd' },
    ];
    const run = await runCli(['join', relayCodeFormat.generate(), '--relay', `${origin.url}/relay`, '--yes']);
    expect(run.status, run.stderr).toBe(1);
    expect(run.stdout).toContain('is live.');
    const lines = run.stderr.trimEnd().split('\n');
    expect(lines).toEqual([
      'pairgate: The supporter\'s server said: Messages are JSON: message (text up to 4000 characters), diagnostics (report: a JSON object, up to 65536 characters) or end. What you sent last did not reach your supporter: shorten it and send it again. [bad_message]',
      'pairgate: The supporter\'s server said: something odd. If the chat stops working, type /quit and ask your supporter for a new code. [channel_error]',
      'pairgate: The connection to the supporter\'s server was lost, so the session is no longer live here: check your network connection, then ask your supporter for a new code and run pairgate join again. [connection_lost]',
    ]);
    for (const line of lines) expect(line).toMatch(HOUSE_SHAPE);
  }, 60_000);

  it('each line alone: the agent taken over, no words from the server, the diagnostics failing', () => {
    expect(channelErrorWords({ type: 'error', code: 'agent_already_connected', message: 'Another agent is connected to this session now; this connection is closed.' })).toBe(
      'The supporter\'s server said: Another agent is connected to this session now; this connection is closed. This window no longer holds the session: go on in the other one, or ask your supporter for a new code. [agent_already_connected]',
    );
    expect(channelErrorWords({ type: 'error' })).toBe('If the chat stops working, type /quit and ask your supporter for a new code. [channel_error]');
    expect(diagnosticsFailedWords(new Error('no network interfaces'))).toBe(
      'The network diagnostics failed (no network interfaces), so nothing was sent to your supporter: type /diag to try again, or tell your supporter what you see. [diagnostics_failed]',
    );
    for (const words of [CONNECTION_LOST_WORDS, diagnosticsFailedWords('x'), channelErrorWords({ type: 'error', code: 'internal_error', message: 'The message could not be handled.' })]) {
      expect(`pairgate: ${words}`).toMatch(HOUSE_SHAPE);
    }
  });
});
