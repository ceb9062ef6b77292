import { execFile, execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { notApproved } from '../../src/cli/commands/grant.js';
import { whenWords } from '../../src/cli/time-words.js';
import { createTestApp, type TestApp } from '../helpers/app.js';

const cli = join(process.cwd(), 'dist/cli/main.js');
const hasScript = (() => {
  try {
    execFileSync('script', ['--version'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
})();
const exec = promisify(execFile);

// A zone without daylight saving and half an hour off UTC: its times cannot pass for UTC ones.
const KOLKATA = { env: { ...process.env, TZ: 'Asia/Kolkata' } };
const ISO = /\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z/;

/**
 * A time as the CLI's text output says it in Asia/Kolkata (UTC+05:30), as `session` does: the time
 * of day, with its date first when that is not today there, then how far off it is.
 */
function kolkataWhen(iso: string, distance: string): string {
  const shifted = new Date(new Date(iso).getTime() + 330 * 60_000).toISOString();
  const today = new Date(Date.now() + 330 * 60_000).toISOString().slice(0, 10);
  return `${shifted.slice(0, 10) === today ? '' : `${shifted.slice(0, 10)} `}${shifted.slice(11, 19)} (${distance})`;
}

describe('pairgate grant (CLI through the SDK, against a real server)', () => {
  let t: TestApp;
  let server: string;
  beforeAll(async () => {
    await exec('npx', ['tsc', '-p', 'tsconfig.build.json']);
    t = await createTestApp();
    server = await t.listen();
  }, 120_000);
  afterAll(() => t.close());

  it('create waits for a person who approves from another process, then redeems', async () => {
    const requester = spawn('node', [cli, 'grant', 'create', '--label', 'Let the printer in', '--server', server], { stdio: ['ignore', 'pipe', 'pipe'] });
    const exited = new Promise<number | null>((resolve) => requester.once('exit', resolve));
    const lines = createInterface({ input: requester.stdout! });
    const output: string[] = [];
    const code = await new Promise<string>((resolve) => {
      lines.on('line', (line) => {
        output.push(line);
        const match = /^Code: (\S+)$/.exec(line);
        if (match) resolve(match[1]!);
      });
    });
    const shown = await exec('node', [cli, 'grant', 'show', code, '--server', server]);
    expect(shown.stdout).toContain('Let the printer in');
    const approved = await exec('node', [cli, 'grant', 'approve', code, '--note', 'go ahead', '--server', server]);
    expect(approved.stdout).toContain('Approved: Let the printer in');
    expect(await exited).toBe(0);
    expect(output.join('\n')).toContain('Approved: go ahead.');
  });

  it('tells the requester why it was refused: the note given with `grant refuse --note`, in text and in JSON', async () => {
    for (const json of [false, true]) {
      const requester = spawn('node', [cli, 'grant', 'create', '--label', 'Deploy v3', ...(json ? ['--json'] : []), '--server', server], { stdio: ['ignore', 'pipe', 'pipe'] });
      const exited = new Promise<number | null>((resolve) => requester.once('exit', resolve));
      const lines = createInterface({ input: requester.stdout! });
      const read = new Promise((resolve) => lines.once('close', resolve));
      const output: string[] = [];
      const code = await new Promise<string>((resolve) => {
        lines.on('line', (line) => {
          output.push(line);
          const match = json ? /"code":"([^"]+)"/.exec(line) : /^Code: (\S+)$/.exec(line);
          if (match) resolve(match[1]!);
        });
      });
      const refused = await exec('node', [cli, 'grant', 'refuse', code, '--note', 'not today', '--server', server]);
      expect(refused.stdout).toBe('Refused: Deploy v3\n');
      expect(await exited).toBe(1);
      await read;
      if (json) {
        const id = (JSON.parse(output[0]!) as { id: string }).id;
        expect(JSON.parse(output.at(-1)!)).toEqual({ id, state: 'refused', note: 'not today' });
      } else {
        expect(output.at(-1)).toBe('Refused: not today.');
      }
    }
  });

  it('takes an empty PAIRGATE_SERVER as unset: the default server, not an error about ""', async () => {
    const help = await exec('node', [cli, 'grant', 'show', '--help'], { env: { ...process.env, PAIRGATE_SERVER: '' } });
    expect(help.stdout).toMatch(/\(PAIRGATE_SERVER, default:\s+http:\/\/127\.0\.0\.1:8080\)/);
  });

  it('documents the exit codes and gives an example in every grant command\'s --help', async () => {
    for (const command of ['create', 'show', 'approve', 'refuse']) {
      const help = await exec('node', [cli, 'grant', command, '--help']);
      expect(help.stdout, command).toMatch(/^Exit code: 0 when /m);
      expect(help.stdout, command).toMatch(/\$ pairgate grant /);
    }
    expect((await exec('node', [cli, 'grant', '--help'])).stdout).toMatch(/Examples:\n {2}\$ pairgate grant create/);
  });

  it('shows the approver a requester\'s label and data as they are, never as terminal commands or lines of their own', async () => {
    // pairgate itself refuses such a label (grants-flow.test.ts); a server of another version, or
    // one that is not pairgate, may still send one, and the CLI shows it harmless all the same.
    const label = 'Print a page\nState: approved by your admin\u001b[2K';
    expect((await fetch(`${server}/api/v1/grants`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ label }) })).status).toBe(400);
    const other = createServer((request, response) => {
      const view = { label, data: { from: 'x\ny: z' }, state: request.method === 'POST' ? 'approved' : 'pending', expiresAt: '2030-01-01T00:00:00.000Z' };
      response.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(view));
    });
    await new Promise<void>((resolve) => other.listen(0, '127.0.0.1', resolve));
    try {
      const url = `http://127.0.0.1:${(other.address() as AddressInfo).port}`;
      const shown = await exec('node', [cli, 'grant', 'show', 'abcd-efgh-j', '--server', url], KOLKATA);
      const lines = shown.stdout.split('\n');
      expect(lines[0]).toBe('Print a page↵State: approved by your admin\uFFFD[2K');
      expect(lines[1]).toBe('  from: x↵y: z');
      // The time as the session commands say it (local, with how far off), not the server's UTC ISO.
      expect(lines[2]).toMatch(/^State: pending, expires at 2030-01-01 05:30:00 \(in \d+ days\)$/);
      const approved = await exec('node', [cli, 'grant', 'approve', 'abcd-efgh-j', '--server', url]);
      expect(approved.stdout).toBe('Approved: Print a page↵State: approved by your admin\uFFFD[2K\n');
    } finally {
      await new Promise((resolve) => other.close(resolve));
    }
  });

  it('on a terminal, approve shows what the code asks and approves only after a yes (script(1) gives it one)', async (context) => {
    if (!hasScript) context.skip('needs script(1) (util-linux) for a terminal');
    const response = await fetch(`${server}/api/v1/grants`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ label: 'Let the printer in', data: { room: 'office' } }) });
    const { code, id } = (await response.json()) as { code: string; id: string };
    /** Runs `grant approve` on a terminal, answers `answer` to its question; resolves with what it printed and its exit code. */
    const approveOnTerminal = (answer: string) => new Promise<{ status: number | null; output: string }>((resolve) => {
      const child = spawn('script', ['-qec', `node ${cli} grant approve ${code} --server ${server}`, '/dev/null'], { stdio: ['pipe', 'pipe', 'inherit'] });
      let output = '';
      child.stdout!.on('data', (chunk: Buffer) => {
        output += chunk.toString();
        if (output.includes('[y/N] ') && child.stdin!.writable) child.stdin!.end(`${answer}\n`);
      });
      child.once('exit', (status) => resolve({ status, output }));
    });
    const no = await approveOnTerminal('n');
    expect(no.status).toBe(1);
    expect(no.output).toMatch(/Let the printer in\r?\n {2}room: office\r?\nState: pending, expires at (\d{4}-\d\d-\d\d )?\d\d:\d\d:\d\d \(in 10 min\)\r?\nApprove this request\? \[y\/N\] /);
    expect(no.output).toContain('Not approved: nothing was changed (the code still works until it expires).');
    expect(((await (await fetch(`${server}/api/v1/grants/${id}`)).json()) as { state: string }).state).toBe('pending');
    const yes = await approveOnTerminal('y');
    expect(yes.status).toBe(0);
    expect(yes.output).toContain('Approved: Let the printer in');
    expect(((await (await fetch(`${server}/api/v1/grants/${id}`)).json()) as { state: string }).state).toBe('approved');
  }, 30_000);

  it('create --data shows facts to the approver; show, approve and refuse print one line of JSON with --json', async () => {
    const created = await exec('node', [cli, 'grant', 'create', '--label', 'Let the printer in', '--data', 'room=Attic', '--data', 'model=HP 4100 = mono', '--no-wait', '--json', '--server', server]);
    const { code } = JSON.parse(created.stdout) as { code: string };
    const shown = await exec('node', [cli, 'grant', 'show', code, '--json', '--server', server]);
    expect(shown.stdout.trim().split('\n')).toHaveLength(1);
    expect(JSON.parse(shown.stdout)).toMatchObject({ label: 'Let the printer in', data: { room: 'Attic', model: 'HP 4100 = mono' }, state: 'pending' });
    const text = await exec('node', [cli, 'grant', 'show', code, '--server', server]);
    expect(text.stdout).toContain('\n  room: Attic\n  model: HP 4100 = mono\n');
    const approved = await exec('node', [cli, 'grant', 'approve', code, '--yes', '--json', '--server', server]);
    expect(JSON.parse(approved.stdout)).toMatchObject({ label: 'Let the printer in', state: 'approved' });
    const other = JSON.parse((await exec('node', [cli, 'grant', 'create', '--label', 'Other', '--no-wait', '--json', '--server', server])).stdout) as { code: string };
    const refused = await exec('node', [cli, 'grant', 'refuse', other.code, '--json', '--server', server]);
    expect(JSON.parse(refused.stdout)).toMatchObject({ label: 'Other', state: 'refused' });
    for (const bad of [['nothing'], ['=x'], ['a=1', 'a=2']]) {
      const refusedInput = await exec('node', [cli, 'grant', 'create', '--label', 'x', ...bad.flatMap((item) => ['--data', item]), '--no-wait', '--server', server]).catch((error: { code: number; stderr: string }) => error);
      expect(refusedInput, bad.join(' ')).toMatchObject({ code: 2, stderr: expect.stringMatching(/^pairgate: --data/) });
    }
  });

  it('tells the approver which server to use when it is not the built-in default, also one from PAIRGATE_SERVER (the approver may not have it set), and the code as shown', async () => {
    const created = await exec('node', [cli, 'grant', 'create', '--label', 'Open the door', '--no-wait', '--server', server]);
    const code = /^Code: (\S+)$/m.exec(created.stdout)![1]!;
    expect(code).toBe(code.toUpperCase());
    expect(created.stdout).toContain(`Ask the approver to run: pairgate grant approve ${code} --server ${server}\n`);
    const fromEnv = await exec('node', [cli, 'grant', 'create', '--label', 'Open the door', '--no-wait'], { env: { ...process.env, PAIRGATE_SERVER: server } });
    expect(fromEnv.stdout).toMatch(new RegExp(`Ask the approver to run: pairgate grant approve [0-9A-Z-]+ --server ${server.replace(/[.:/]/g, '\\$&')}$`, 'm'));
  });

  it('says so when the server keeps the grant shorter than --ttl asked (the API caps it without an error)', async () => {
    // The test server keeps grants at most 600 s (PAIRGATE_GRANT_TTL_SECONDS' default).
    // Times in text as the session commands print them: local time of day and how far off it is.
    const capped = await exec('node', [cli, 'grant', 'create', '--label', 'Long job', '--ttl', '3600', '--no-wait', '--server', server], KOLKATA);
    expect(capped.stdout).toMatch(/^Asked for 3600 s; this server keeps grants at most 600 s, so this one expires at (\d{4}-\d\d-\d\d )?\d\d:\d\d:\d\d \(in 10 min\)\.\nAsk the approver to run: pairgate grant approve \S+ --server /m);
    expect(capped.stdout).not.toMatch(ISO);
    const code = /^Code: (\S+)$/m.exec(capped.stdout)![1]!;
    const { expiresAt } = (await (await fetch(`${server}/api/v1/codes/${code}`)).json()) as { expiresAt: string };
    expect(capped.stdout).toContain(`so this one expires at ${kolkataWhen(expiresAt, 'in 10 min')}.\n`);
    // With --json, standard output stays one JSON document (its time UTC ISO) and the note goes to standard error.
    const json = await exec('node', [cli, 'grant', 'create', '--label', 'Long job', '--ttl', '3600', '--no-wait', '--json', '--server', server], KOLKATA);
    const created = JSON.parse(json.stdout) as { expiresAt: string };
    expect(created.expiresAt).toMatch(ISO);
    expect(json.stderr).toBe(`Asked for 3600 s; this server keeps grants at most 600 s, so this one expires at ${kolkataWhen(created.expiresAt, 'in 10 min')}.\n`);
    // Within the maximum, or without --ttl, there is nothing to say.
    for (const ttl of [['--ttl', '600'], ['--ttl', '30'], []]) {
      const kept = await exec('node', [cli, 'grant', 'create', '--label', 'Short job', ...ttl, '--no-wait', '--server', server], KOLKATA);
      expect(kept.stdout, ttl.join(' ')).toMatch(/^Expires at (\d{4}-\d\d-\d\d )?\d\d:\d\d:\d\d \(in (\d+ s|10 min)\)\. Ask the approver to run/m);
      expect(kept.stdout).not.toMatch(ISO);
      expect(kept.stdout + kept.stderr).not.toMatch(/Asked for/);
    }
  });

  it('explains a mistyped code and an unreachable server', async () => {
    const typo = await exec('node', [cli, 'grant', 'approve', 'abcd-efgh-j', '--server', server]).catch((e: { stderr: string; code: number }) => e);
    expect((typo as { code: number }).code).toBe(2);
    expect((typo as { stderr: string }).stderr).toMatch(/typo.*\[code_check_failed\]$/m);
    const missing = await exec('node', [cli, 'grant', 'show', 'abcd', '--server', `${server}/nowhere`]).catch((e: { stderr: string }) => e);
    // pairgate's own 404 (route_not_found) is not mistaken for another server's.
    expect((missing as { stderr: string }).stderr).toMatch(/There is nothing at GET \/nowhere\/api\/v1\/codes\/abcd\. \[route_not_found\]$/m);
    // Port 2: nothing listens there, and fetch calls it (1 is a port it refuses: bad-input.test.ts).
    const down = await exec('node', [cli, 'grant', 'show', 'abcd', '--server', 'http://127.0.0.1:2']).catch((e: { stderr: string; code: number }) => e);
    expect((down as { stderr: string }).stderr).toMatch(/Cannot reach http:\/\/127.0.0.1:2 \(ECONNREFUSED\)\. Check the address/);
    expect(down).toMatchObject({ code: 1 });
  });
});

