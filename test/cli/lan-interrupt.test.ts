import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CLI, ensureBuilt } from '../helpers/node-process.js';

/**
 * A lan command stopped half-way (Ctrl-C, SIGTERM) or ended leaves nothing of its own behind: no
 * half-received payload (`<name>.partial`) in the person's folder, no QR code image of an offer
 * that no longer runs (each holds that offer's secret). It says what it removed, and still ends by
 * the signal (exit status 130 for Ctrl-C).
 */

const children: ChildProcess[] = [];

interface Started {
  child: ChildProcess;
  stdout: string[];
  stderr: string[];
  exit: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** Resolves with the first stdout line (JSON), or rejects when the command ended first. */
  first: Promise<Record<string, unknown>>;
}

function start(args: string[]): Started {
  const child = spawn('node', [CLI, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  children.push(child);
  const stdout: string[] = [];
  const stderr: string[] = [];
  child.stderr!.on('data', (d: Buffer) => stderr.push(String(d)));
  const exit = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));
  const lines = createInterface({ input: child.stdout! });
  const first = new Promise<Record<string, unknown>>((resolve, reject) => {
    lines.on('line', (line) => {
      stdout.push(line);
      if (stdout.length === 1) resolve(JSON.parse(line) as Record<string, unknown>);
    });
    void exit.then(() => reject(new Error(`exited before output: ${stderr.join('')}`)));
  });
  // Not every caller reads it (a join stopped before its result): no unhandled rejection then.
  first.catch(() => undefined);
  return { child, stdout, stderr, exit, first };
}

async function until(condition: () => boolean, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error('timed out');
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

const loopback = ['--address', '127.0.0.1', '--bind', '127.0.0.1', '--no-discovery'];

describe('pairgate lan: stopped or ended, nothing of its own left behind', () => {
  let root: string;
  beforeAll(() => {
    ensureBuilt();
    root = mkdtempSync(join(tmpdir(), 'pairgate-lan-interrupt-'));
  }, 120_000);
  afterAll(() => {
    for (const child of children) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  });

  it('Ctrl-C while an offer waits: its QR code images are removed, it says so, and it ends by SIGINT', async () => {
    const png = join(root, 'waiting.png');
    const svg = join(root, 'waiting.svg');
    const offer = start(['lan', 'offer', '--config-dir', join(root, 'laptop'), ...loopback, '--json', '--qr-png', png, '--qr-svg', svg, '--timeout', '60']);
    await offer.first;
    expect(existsSync(png) && existsSync(svg)).toBe(true);
    offer.child.kill('SIGINT');
    expect(await offer.exit).toEqual({ code: null, signal: 'SIGINT' });
    expect(existsSync(png)).toBe(false);
    expect(existsSync(svg)).toBe(false);
    expect(offer.stderr.join('')).toContain(`pairgate: stopped (Ctrl-C); removed ${png}, ${svg}.`);
  });

  it('Ctrl-C on a join still looking for the offer by multicast says it stopped, like the other paths, and ends by SIGINT', async () => {
    // An offer that has ended: its address refuses, so the join looks by multicast, hearing nothing.
    const ended = start(['lan', 'offer', '--config-dir', join(root, 'gone'), ...loopback, '--json', '--no-qr', '--timeout', '1']);
    const connection = String((await ended.first).connectionString);
    await ended.exit;
    const joiner = start(['lan', 'join', connection, '--config-dir', join(root, 'seeker'), '--timeout', '30', '--json']);
    await until(() => /by multicast discovery/.test(joiner.stderr.join('')));
    joiner.child.kill('SIGINT');
    expect(await joiner.exit).toEqual({ code: null, signal: 'SIGINT' });
    expect(joiner.stderr.join('')).toMatch(/\npairgate: stopped \(Ctrl-C\)\.\n$/);
  });

  it('an offer that ended (its timeout) removes its QR code image too', async () => {
    const png = join(root, 'ended.png');
    const offer = start(['lan', 'offer', '--config-dir', join(root, 'laptop'), ...loopback, '--json', '--qr-png', png, '--timeout', '1']);
    await offer.first;
    expect(existsSync(png)).toBe(true);
    expect((await offer.exit).code).toBe(2);
    expect(offer.stderr.join('')).toContain('[lan_offer_timeout]');
    expect(existsSync(png)).toBe(false);
  });

  it('Ctrl-C on a join receiving a payload: no .partial is left in --out, and the offer is told the other device was stopped (exit 1)', async () => {
    const payload = join(root, 'big.bin');
    // Large enough that the transfer is still running when the first progress line is read.
    writeFileSync(payload, Buffer.alloc(96 * 1024 * 1024, 7));
    const out = join(root, 'received');
    mkdirSync(out);
    const offer = start(['lan', 'offer', '--config-dir', join(root, 'desk'), ...loopback, '--json', '--no-qr', '--payload', payload, '--timeout', '60']);
    const connection = String((await offer.first).connectionString);
    const joiner = start(['lan', 'join', connection, '--config-dir', join(root, 'tablet'), '--out', out, '--no-discovery', '--json']);
    await until(() => /Receiving big\.bin/.test(joiner.stderr.join('')));
    joiner.child.kill('SIGINT');
    expect(await joiner.exit).toEqual({ code: null, signal: 'SIGINT' });
    expect(readdirSync(out)).toEqual([]);
    expect(joiner.stderr.join('')).toMatch(/pairgate: stopped \(Ctrl-C\); removed .*big\.bin\.partial\./);
    expect((await offer.exit).code).toBe(1);
    // Told why, rather than "the connection was lost (was pairgate stopped there?)".
    expect(offer.stderr.join('')).toContain('pairgate: The other device stopped before the exchange finished: it was stopped (Ctrl-C) before it finished (lan_interrupted there). '
      + 'Nothing went wrong on this device: try again when pairgate runs there again. [lan_peer_failed]');
  }, 60_000);

  it('Ctrl-C on an offer in the middle of sending a payload: the join is told it was stopped (not "connection lost"), exit 1, no .partial left', async () => {
    const payload = join(root, 'big-sent.bin');
    // Large enough that the transfer is still running when the first progress line is read, so the
    // notice goes out behind queued bytes of the file (which used to be cut off by the exit).
    writeFileSync(payload, Buffer.alloc(96 * 1024 * 1024, 9));
    const out = join(root, 'received-from-stopped');
    mkdirSync(out);
    const offer = start(['lan', 'offer', '--config-dir', join(root, 'sender'), ...loopback, '--json', '--no-qr', '--payload', payload, '--timeout', '60']);
    const connection = String((await offer.first).connectionString);
    const joiner = start(['lan', 'join', connection, '--config-dir', join(root, 'receiver'), '--out', out, '--no-discovery', '--json']);
    await until(() => /Sending big-sent\.bin/.test(offer.stderr.join('')) && /Receiving big-sent\.bin/.test(joiner.stderr.join('')));
    offer.child.kill('SIGINT');
    expect(await offer.exit).toEqual({ code: null, signal: 'SIGINT' });
    expect((await joiner.exit).code).toBe(1);
    expect(joiner.stderr.join('')).toContain('pairgate: The other device stopped before the exchange finished: it was stopped (Ctrl-C) before it finished (lan_interrupted there). '
      + 'Nothing went wrong on this device: try again when pairgate runs there again. [lan_peer_failed]');
    expect(readdirSync(out)).toEqual([]);
  }, 60_000);
});
