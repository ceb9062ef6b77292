import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { CLI, ensureBuilt } from '../helpers/node-process.js';

describe('pairgate lan offer with its output redirected (not a terminal)', () => {
  beforeAll(() => ensureBuilt(), 120_000);

  it('draws the QR code without colour codes and still prints the connection string', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'pairgate-lan-offer-out-'));
    const child = spawn('node', [CLI, 'lan', 'offer', '--config-dir', dir, '--name', 'desk', '--address', '127.0.0.1', '--bind', '127.0.0.1', '--no-discovery', '--timeout', '1'], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => { stdout += String(d); });
    child.stderr.on('data', (d: Buffer) => { stderr += String(d); });
    await new Promise((resolve) => child.once('exit', resolve));
    expect(stdout).toContain('█');
    expect(stdout).not.toContain('\x1b');
    expect(stdout).toMatch(/^Connection string: pg1:\S+$/m);
    expect(stderr).toContain('On the other device run: pairgate lan join -   and paste the connection string when it asks (waiting up to 1 s; Ctrl-C to stop)\n');
  }, 20_000);

  it('with --code and --no-discovery, tells the other device in one line to dial the address and port (nothing announces the offer for --device to find), the code read with "-"', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'pairgate-lan-offer-out-'));
    const child = spawn('node', [CLI, 'lan', 'offer', '--code', '--config-dir', dir, '--name', 'attic', '--address', '127.0.0.1', '--bind', '127.0.0.1', '--no-discovery', '--no-qr', '--timeout', '1'], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => { stdout += String(d); });
    child.stderr.on('data', (d: Buffer) => { stderr += String(d); });
    await new Promise((resolve) => child.once('exit', resolve));
    const code = /^Pairing code: (\d{4}-\d{4})$/m.exec(stdout)![1]!;
    const port = /^Listening on port (\d+),/m.exec(stderr)![1]!;
    expect(code).toMatch(/^\d{4}-\d{4}$/);
    // The code and the string are secrets: read from stdin, not given as an argument (process list, shell history).
    expect(stderr).toContain(`On the other device run: pairgate lan join --code - --address 127.0.0.1 --port ${port}   and type the pairing code when it asks (or: pairgate lan join -   and paste the connection string) (waiting up to 1 s; Ctrl-C to stop)\n`);
    expect(stderr.match(/On the other device run:/g)).toHaveLength(1);
    expect(stderr).not.toContain(code);
    expect(stderr).not.toContain('--device');
  }, 20_000);

  it('with --code and discovery, names the device for --device and gives its id for when another device nearby copies the name', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'pairgate-lan-offer-out-'));
    const child = spawn('node', [CLI, 'lan', 'offer', '--code', '--config-dir', dir, '--name', 'attic', '--address', '127.0.0.1', '--bind', '127.0.0.1', '--no-qr', '--timeout', '1'], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => { stderr += String(d); });
    await new Promise((resolve) => child.once('exit', resolve));
    expect(stderr).toContain('On the other device run: pairgate lan join --code - --device "attic"   and type the pairing code');
    const id = /^If another device nearby offers a code under the name "attic", name this one by its id instead: --device (\S+)$/m.exec(stderr)?.[1];
    expect(id).toMatch(/^[A-Za-z0-9_][A-Za-z0-9_-]{21}$/);
    const stored = JSON.parse(readFileSync(join(dir, 'device.json'), 'utf8')) as { deviceId: string };
    expect(id).toBe(stored.deviceId);
  }, 20_000);
});