describe('pairgate grant create on a server that requires a creation token', () => {
  const token = 'cli-create-token-0123456789abcdefghij';
  let t: TestApp;
  let server: string;
  beforeAll(async () => {
    t = await createTestApp({ PAIRGATE_GRANTS_CREATE_TOKEN: token });
    server = await t.listen();
  });
  afterAll(() => t.close());

  it('sends PAIRGATE_GRANTS_CREATE_TOKEN from the environment; without it, says which variable to set (exit 2)', async () => {
    const env = { ...process.env, PAIRGATE_GRANTS_CREATE_TOKEN: token };
    const created = await exec('node', [cli, 'grant', 'create', '--label', 'With token', '--no-wait', '--json', '--server', server], { env });
    expect((JSON.parse(created.stdout) as { code: string }).code).toBeTruthy();
    const { PAIRGATE_GRANTS_CREATE_TOKEN: _unset, ...without } = process.env;
    const refused = await exec('node', [cli, 'grant', 'create', '--label', 'Without', '--no-wait', '--server', server], { env: without }).catch((error: { code: number; stderr: string }) => error);
    expect(refused).toMatchObject({ code: 2 });
    expect((refused as { stderr: string }).stderr).toMatch(/PAIRGATE_GRANTS_CREATE_TOKEN/);
  });
});

