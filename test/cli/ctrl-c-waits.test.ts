import { createServer, request, type IncomingMessage, type ServerResponse } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PairgateClient } from '../../src/sdk/client.js';
import { createTestApp, type TestApp } from '../helpers/app.js';
import { ensureBuilt } from '../helpers/node-process.js';
import { cliChildren } from './cli-child.js';
import { ADMIN, useSupportServers } from '../doors/support/helpers.js';
import { listening } from '../sdk/consumer-sdk-helpers.js';

/**
 * Ctrl-C during a command's long wait: the wait's call is aborted, what it left on the server is
 * cleaned up, one line says so, and the command ends by SIGINT (exit status 130 in a shell), as
 * `pairgate lan` does; a second Ctrl-C ends it at once. `session attach` detaches (exit 0, as its
 * --help says), saying how to end a session still waiting for the person.
 */

beforeAll(() => ensureBuilt(), 120_000);

const AVATAR = 'https://avatars.example/thorsten.png';
/** The built CLI with its output collected. */
const run = cliChildren();

describe('pairgate grant create: Ctrl-C while waiting for the decision', () => {
  let t: TestApp;
  let server: string;
  /** In front of the server: holds every refusal for good while `holdRefusals` is set. */
  let proxy: string;
  let holdRefusals = false;
  const held: ServerResponse[] = [];
  beforeAll(async () => {
    t = await createTestApp();
    server = await t.listen();
    const target = new URL(server);
    const forward = (incoming: IncomingMessage, answer: ServerResponse): void => {
      if (holdRefusals && incoming.url?.endsWith('/refuse')) {
        held.push(answer);
        return;
      }
      const upstream = request({ host: target.hostname, port: target.port, path: incoming.url, method: incoming.method, headers: incoming.headers }, (reply) => {
        answer.writeHead(reply.statusCode ?? 502, reply.headers);
        reply.pipe(answer);
      });
      upstream.on('error', () => answer.destroy());
      incoming.pipe(upstream);
    };
    proxy = (await listening(createServer(forward))).url;
  }, 60_000);
  afterAll(async () => {
    for (const answer of held) answer.destroy();
    await t.close();
  });

  it('withdraws the request: its code is refused with a note, one line says so, and it ends by SIGINT', async () => {
    const requester = run(['grant', 'create', '--label', 'Let the printer in', '--json', '--server', server]);
    const { id, code } = JSON.parse((await requester.waitFor(/^\{.*\}$/m))[0]) as { id: string; code: string };
    // The wait has begun (its first read and long-poll) before Ctrl-C.
    await new Promise((resolve) => setTimeout(resolve, 500));
    requester.child.kill('SIGINT');
    expect(await requester.exited).toEqual({ code: null, signal: 'SIGINT' });
    expect(requester.err()).toBe(`\npairgate: stopped (Ctrl-C): the request was withdrawn; its code ${code.toUpperCase()} no longer works.\n`);
    const api = new PairgateClient({ baseUrl: server });
    expect((await api.getGrant(id)).state).toBe('refused');
    // An approver typing it now is told it is no live request, not "Approved" of one nobody redeems.
    await expect(api.approveCode(code)).rejects.toMatchObject({ status: 404 });
  });

  it('a second Ctrl-C while the withdrawal hangs ends it at once', async () => {
    holdRefusals = true;
    try {
      const requester = run(['grant', 'create', '--label', 'Deploy v2', '--server', proxy]);
      await requester.waitFor(/^Code: (\S+)$/m);
      await requester.waitFor(/Waiting for the decision/, requester.err);
      requester.child.kill('SIGINT');
      await expect.poll(() => held.length, { timeout: 5_000 }).toBe(1);
      const second = Date.now();
      requester.child.kill('SIGINT');
      expect(await requester.exited).toEqual({ code: null, signal: 'SIGINT' });
      expect(Date.now() - second).toBeLessThan(1_000);
    } finally {
      holdRefusals = false;
    }
  });

  it('a withdrawal that takes too long is given up after a few seconds, saying the code still works', async () => {
    holdRefusals = true;
    try {
      const requester = run(['grant', 'create', '--label', 'Deploy v3', '--server', proxy]);
      const code = (await requester.waitFor(/^Code: (\S+)$/m))[1]!;
      await requester.waitFor(/Waiting for the decision/, requester.err);
      requester.child.kill('SIGINT');
      expect(await requester.exited).toEqual({ code: null, signal: 'SIGINT' });
      expect(requester.err()).toMatch(new RegExp(`\\npairgate: stopped \\(Ctrl-C\\); the request could not be withdrawn \\(aborted\\): its code ${code} works until (\\d{4}-\\d\\d-\\d\\d )?\\d\\d:\\d\\d:\\d\\d \\(in 10 min\\), but an approval now reaches nobody\\.\\n$`));
    } finally {
      holdRefusals = false;
    }
  }, 20_000);
});

describe('pairgate join: Ctrl-C at the question', () => {
  const servers = useSupportServers();

  it('decides nothing: the code still works, one line says so, and it ends by SIGINT', async () => {
    const { PairingCode } = await servers.sdk.createSession({ id: 'join-ctrl-c', supporterName: 'Thorsten', supporterAvatar: AVATAR });
    const agent = run(['join', PairingCode!, '--relay', servers.relay.url]);
    // The question is on standard error, where the line of the stop follows it.
    await agent.waitFor(/Do you really want to grant access to Thorsten/, agent.err);
    agent.child.kill('SIGINT');
    expect(await agent.exited).toEqual({ code: null, signal: 'SIGINT' });
    expect(agent.err()).toBe('Do you really want to grant access to Thorsten of The great PC support? [y/n] \npairgate: stopped (Ctrl-C): nothing was confirmed or declined, so the code still works until it expires (a few minutes after your supporter gave it): run pairgate join again to answer.\n');
    expect((await servers.sdk.getSession('join-ctrl-c')).State).toBe('waiting');
  });
});

describe('pairgate session attach: Ctrl-C while the session waits for the person', () => {
  const servers = useSupportServers();

  it('detaches (exit 0, as its --help says), saying the code still works and how to end the session, which goes on', async () => {
    await servers.sdk.createSession({ id: 'attach-ctrl-c', supporterName: 'Thorsten', supporterAvatar: AVATAR });
    const supporter = run(['session', 'attach', 'attach-ctrl-c', '--server', servers.origin.url, '--user', ADMIN.user, '--password', ADMIN.password]);
    await supporter.waitFor(/Waiting for the person to enter the code/);
    supporter.child.kill('SIGINT');
    expect(await supporter.exited).toEqual({ code: 0, signal: null });
    expect(supporter.out()).toContain('Detached; the session goes on, and its pairing code still works until it expires: attach again with: pairgate session attach attach-ctrl-c; end it with: pairgate session delete attach-ctrl-c.\n');
    expect((await servers.sdk.getSession('attach-ctrl-c')).State).toBe('waiting');
  });
});
