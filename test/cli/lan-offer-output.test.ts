import { spawn } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
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
    child.stdout.on('data', (d: Buffer) => { stdout += String(d); });
    await new Promise((resolve) => child.once('exit', resolve));
    expect(stdout).toContain('█');
    expect(stdout).not.toContain('\x1b');
    expect(stdout).toMatch(/^Connection string: pg1:\S+$/m);
  }, 20_000);
});