describe('pairgate grant against something that is not a pairgate server', () => {
  let other: Server;
  let url: string;
  beforeAll(async () => {
    // What a static file server, or a proxy with no route to pairgate, answers.
    other = createServer((_request, response) => response.writeHead(404, 'File not found', { 'content-type': 'text/html' }).end('<h1>404</h1>'));
    await new Promise<void>((resolve) => other.listen(0, '127.0.0.1', resolve));
    url = `http://127.0.0.1:${(other.address() as AddressInfo).port}`;
  });
  afterAll(() => new Promise<void>((resolve) => other.close(() => resolve())));

  it('says the answer is not pairgate\'s and to check the URL, not just "File not found"', async () => {
    const result = await exec('node', [cli, 'grant', 'show', 'abcd-efgh-j', '--server', url]).catch((e: { stderr: string; code: number }) => e);
    expect((result as { code: number }).code).toBe(2);
    expect((result as { stderr: string }).stderr.trim()).toBe('pairgate: File not found [http_404]; the answer has no pairgate error in it: check that the URL given is the pairgate server (or that a proxy in front of it passes requests on)');
  });
});

describe('pairgate grant against a web server that answers every path with a page', () => {
  let other: Server;
  let url: string;
  beforeAll(async () => {
    // A single-page app's hosting: 200 and the same HTML for any path.
    other = createServer((_request, response) => response.writeHead(200, { 'content-type': 'text/html' }).end('<html>hi</html>'));
    await new Promise<void>((resolve) => other.listen(0, '127.0.0.1', resolve));
    url = `http://127.0.0.1:${(other.address() as AddressInfo).port}`;
  });
  afterAll(() => new Promise<void>((resolve) => other.close(() => resolve())));

  it('says the answer is not pairgate\'s, exit 2, not JSON.parse\'s "Unexpected token \'<\'" and exit 1', async () => {
    const result = await exec('node', [cli, 'grant', 'show', 'abcd-efgh-j', '--server', url]).catch((e: { stderr: string; code: number }) => e);
    expect((result as { code: number }).code).toBe(2);
    expect((result as { stderr: string }).stderr.trim()).toBe(`pairgate: ${url} answered GET /api/v1/codes/abcd-efgh-j with text/html, not pairgate's JSON: check that the URL is the pairgate server (or that a proxy in front of it passes requests on). [not_pairgate]`);
  });
});

