import { spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CLI, ensureBuilt } from '../../helpers/node-process.js';
import { deviceDir } from './lan-fixtures.js';

// Multicast on the loopback interface, on a port of its own (other lan test files use theirs).
const discovery = ['--discovery-interface', '127.0.0.1', '--discovery-port', String(40000 + ((process.pid + 7_001) % 20000))];
const children: ChildProcess[] = [];

/** Starts the CLI; `first` is its first stdout line as JSON. */
function start(args: string[]) {
  const child = spawn('node', [CLI, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  children.push(child);
  const stdout: string[] = [];
  const stderr: string[] = [];
  child.stderr!.on('data', (d: Buffer) => stderr.push(String(d)));
  const exit = new Promise<number | null>((resolve) => child.once('exit', resolve));
  const first = new Promise<Record<string, unknown>>((resolve, reject) => {
    createInterface({ input: child.stdout! }).on('line', (line) => {
      stdout.push(line);
      if (stdout.length === 1) resolve(JSON.parse(line) as Record<string, unknown>);
    });
    void exit.then(() => reject(new Error(`exited before output: ${stderr.join('')}`)));
  });
  // Callers that only wait for the exit never read `first`.
  first.catch(() => undefined);
  return { first, stdout, stderr, exit };
}

async function run(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const child = start(args);
  const code = await child.exit;
  return { code, stdout: child.stdout.join('\n'), stderr: child.stderr.join('') };
}

describe('pairgate lan offer --code / join --code (two processes of the real CLI on loopback)', () => {
  beforeAll(() => ensureBuilt(), 120_000);
  afterAll(() => {
    for (const child of children) if (child.exitCode === null) child.kill();
  });

  it('no offer heard: says what to try (same network, --address and --port, pairgate doctor), exit 1', async () => {
    const lonely = ['--discovery-interface', '127.0.0.1', '--discovery-port', String(40000 + ((process.pid + 13_003) % 20000))];
    const result = await run(['lan', 'join', '--code', '1234-5678', '--config-dir', deviceDir('cli-code-lonely'), '--timeout', '1', ...lonely]);
    expect(result.stderr).toContain('pairgate: No device offering a pairing code (pairgate lan offer --code) announced itself within 1 s. Check that the offer still runs on the same network (--timeout to look longer), '
      + 'or dial it directly with --address and --port (the offer prints both); "pairgate doctor" on each device checks that multicast works there. [lan_device_not_found]');
    expect(result.code).toBe(1);
  });

  it('lists the offer in lan nearby, refuses a wrong code with exit 2, pairs with the right one by --device', async () => {
    const offerDir = deviceDir('cli-code-offer');
    const joinDir = deviceDir('cli-code-join');
    const offer = start(['lan', 'offer', '--code', '--config-dir', offerDir, '--name', 'attic', '--address', '127.0.0.1', '--bind', '127.0.0.1', '--json', '--no-qr', '--timeout', '30', ...discovery]);
    const shown = await offer.first;
    const code = String(shown.code);
    expect(code).toMatch(/^\d{4}-\d{4}$/);

    const nearby = await run(['lan', 'nearby', '--seconds', '1', '--json', ...discovery]);
    const devices = (JSON.parse(nearby.stdout) as { devices: { name: string; code: boolean; port: number }[] }).devices;
    expect(devices).toContainEqual(expect.objectContaining({ name: 'attic', code: true }));

    const wrong = `${code.slice(0, -1)}${(Number(code.at(-1)) + 1) % 10}`;
    const refused = await run(['lan', 'join', '--code', wrong, '--device', 'attic', '--config-dir', joinDir, '--timeout', '5', ...discovery]);
    expect(refused.code).toBe(2);
    expect(refused.stderr).toContain('[lan_wrong_code]');

    const joined = await run(['lan', 'join', '--code', code, '--device', 'attic', '--name', 'cellar', '--config-dir', joinDir, '--json', '--timeout', '5', ...discovery]);
    expect(joined.stderr).toMatch(/the code was proven both ways/);
    expect(joined.code).toBe(0);
    expect(JSON.parse(joined.stdout)).toMatchObject({ peer: { name: 'attic' } });
    expect(await offer.exit).toBe(0);
    expect(offer.stderr.join('')).toMatch(/wrong pairing code \(failed attempt 1 of 5\)/);
    expect(JSON.parse(offer.stdout[1]!)).toMatchObject({ event: 'paired', peer: { name: 'cellar' } });
  }, 60_000);
});
