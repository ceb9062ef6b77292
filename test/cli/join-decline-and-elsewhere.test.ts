import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ensureBuilt } from '../helpers/node-process.js';
import { cliChildren } from './cli-child.js';
import { postJson } from '../doors/support/helpers.js';
import { listening } from '../sdk/consumer-sdk-helpers.js';
import { useProxiedSupportOrigin } from './proxied-support-origin.js';

/**
 * `pairgate join` when the person's no does not go through, and when the server names a session
 * channel on another server after a yes. The no used to be sent with its errors swallowed and
 * "Declined" printed whatever became of it; the session confirmed with a channel elsewhere was
 * left open, with nobody connected, until it expired. The origin's public URL is a proxy that can
 * drop or hold the confirmations and rename the channel in their answer.
 */

beforeAll(() => ensureBuilt(), 120_000);

const AVATAR = 'https://avatars.example/thorsten.png';
const QUESTION = /Do you really want to grant access to Thorsten of The great PC support\? \[y\/n\] $/;
/** The built CLI with its output collected. */
const run = cliChildren();

/** The question as standard error holds it once a piped answer (or the input's end) is read: its line ended. */
const ASKED = 'Do you really want to grant access to Thorsten of The great PC support? [y/n] \n';

/** Standard error after the question, which join asks there (its standard output is for what it says). */
function afterQuestion(err: string): string {
  expect(err.startsWith(ASKED), err).toBe(true);
  return err.slice(ASKED.length);
}

/** What the proxy does with the confirmations (POST .../confirm). */
interface Confirmations {
  /** Pass them on, close their connection unanswered (the server unreachable), or hold them for good. */
  mode: 'pass' | 'drop' | 'hold';
  /** Set: the session channel of a confirmed answer is renamed to this one. */
  channel?: (named: string) => string;
}

