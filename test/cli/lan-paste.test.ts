import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { beforeAll, describe, expect, it } from 'vitest';
import { encodeConnectionString } from '../../src/doors/lan/connection-string.js';
import { CLI, ensureBuilt } from '../helpers/node-process.js';

/**
 * `pairgate lan join -` (and `inspect -`, `join --code -`) at a terminal: the person is asked to
 * paste, and Enter is enough. It read to the end of input, so after pasting and pressing Enter
 * the command sat silent until they thought of Ctrl-D. Run under script(1), which gives it a
 * terminal; the input is left open, as a person's terminal is.
 */
describe('pairgate lan: pasting the string at a terminal', () => {
  beforeAll(() => ensureBuilt(), 120_000);

  it('prompts on stderr and takes the line at Enter, without waiting for the end of input', async (context) => {
    if (!existsSync('/usr/bin/script')) return context.skip();
    const string = encodeConnectionString({ addresses: ['10.0.0.2'], port: 34785, keySha256: randomBytes(32), secret: randomBytes(32), deviceId: randomBytes(16).toString('base64url'), name: 'laptop' });
    const child = spawn('script', ['-q', '-e', '-c', `node ${CLI} lan inspect -`, '/dev/null'], { stdio: ['pipe', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (d: Buffer) => { output += String(d); });
    const exited = new Promise<number | null>((resolve) => child.once('exit', resolve));
    // Wait for the prompt, as a person would, then paste and press Enter; never Ctrl-D.
    const deadline = Date.now() + 10_000;
    while (!output.includes('Paste the connection string, then press Enter:') && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 20));
    child.stdin.write(`${string}\r`);
    const code = await Promise.race([exited, new Promise<'still waiting'>((resolve) => setTimeout(() => resolve('still waiting'), 5000))]);
    child.stdin.end();
    if (code === 'still waiting') child.kill('SIGKILL');
    expect(output).toContain('Paste the connection string, then press Enter:');
    expect(code).toBe(0);
    expect(output).toContain('Device "laptop"');
    expect(output).toContain('Port: 34785');
  });

  it('reads on when a pasted string arrives cut over several lines (copied from a wrapped terminal or a mail)', async (context) => {
    if (!existsSync('/usr/bin/script')) return context.skip();
    const string = encodeConnectionString({ addresses: ['10.0.0.2'], port: 34786, keySha256: randomBytes(32), secret: randomBytes(32), deviceId: randomBytes(16).toString('base64url'), name: 'laptop' });
    const child = spawn('script', ['-q', '-e', '-c', `node ${CLI} lan inspect -`, '/dev/null'], { stdio: ['pipe', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (d: Buffer) => { output += String(d); });
    const exited = new Promise<number | null>((resolve) => child.once('exit', resolve));
    const deadline = Date.now() + 10_000;
    while (!output.includes('Paste the connection string, then press Enter:') && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 20));
    child.stdin.write(`${string.slice(0, 50)}\r${string.slice(50, 110)}\r${string.slice(110)}\r`);
    const code = await Promise.race([exited, new Promise<'still waiting'>((resolve) => setTimeout(() => resolve('still waiting'), 5000))]);
    child.stdin.end();
    if (code === 'still waiting') child.kill('SIGKILL');
    expect(output).toContain('It seems cut short: paste the rest (or press Enter to use it as it is):');
    expect(code).toBe(0);
    expect(output).toContain('Port: 34786');
  });
});
