import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CLI, ensureBuilt } from '../helpers/node-process.js';

/**
 * The device that fails on its side in the middle of an exchange (its disk fills while it receives
 * a file, the file is over its --max-size) says why on its own screen, and the other device says
 * that the OTHER device failed and why (`lan_peer_failed`, exit 1), not "protocol error" (exit 2,
 * which reads as a bug or an attacker). Two processes of the real CLI on loopback.
 */

const children: ChildProcess[] = [];
const mounts: string[] = [];

interface Started {
  child: ChildProcess;
  stderr: string[];
  exit: Promise<number | null>;
  /** The first stdout line (JSON). */
  first: Promise<Record<string, unknown>>;
}

function start(args: string[]): Started {
  const child = spawn('node', [CLI, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  children.push(child);
  const stderr: string[] = [];
  child.stderr!.on('data', (d: Buffer) => stderr.push(String(d)));
  const exit = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const first = new Promise<Record<string, unknown>>((resolve, reject) => {
    createInterface({ input: child.stdout! }).once('line', (line) => resolve(JSON.parse(line) as Record<string, unknown>));
    void exit.then(() => reject(new Error(`exited before output: ${stderr.join('')}`)));
  });
  first.catch(() => undefined);
  return { child, stderr, exit, first };
}

async function run(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const child = spawn('node', [CLI, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  children.push(child);
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d: Buffer) => { stdout += String(d); });
  child.stderr.on('data', (d: Buffer) => { stderr += String(d); });
  const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
  return { code, stdout, stderr };
}

const loopback = ['--address', '127.0.0.1', '--bind', '127.0.0.1', '--no-discovery'];

/** The trusted peers of a config folder. */
async function peersOf(dir: string): Promise<unknown[]> {
  return (JSON.parse((await run(['peers', 'list', '--json', '--config-dir', dir])).stdout) as { peers: unknown[] }).peers;
}

describe('pairgate lan: the other device failed on its side', () => {
  let root: string;
  beforeAll(() => {
    ensureBuilt();
    root = mkdtempSync(join(tmpdir(), 'pairgate-lan-peer-failure-'));
  }, 120_000);
  afterAll(() => {
    for (const child of children) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    for (const dir of mounts) {
      try {
        execFileSync('umount', [dir], { stdio: 'ignore' });
      } catch {
        // Left to the machine's clean-up.
      }
    }
  });

  it('a file over the offer\'s --max-size: the offer says so (lan_payload_too_large, exit 2), the joiner that the other device refused it and what to do (exit 1)', async () => {
    const file = join(root, 'photo.jpg');
    writeFileSync(file, Buffer.alloc(5000, 3));
    const out = join(root, 'desk-out');
    mkdirSync(out);
    const offer = start(['lan', 'offer', '--config-dir', join(root, 'desk'), ...loopback, '--json', '--no-qr', '--out', out, '--max-size', '1000', '--timeout', '30']);
    const connection = String((await offer.first).connectionString);
    const joined = await run(['lan', 'join', connection, '--config-dir', join(root, 'phone'), '--payload', file, '--no-discovery']);
    expect(joined.stderr).toContain('pairgate: The other device stopped before the exchange finished: it accepts files of at most 1000 bytes (its --max-size), and this one has 5000 (lan_payload_too_large there). '
      + 'Nothing went wrong on this device: send a smaller file, or run it there with a larger --max-size, then try again.');
    expect(joined.stderr).toMatch(/\[lan_peer_failed\]\n$/);
    expect(joined.stderr).not.toContain('lan_protocol_error');
    expect(joined.code).toBe(1);
    expect(await offer.exit).toBe(2);
    expect(offer.stderr.join('')).toContain('The other device sends a file of 5000 bytes, over this device\'s limit of 1000 (--max-size): run again with a larger --max-size to accept it. [lan_payload_too_large]');
    expect(readdirSync(out)).toEqual([]);
    expect(await peersOf(join(root, 'desk'))).toEqual([]);
    expect(await peersOf(join(root, 'phone'))).toEqual([]);
  }, 60_000);

  it('a full disk on the joiner: it says so (lan_write_failed), the offer sending the file says the other device\'s disk is full (lan_peer_failed, exit 1)', async (context) => {
    // A real full disk: a 256 KiB tmpfs (root only, as the network-namespace tests).
    const full = join(root, 'full');
    mkdirSync(full);
    try {
      execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=256k', 'tmpfs', full], { stdio: 'ignore' });
      mounts.push(full);
    } catch {
      context.skip();
    }
    const file = join(root, 'backup.tar');
    writeFileSync(file, Buffer.alloc(8 * 1024 * 1024, 9));
    const offer = start(['lan', 'offer', '--config-dir', join(root, 'nas'), ...loopback, '--json', '--no-qr', '--payload', file, '--timeout', '30']);
    const connection = String((await offer.first).connectionString);
    const joined = await run(['lan', 'join', connection, '--config-dir', join(root, 'laptop'), '--out', full, '--no-discovery']);
    expect(joined.code).toBe(1);
    expect(joined.stderr).toContain(`pairgate: Could not save the received file in ${full} (the disk is full).`);
    expect(joined.stderr).toContain('[lan_write_failed]');
    expect(await offer.exit).toBe(1);
    const said = offer.stderr.join('');
    expect(said).toContain('pairgate: The other device stopped before the exchange finished: it could not save the file it was receiving: its disk is full (lan_write_failed there). '
      + 'Nothing went wrong on this device: free some space there, or give it another folder with --out, then try again.');
    expect(said).toMatch(/\[lan_peer_failed\]\n$/);
    // Only the kind of problem crosses to the other device, never a path of the joiner.
    expect(said).not.toContain(full);
    expect(readdirSync(full)).toEqual([]);
  }, 60_000);

  it('lan connect: a listener that refuses the file makes the device sending it say so (lan_peer_failed, exit 1)', async () => {
    // Pair first.
    const offer = start(['lan', 'offer', '--config-dir', join(root, 'tv'), '--name', 'tv', ...loopback, '--json', '--no-qr', '--timeout', '30']);
    const connection = String((await offer.first).connectionString);
    expect((await run(['lan', 'join', connection, '--config-dir', join(root, 'remote'), '--name', 'remote', '--no-discovery'])).code).toBe(0);
    expect(await offer.exit).toBe(0);
    const listener = start(['lan', 'connect', '--listen', '--config-dir', join(root, 'tv'), '--bind', '127.0.0.1', '--port', '0', '--json', '--max-size', '10', '--out', root, '--timeout', '6']);
    const { port } = await listener.first as { port: number };
    const file = join(root, 'movie.mkv');
    writeFileSync(file, Buffer.alloc(2000, 1));
    const sent = await run(['lan', 'connect', 'tv', '--config-dir', join(root, 'remote'), '--address', '127.0.0.1', '--port', String(port), '--payload', file]);
    expect(sent.stderr).toContain('The other device stopped before the exchange finished: it accepts files of at most 10 bytes (its --max-size), and this one has 2000 (lan_payload_too_large there).');
    expect(sent.stderr).toMatch(/\[lan_peer_failed\]\n$/);
    expect(sent.code).toBe(1);
    // The listener waits on for another try; at its timeout it says why the last one failed,
    // not that no peer connected.
    expect(await listener.exit).toBe(2);
    expect(listener.stderr.join('')).toContain('pairgate: No session with a trusted peer completed within 6 s, so the listener stopped. The last one failed, with "remote" at 127.0.0.1: '
      + 'The other device sends a file of 2000 bytes, over this device\'s limit of 10 (--max-size): run again with a larger --max-size to accept it. [lan_listen_timeout]');
  }, 60_000);
});