describe('pairgate join: a no that does not go through, a channel on another server', () => {
  const confirmations: Confirmations = { mode: 'pass' };
  const heldConfirmations: ServerResponse[] = [];
  /** The other server a renamed channel points at: what reached it. */
  const elsewhereHits: string[] = [];
  let elsewhere: { server: Server; url: string };
  const confirming = (incoming: IncomingMessage): boolean => incoming.method === 'POST' && Boolean(incoming.url?.endsWith('/confirm'));

  const servers = useProxiedSupportOrigin({
    request(incoming, answer) {
      if (!confirming(incoming) || confirmations.mode === 'pass') return false;
      if (confirmations.mode === 'drop') answer.socket?.destroy();
      else heldConfirmations.push(answer);
      return true;
    },
    // The origin's answer to a confirmation, its session channel renamed by `confirmations.channel`.
    reply(incoming, reply, answer) {
      const rename = confirmations.channel;
      if (!(confirming(incoming) && rename && reply.statusCode === 200)) return false;
      const chunks: Buffer[] = [];
      reply.on('data', (chunk: Buffer) => chunks.push(chunk));
      reply.on('end', () => {
        const body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as Record<string, unknown>;
        if (typeof body.MeshServer === 'string') body.MeshServer = rename(body.MeshServer);
        const text = JSON.stringify(body);
        answer.writeHead(reply.statusCode ?? 502, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) }).end(text);
      });
      return true;
    },
  });

  beforeAll(async () => {
    elsewhere = await listening(createServer((incoming, answer) => {
      elsewhereHits.push(`${incoming.method} ${incoming.url}`);
      answer.writeHead(404).end();
    }));
    elsewhere.server.on('upgrade', (incoming: IncomingMessage, socket: Duplex) => {
      elsewhereHits.push(`UPGRADE ${incoming.url}`);
      socket.destroy();
    });
  });

  afterAll(() => {
    for (const answer of heldConfirmations) answer.destroy();
    elsewhere?.server.close();
  });

  /** A new session's code, and a join of it at the question. */
  const atTheQuestion = async (id: string, args: string[] = []) => {
    const { PairingCode } = await servers.sdk.createSession({ id, supporterName: 'Thorsten', supporterAvatar: AVATAR });
    const agent = run(['join', PairingCode!, '--relay', servers.relay.url, ...args]);
    if (!args.includes('--yes')) await agent.waitFor(QUESTION, agent.err);
    return { agent, code: PairingCode! };
  };

  it('a no the server never got is not called a decline: exit 1, saying the code still works and the supporter was not told', async () => {
    confirmations.mode = 'drop';
    try {
      const { agent } = await atTheQuestion('join-no-unreachable');
      agent.child.stdin!.write('n\n');
      expect(await agent.exited).toEqual({ code: 1, signal: null });
      expect(agent.out()).not.toContain('Declined');
      expect(afterQuestion(agent.err())).toMatch(/^pairgate: The server may not have taken your no: .+ Nobody was given access, but if the no did not reach the server, the code still works until it expires \(a few minutes after your supporter gave it\) and your supporter was not told: run pairgate join again to decline, or tell them\. \[network_error\]\n$/);
      // Which is the case: nothing reached the server, so the code still works.
      expect((await servers.sdk.getSession('join-no-unreachable')).State).toBe('waiting');
    } finally {
      confirmations.mode = 'pass';
    }
  }, 30_000);

  it('Ctrl-C while the no is on its way: one line saying what may be the case, death by SIGINT', async () => {
    confirmations.mode = 'hold';
    heldConfirmations.length = 0;
    try {
      const { agent } = await atTheQuestion('join-no-ctrl-c');
      agent.child.stdin!.write('no\n');
      await expect.poll(() => heldConfirmations.length, { timeout: 15_000 }).toBe(1);
      agent.child.kill('SIGINT');
      expect(await agent.exited).toEqual({ code: null, signal: 'SIGINT' });
      expect(afterQuestion(agent.err())).toBe('\npairgate: stopped (Ctrl-C) before the server answered your no: nobody was given access, but if the no had not reached it, the code still works until it expires (a few minutes after your supporter gave it) and your supporter was not told.\n');
      expect(agent.out()).not.toContain('Declined');
      expect((await servers.sdk.getSession('join-no-ctrl-c')).State).toBe('waiting');
    } finally {
      confirmations.mode = 'pass';
    }
  }, 30_000);

  it('a no after the code was confirmed elsewhere (the page) says it came too late, exit 2', async () => {
    const { agent, code } = await atTheQuestion('join-no-too-late');
    // The person confirmed in a browser meanwhile (a program's confirmation, as the page's).
    expect((await postJson(`${servers.origin.url}/pairing/${code}/confirm`, { Decision: 'accept' })).status).toBe(200);
    agent.child.stdin!.write('n\n');
    expect(await agent.exited).toEqual({ code: 2, signal: null });
    expect(agent.out()).not.toContain('Declined');
    expect(afterQuestion(agent.err())).toBe('pairgate: Your no came too late: the code had been confirmed already (in a browser, or by another pairgate join), and that session goes on. If that was not you, tell your supporter now: they can end it. [code_used]\n');
    expect((await servers.sdk.getSession('join-no-too-late')).State).toBe('confirmed');
  }, 30_000);

  it('a yes whose channel the server names on another server: never connected to there, the confirmed session ended, exit 1', async () => {
    // A misconfigured public URL: the right path, on another host.
    confirmations.channel = (named) => `${elsewhere.url.replace('http', 'ws')}${new URL(named).pathname}`;
    try {
      const { agent } = await atTheQuestion('join-elsewhere-ended', ['--yes']);
      expect(await agent.exited).toEqual({ code: 1, signal: null });
      expect(agent.err()).toMatch(/^pairgate: The supporter's server \(http:\/\/127\.0\.0\.1:\d+\) named a session channel on another server .*nothing was connected\. Tell your supporter: .* The session you confirmed was ended \(on the server the code led to\), so it does not stay open\. \[session_channel_elsewhere\]\n$/);
      expect(agent.out()).not.toMatch(/Connected/);
      // Gone, as /quit leaves it, not confirmed with nobody connected until it expires.
      await expect(servers.sdk.getSession('join-elsewhere-ended')).rejects.toMatchObject({ status: 404 });
      expect(elsewhereHits).toEqual([]);
    } finally {
      delete confirmations.channel;
    }
  }, 30_000);

  it('a channel named with no URL at all cannot be ended: the line says the session stays open and until when', async () => {
    confirmations.channel = () => 'not a url';
    try {
      const { agent } = await atTheQuestion('join-elsewhere-no-url', ['--yes']);
      expect(await agent.exited).toEqual({ code: 1, signal: null });
      expect(agent.err()).toMatch(/^pairgate: The supporter's server .* The session you confirmed could not be ended \(the server named no channel to end it on\): it stays open, with nobody connected, until your supporter ends it or it expires \S.*\. \[session_channel_elsewhere\]\n$/);
      expect((await servers.sdk.getSession('join-elsewhere-no-url')).State).toBe('confirmed');
    } finally {
      delete confirmations.channel;
    }
  }, 30_000);
});
