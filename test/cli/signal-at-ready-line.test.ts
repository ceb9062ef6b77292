import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, type TestApp } from '../helpers/app.js';
import { ensureBuilt, runCli } from '../helpers/cli.js';
import { freePort as closedPort } from '../helpers/ports.js';
import { cliChildren } from './cli-child.js';

/**
 * A signal sent the moment a command prints the line that invites it ("Ctrl-C to stop", the URL
 * a script waits for before it stops the server, "advertising"): the command's own handling is
 * already in place, so the signal is handled, not Node's default death with nothing cleaned up.
 * The child signals itself from inside its write (fixtures/signal-at-line.cjs), the worst case of
 * scheduling; in CI, `grant create` once died that way under load with its request still live.
 */

beforeAll(ensureBuilt, 120_000);

const run = cliChildren();

describe('the line inviting a signal is printed once the signal is handled', () => {
  let t: TestApp;
  let server: string;
  beforeAll(async () => {
    t = await createTestApp();
    server = await t.listen();
  }, 60_000);
  afterAll(() => t.close());

  // The code itself invites it too: a person who reads it and changes their mind.
  // SIGTERM too (a script or a service manager stopping it), named as such in the line.
  for (const [signal, named] of [['SIGINT', 'Ctrl-C'], ['SIGTERM', 'SIGTERM']] as const) for (const [line, pattern] of [['the code', /^Code: /], ['"Waiting for the decision"', /Waiting for the decision/]] as const) {
    it(`grant create: ${named} as ${line} appears withdraws the request and ends by ${signal}`, async () => {
      const requester = run(['grant', 'create', '--label', 'Print the report', '--server', server], { signalAt: { pattern, signal } });
      expect(await requester.exited, requester.err()).toEqual({ code: null, signal });
      const code = /^Code: (\S+)$/m.exec(requester.out())![1]!;
      expect(requester.err()).toMatch(new RegExp(`\\npairgate: stopped \\(${named}\\): the request was withdrawn; its code ${code} no longer works\\.\\n$`));
      // Refused: an approver typing the code now is told it names no live request.
      const approved = await t.app.inject({ method: 'POST', url: `/api/v1/codes/${encodeURIComponent(code)}/approve`, payload: {} });
      expect(approved.statusCode).toBe(404);
    }, 30_000);
  }

  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    it(`serve: ${signal} as the URL line appears stops it cleanly (exit 0)`, async () => {
      const dataDir = mkdtempSync(join(tmpdir(), 'pairgate-signal-at-line-'));
      const serving = run(['serve', '--port', '0', '--host', '127.0.0.1', '--data-dir', dataDir], { signalAt: { pattern: /^pairgate listening on /, signal } });
      expect(await serving.exited).toEqual({ code: 0, signal: null });
      expect(serving.out()).toMatch(/^pairgate listening on http:\/\/127\.0\.0\.1:\d+\n/);
    }, 30_000);
  }

  it('box advertise: Ctrl-C as "advertising" appears withdraws the advert and ends it (exit 0)', async () => {
    const dir = join(mkdtempSync(join(tmpdir(), 'pairgate-signal-at-line-box-')), 'box');
    expect((await runCli(['box', 'init', '--dir', dir], {}, 60_000)).status).toBe(0);
    const advertising = run(['box', 'advertise', '--dir', dir, '--mdns-interface', '127.0.0.1', '--mdns-port', String(await closedPort())], { signalAt: { pattern: /^advertising / } });
    expect(await advertising.exited).toEqual({ code: 0, signal: null });
    expect(advertising.out()).toMatch(/^advertising \S+ on port \d+\n/);
  }, 30_000);
});
