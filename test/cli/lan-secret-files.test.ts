import { chmodSync, lstatSync, mkdtempSync, readFileSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { ensureBuilt } from '../helpers/node-process.js';
import { runCli } from '../helpers/cli.js';

/**
 * The QR code images `lan offer --qr-png/--qr-svg` writes hold the whole connection string, secret
 * included: whoever reads one while the offer waits can pair in the intended device's place. They
 * must be readable by their owner only, like `device.json`.
 */
describe('pairgate lan offer: files that hold the secret', () => {
  let root: string;
  beforeAll(() => {
    ensureBuilt();
    root = mkdtempSync(join(tmpdir(), 'pairgate-lan-secret-files-'));
  }, 120_000);

  it('writes the QR code images 0600, also over an existing world-readable file, and not through a symlink', async () => {
    const png = join(root, 'qr.png');
    const svg = join(root, 'qr.svg');
    // A file left world-readable beforehand keeps its mode when written in place.
    writeFileSync(svg, 'old');
    chmodSync(svg, 0o644);
    // A link planted at the name must not carry the secret somewhere else.
    const elsewhere = join(root, 'elsewhere.png');
    writeFileSync(elsewhere, 'untouched');
    chmodSync(elsewhere, 0o644);
    symlinkSync(elsewhere, png);
    const run = await runCli(['lan', 'offer', '--config-dir', join(root, 'dev'), '--address', '127.0.0.1', '--bind', '127.0.0.1',
      '--no-discovery', '--no-qr', '--timeout', '1', '--qr-png', png, '--qr-svg', svg], { PAIRGATE_CONFIG_DIR: '' });
    // The offer timed out (nobody joined): exit 2, and the images were written before.
    expect(run.status).toBe(2);
    const secret = /Connection string: (pg1:\S+)/.exec(run.stdout)![1]!.split(':')[4]!;
    expect(secret).toHaveLength(43);
    expect(readFileSync(png).subarray(1, 4).toString()).toBe('PNG');
    expect(readFileSync(svg, 'utf8')).toMatch(/<svg/);
    expect(statSync(png).mode & 0o777).toBe(0o600);
    expect(statSync(svg).mode & 0o777).toBe(0o600);
    expect(lstatSync(png).isSymbolicLink()).toBe(false);
    expect(readFileSync(elsewhere, 'utf8')).toBe('untouched');
  });
});
