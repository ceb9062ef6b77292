import { execFile, spawn } from 'node:child_process';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, type TestApp } from '../helpers/app.js';

const cli = join(process.cwd(), 'dist/cli/main.js');
const exec = promisify(execFile);

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

  it('tells the approver which server to use when it is not the default one', async () => {
    const created = await exec('node', [cli, 'grant', 'create', '--label', 'Open the door', '--no-wait', '--server', server]);
    expect(created.stdout).toMatch(new RegExp(`Ask the approver to run: pairgate grant approve \\S+ --server ${server.replace(/[.:/]/g, '\\$&')}$`, 'm'));
    const byDefault = await exec('node', [cli, 'grant', 'create', '--label', 'Open the door', '--no-wait'], { env: { ...process.env, PAIRGATE_SERVER: server } });
    expect(byDefault.stdout).toMatch(/Ask the approver to run: pairgate grant approve \S+$/m);
  });

  it('explains a mistyped code and an unreachable server', async () => {
    const typo = await exec('node', [cli, 'grant', 'approve', 'abcd-efgh-j', '--server', server]).catch((e: { stderr: string; code: number }) => e);
    expect((typo as { code: number }).code).toBe(2);
    expect((typo as { stderr: string }).stderr).toMatch(/typo.*\[code_check_failed\]/);
    const down = await exec('node', [cli, 'grant', 'show', 'abcd', '--server', 'http://127.0.0.1:1']).catch((e: { stderr: string }) => e);
    expect((down as { stderr: string }).stderr).toMatch(/Cannot reach http:\/\/127.0.0.1:1 \(bad port\)\. Check the address/);
  });
});
