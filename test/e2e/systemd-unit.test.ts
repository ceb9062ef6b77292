import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { describe, expect, it } from 'vitest';
import { CLI, ensureBuilt } from '../helpers/node-process.js';
import { missingProgram } from '../helpers/system.js';

const skip = missingProgram('systemd-analyze', 'checking the systemd unit of docs/deploy.md');
const UNIT = new URL('../../contrib/systemd/pairgate.service', import.meta.url).pathname;
const ENV_FILE = new URL('../../contrib/systemd/pairgate.env', import.meta.url).pathname;

/** What `systemd-analyze verify` says of `unit` (nothing when it is sound), and its exit status. */
function verify(unit: string): { status: number | null; said: string } {
  const run = spawnSync('systemd-analyze', ['verify', '--man=no', unit], { encoding: 'utf8' });
  return { status: run.status, said: `${run.stdout}${run.stderr}` };
}

/** The unit's setting `key` (the first one). */
function setting(unit: string, key: string): string {
  const value = new RegExp(`^${key}=(.*)$`, 'm').exec(unit)?.[1];
  if (value === undefined) throw new Error(`the unit has no ${key}`);
  return value;
}

/**
 * The systemd unit and configuration example operators copy (contrib/systemd, docs/deploy.md):
 * systemd accepts the unit as written, and its command line, with the example configuration,
 * starts a server that answers and stops cleanly on the signal systemd sends.
 */
describe.skipIf(Boolean(skip))(`the systemd unit${skip ? ` (skipped: ${skip})` : ''}`, () => {
  it('systemd-analyze finds nothing wrong with it (and does find a broken copy wrong)', () => {
    expect(verify(UNIT)).toEqual({ status: 0, said: '' });
    const dir = mkdtempSync(join(tmpdir(), 'pairgate-unit-'));
    const broken = join(dir, 'broken.service');
    writeFileSync(broken, readFileSync(UNIT, 'utf8').replace('ProtectHome=yes', 'ProtectHomee=yes'));
    expect(verify(broken).said).toContain("Unknown key 'ProtectHomee'");
  });

  it('its command line with the example configuration serves, and stops on SIGTERM within TimeoutStopSec', async () => {
    ensureBuilt();
    const unit = readFileSync(UNIT, 'utf8');
    const dir = mkdtempSync(join(tmpdir(), 'pairgate-unit-run-'));
    expect(setting(unit, 'EnvironmentFile')).toBe('/etc/pairgate/pairgate.env');
    // The example configuration as systemd hands it over (KEY=value lines, comments skipped);
    // here on any free port, with this address as the public one.
    const configured = Object.fromEntries(
      [...readFileSync(ENV_FILE, 'utf8').matchAll(/^([A-Z_][A-Z0-9_]*)=(.*)$/gm)].map((match) => [match[1]!, match[2]!]),
    );
    expect(configured).toMatchObject({ PAIRGATE_HOST: '127.0.0.1', PAIRGATE_PUBLIC_URL: expect.stringMatching(/^https:/) });
    const env = { ...configured, PAIRGATE_PORT: '0', PAIRGATE_PUBLIC_URL: 'http://127.0.0.1', PAIRGATE_LOG_LEVEL: 'warn', NODE_ENV: 'production' };
    const [node, ...args] = setting(unit, 'ExecStart').replace('/opt/pairgate/dist/cli/main.js', CLI).replace('/var/lib/pairgate', join(dir, 'state')).split(' ');
    expect(node).toBe('/usr/bin/node');
    const child = spawn(process.execPath, args, { env: { PATH: process.env.PATH, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    const url = await new Promise<string>((resolve, reject) => {
      createInterface({ input: child.stdout! }).on('line', (line) => {
        const match = /^pairgate listening on (\S+)$/.exec(line);
        if (match) resolve(match[1]!);
      });
      child.once('exit', (code) => reject(new Error(`pairgate exited with ${code}`)));
    });
    expect((await fetch(`${url}/healthz`)).status).toBe(200);
    const stopSeconds = Number(setting(unit, 'TimeoutStopSec'));
    const started = Date.now();
    const exited = new Promise<number | null>((resolve) => child.once('exit', resolve));
    child.kill(setting(unit, 'KillSignal') as NodeJS.Signals);
    expect(await exited).toBe(0);
    expect(Date.now() - started).toBeLessThan(stopSeconds * 1000);
  }, 30_000);
});
