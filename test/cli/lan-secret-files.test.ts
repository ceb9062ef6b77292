import { spawn } from 'node:child_process';
import { chmodSync, lstatSync, mkdirSync, mkdtempSync, readFileSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { CLI, ensureBuilt } from '../helpers/node-process.js';
import { runCli } from '../helpers/cli.js';

/**
 * The QR code images `lan offer --qr-png/--qr-svg` writes hold the whole connection string, secret
 * included: whoever reads one while the offer waits can pair in the intended device's place. They
 * must be readable by their owner only, like `device.json`.
 */
describe('pairgate lan: files that hold the secret, the device key or trust', () => {
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
    // Read while the offer waits: once it ends, it removes them (`lan-interrupt.test.ts`).
    const offer = spawn('node', [CLI, 'lan', 'offer', '--config-dir', join(root, 'dev'), '--address', '127.0.0.1', '--bind', '127.0.0.1',
      '--no-discovery', '--no-qr', '--timeout', '30', '--qr-png', png, '--qr-svg', svg], { env: { ...process.env, PAIRGATE_CONFIG_DIR: '' }, stdio: ['ignore', 'pipe', 'ignore'] });
    const stdout = await new Promise<string>((resolve, reject) => {
      let text = '';
      offer.stdout.on('data', (d: Buffer) => {
        text += String(d);
        if (text.includes('\n')) resolve(text);
      });
      offer.once('exit', () => reject(new Error('the offer ended before it printed its string')));
    });
    try {
      const secret = /Connection string: (pg1:\S+)/.exec(stdout)![1]!.split(':')[4]!;
      expect(secret).toHaveLength(43);
      expect(readFileSync(png).subarray(1, 4).toString()).toBe('PNG');
      expect(readFileSync(svg, 'utf8')).toMatch(/<svg/);
      expect(statSync(png).mode & 0o777).toBe(0o600);
      expect(statSync(svg).mode & 0o777).toBe(0o600);
      expect(lstatSync(png).isSymbolicLink()).toBe(false);
      expect(readFileSync(elsewhere, 'utf8')).toBe('untouched');
    } finally {
      offer.kill('SIGINT');
      await new Promise((resolve) => offer.once('exit', resolve));
    }
    expect(readFileSync(elsewhere, 'utf8')).toBe('untouched');
  });

  it('the pairing code is shown on the terminal (that is its purpose) but written to no file: not device.json, peers.json or the QR images, nor GET /diagnostics', async () => {
    const offerDir = join(root, 'code-offer');
    const joinDir = join(root, 'code-join');
    const png = join(root, 'code-qr.png');
    const offer = spawn('node', [CLI, 'lan', 'offer', '--code', '--config-dir', offerDir, '--address', '127.0.0.1', '--bind', '127.0.0.1',
      '--no-discovery', '--no-qr', '--timeout', '30', '--qr-png', png], { env: { ...process.env, PAIRGATE_CONFIG_DIR: '' }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    offer.stderr.on('data', (d: Buffer) => { stderr += String(d); });
    const exit = new Promise<number | null>((resolve) => offer.once('exit', resolve));
    await new Promise<void>((resolve, reject) => {
      offer.stdout.on('data', (d: Buffer) => {
        stdout += String(d);
        if (/Pairing code: \d{4}-\d{4}\n/.test(stdout) && /Diagnostics while waiting/.test(stderr)) resolve();
      });
      offer.stderr.on('data', () => { if (/Pairing code: \d{4}-\d{4}\n/.test(stdout) && /Diagnostics while waiting/.test(stderr)) resolve(); });
      void exit.then(() => reject(new Error(`the offer ended first: ${stderr}`)));
    });
    const code = /Pairing code: (\d{4}-\d{4})/.exec(stdout)![1]!;
    const port = /Listening on port (\d+)/.exec(stderr)![1]!;
    // Shown to the person (on stdout, above), with what to run on the other device: the code typed when asked.
    expect(stderr).toContain(`On the other device run: pairgate lan join --code - --address 127.0.0.1 --port ${port}   and type the pairing code when it asks`);
    const diagnostics = await (await fetch(`http://127.0.0.1:${port}/diagnostics?doctor=0`)).text();
    const pngBytes = readFileSync(png);
    const joined = await runCli(['lan', 'join', '--code', code, '--address', '127.0.0.1', '--port', port, '--no-discovery', '--config-dir', joinDir, '--out', root]);
    expect(joined.status).toBe(0);
    expect(await exit).toBe(0);
    const digits = code.replace('-', '');
    const stored = [diagnostics, pngBytes.toString('latin1'), joined.stdout, joined.stderr,
      ...['device.json', 'peers.json'].flatMap((name) => [readFileSync(join(offerDir, name), 'utf8'), readFileSync(join(joinDir, name), 'utf8')])].join('\n');
    expect(stored).toContain('"name"');
    expect(stored).not.toContain(code);
    expect(stored).not.toContain(digits);
  });

  it('refuses a config folder that others may write to (they could plant a trusted peer or the device key), or that is not a folder', async () => {
    const shared = join(root, 'shared');
    mkdirSync(shared);
    chmodSync(shared, 0o777);
    // What someone else could have left there: a peer this device would then trust.
    writeFileSync(join(shared, 'peers.json'), JSON.stringify({ version: 1, peers: [{ deviceId: 'AAAAAAAAAAAAAAAAAAAAAA', name: 'intruder', keySha256: 'B'.repeat(43), addresses: ['10.9.9.9'], pairedAt: '2020-01-01T00:00:00.000Z', lastSeenAt: '2020-01-01T00:00:00.000Z' }] }));
    for (const args of [['peers', 'list', '--config-dir', shared], ['lan', 'connect', '--listen', '--port', '0', '--timeout', '1', '--config-dir', shared]]) {
      const run = await runCli(args);
      expect(run.status).toBe(2);
      expect(run.stderr).toMatch(/others can write to it.*\[lan_unsafe_config_dir\]/);
      expect(run.stdout).not.toMatch(/intruder/);
    }
    // Through the environment too.
    const viaEnv = await runCli(['peers', 'list'], { PAIRGATE_CONFIG_DIR: shared });
    expect(viaEnv.status).toBe(2);
    const notAFolder = await runCli(['peers', 'list', '--config-dir', join(root, 'elsewhere.png')]);
    expect(notAFolder.status).toBe(2);
    expect(notAFolder.stderr).toMatch(/\[lan_unsafe_config_dir\]/);
    // Its owner's own folder, 0700, is fine.
    chmodSync(shared, 0o700);
    expect((await runCli(['peers', 'list', '--config-dir', shared])).status).toBe(0);
  });

  it('refuses a peers.json others may write and a device.json others may read, in a safe folder: exit 2, lan_unsafe_config_dir, naming the file and chmod 600', async () => {
    const dir = join(root, 'wide-files');
    mkdirSync(dir, { mode: 0o700 });
    const peers = join(dir, 'peers.json');
    writeFileSync(peers, JSON.stringify({ version: 1, peers: [{ deviceId: 'AAAAAAAAAAAAAAAAAAAAAA', name: 'intruder', keySha256: 'B'.repeat(43), addresses: ['10.9.9.9'], pairedAt: '2020-01-01T00:00:00.000Z', lastSeenAt: '2020-01-01T00:00:00.000Z' }] }));
    chmodSync(peers, 0o666);
    const listed = await runCli(['peers', 'list', '--config-dir', dir]);
    expect(listed.status).toBe(2);
    expect(listed.stderr).toMatch(new RegExp(`^pairgate: The file ${peers} is not safe: others can write to it \\(mode 666\\).*Run: chmod 600 ${peers} \\[lan_unsafe_config_dir\\]\n$`));
    expect(listed.stdout).not.toMatch(/intruder/);
    chmodSync(peers, 0o600);
    expect((await runCli(['peers', 'list', '--config-dir', dir])).stdout).toMatch(/intruder/);
    const made = await runCli(['lan', 'connect', '--listen', '--bind', '127.0.0.1', '--port', '0', '--timeout', '1', '--config-dir', dir]);
    expect(made.stderr).toContain('lan_listen_timeout');
    const device = join(dir, 'device.json');
    chmodSync(device, 0o644);
    const leaked = await runCli(['lan', 'connect', '--listen', '--bind', '127.0.0.1', '--port', '0', '--timeout', '1', '--config-dir', dir]);
    expect(leaked.status).toBe(2);
    expect(leaked.stderr).toContain(`pairgate: The file ${device} is not safe: others can read it (mode 644), and it holds this device's private key, which may have leaked. Run: chmod 600 ${device}.`);
    expect(leaked.stderr).toMatch(/\[lan_unsafe_config_dir\]\n$/);
  });

  it('refuses a damaged device.json (exit 2, lan_bad_device_file) and leaves it as it was: it is the key peers pin, never silently replaced', async () => {
    const dir = join(root, 'damaged-device');
    mkdirSync(dir, { mode: 0o700 });
    const damaged = JSON.stringify({ deviceId: 'AAAAAAAAAAAAAAAAAAAAAA', name: 'desk' });
    writeFileSync(join(dir, 'device.json'), damaged, { mode: 0o600 });
    const run = await runCli(['lan', 'connect', '--listen', '--bind', '127.0.0.1', '--port', '0', '--timeout', '1', '--config-dir', dir]);
    expect(run.status).toBe(2);
    expect(run.stderr).toContain(join(dir, 'device.json'));
    expect(run.stderr).toMatch(/damaged: keyPem, certPem missing.*\[lan_bad_device_file\]/);
    expect(readFileSync(join(dir, 'device.json'), 'utf8')).toBe(damaged);
  });
});