describe('the line for a grant that ended without approval', () => {
  it('says an expired code expired before anyone decided, and what to do; a refusal gives its note', () => {
    const expired = new Date(Date.now() - 90_000).toISOString();
    expect(notApproved('expired', null, expired)).toBe(`Not approved: nobody decided before the code expired at ${whenWords(expired)}. Create a new one to ask again.`);
    expect(notApproved('expired', null, expired)).toMatch(/expired at (\d{4}-\d\d-\d\d )?\d\d:\d\d:\d\d \(2 min ago\)\. /);
    expect(notApproved('refused', 'not today', '')).toBe('Refused: not today.');
    expect(notApproved('refused', null, '')).toBe('Refused.');
  });
});

describe('pairgate grant create while the server restarts', () => {
  /** `pairgate serve` on `port` (0: any) over `dataDir`; resolves with its URL and the process. */
  async function serve(port: number, dataDir: string): Promise<{ url: string; child: ChildProcess }> {
    const child = spawn('node', [cli, 'serve', '--port', String(port), '--data-dir', dataDir], { env: { ...process.env, PAIRGATE_LOG_LEVEL: 'warn' }, stdio: ['ignore', 'pipe', 'inherit'] });
    const line = await new Promise<string>((resolve) => createInterface({ input: child.stdout! }).once('line', resolve));
    return { url: line.replace(/^pairgate listening on /, ''), child };
  }
  const stop = (child: ChildProcess): Promise<unknown> => new Promise((resolve) => {
    child.once('exit', resolve);
    child.kill('SIGTERM');
  });
  let running: ChildProcess | undefined;
  afterAll(async () => {
    if (running && running.exitCode === null) await stop(running);
  });

  it('keeps waiting, saying so, and sees the approval made once the server is back', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'pairgate-grant-restart-'));
    const first = await serve(0, dataDir);
    running = first.child;
    const requester = spawn('node', [cli, 'grant', 'create', '--label', 'Across a restart', '--server', first.url], { stdio: ['ignore', 'pipe', 'pipe'] });
    const exited = new Promise<number | null>((resolve) => requester.once('exit', resolve));
    let stderr = '';
    requester.stderr!.on('data', (chunk: Buffer) => void (stderr += chunk.toString()));
    const output: string[] = [];
    const code = await new Promise<string>((resolve) => {
      createInterface({ input: requester.stdout! }).on('line', (line) => {
        output.push(line);
        const match = /^Code: (\S+)$/.exec(line);
        if (match) resolve(match[1]!);
      });
    });
    await expect.poll(() => stderr).toContain('Waiting for the decision');
    await stop(first.child);
    await expect.poll(() => stderr, { timeout: 5_000 }).toMatch(/^Lost the server while waiting \(\S+\); asking again in \d+ s\.\.\. \(Ctrl-C to stop\)$/m);
    const second = await serve(Number(new URL(first.url).port), dataDir);
    running = second.child;
    await exec('node', [cli, 'grant', 'approve', code, '--server', second.url]);
    expect(await exited).toBe(0);
    expect(output.at(-1)).toBe('Approved.');
  }, 60_000);
});
