import { spawn, type ChildProcess } from 'node:child_process';
import { chmodSync, chownSync, existsSync, mkdirSync, mkdtempSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadDeviceIdentity } from '../../src/doors/lan/device-identity.js';
import { TrustedPeerStore } from '../../src/doors/lan/trusted-peers.js';
import { CLI, ensureBuilt } from '../helpers/node-process.js';

/**
 * `pairgate lan connect` says "Connected" only once both devices have recorded the session in
 * their trusted peers. Before, each side saved on its own: the listener printed "Connected" (exit
 * 0) when the dialling device could not save, the dialler did when the listener could not, and a
 * listener that could not save waited on until its timeout as if nobody had connected.
 */

interface Finished { code: number; stdout: string; stderr: string }

const children: ChildProcess[] = [];
/** Running as root, a folder is made unwritable by running its command as nobody. */
const asRoot = process.getuid?.() === 0;
const AS_NOBODY = ['setpriv', '--reuid=65534', '--regid=65534', '--clear-groups'];

/** Starts `pairgate <args>` (after `prefix`); `first` is its first line of standard output. */
function start(args: string[], prefix: string[] = []): { first: Promise<string>; done: Promise<Finished> } {
  const [command, ...rest] = [...prefix, 'node', CLI, ...args];
  const child = spawn(command!, rest, { stdio: ['ignore', 'pipe', 'pipe'] });
  children.push(child);
  let stdout = '';
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => { stderr += String(d); });
  const lines = createInterface({ input: child.stdout });
  const first = new Promise<string>((resolve) => lines.once('line', resolve));
  lines.on('line', (line) => { stdout += `${line}\n`; });
  const done = new Promise<Finished>((resolve) => child.once('exit', (code) => resolve({ code: code ?? -1, stdout, stderr })));
  return { first, done };
}

describe.skipIf(asRoot && !existsSync('/usr/bin/setpriv'))('pairgate lan connect reports success only once both sides saved', () => {
  let root: string;
  beforeAll(() => {
    ensureBuilt();
    root = mkdtempSync(join(tmpdir(), 'pairgate-lan-connect-save-'));
    // nobody (below) must reach the folders in it.
    chmodSync(root, 0o755);
  }, 120_000);
  afterAll(() => {
    for (const child of children) if (child.exitCode === null) child.kill();
  });

  /** Two devices, "laptop" and "phone", that trust each other, each in its own config folder. */
  async function pairedDevices(label: string): Promise<{ laptop: string; phone: string }> {
    const dirs = { laptop: join(root, `${label}-laptop`), phone: join(root, `${label}-phone`) };
    mkdirSync(dirs.laptop, { mode: 0o700 });
    mkdirSync(dirs.phone, { mode: 0o700 });
    const laptop = await loadDeviceIdentity(dirs.laptop, 'laptop');
    const phone = await loadDeviceIdentity(dirs.phone, 'phone');
    await new TrustedPeerStore(dirs.laptop).save({ deviceId: phone.deviceId, name: 'phone', keySha256: phone.spkiSha256.toString('base64url'), addresses: ['127.0.0.1'] });
    await new TrustedPeerStore(dirs.phone).save({ deviceId: laptop.deviceId, name: 'laptop', keySha256: laptop.spkiSha256.toString('base64url'), addresses: ['127.0.0.1'] });
    return dirs;
  }

  /**
   * Makes `dir` a folder its device can read but not write; returns how to run that device's
   * commands. As root (which writes anywhere) they run as nobody, with the folder root's (0755,
   * which the config folder's safety check accepts) and its files nobody's; otherwise mode 0500.
   */
  function readOnly(dir: string): string[] {
    if (!asRoot) {
      chmodSync(dir, 0o500);
      return [];
    }
    for (const name of readdirSync(dir)) chownSync(join(dir, name), 65534, 65534);
    chmodSync(dir, 0o755);
    return AS_NOBODY;
  }

  /** Undoes `readOnly`. */
  function writable(dir: string): void {
    if (asRoot) for (const name of readdirSync(dir)) chownSync(join(dir, name), 0, 0);
    chmodSync(dir, 0o700);
  }

  const listen = (dir: string, timeoutSeconds: number, prefix: string[] = []) =>
    start(['lan', 'connect', '--listen', '--config-dir', dir, '--bind', '127.0.0.1', '--port', '0', '--json', '--timeout', String(timeoutSeconds)], prefix);
  const dial = async (dir: string, port: number, prefix: string[] = []) =>
    start(['lan', 'connect', 'laptop', '--config-dir', dir, '--address', '127.0.0.1', '--port', String(port)], prefix).done;
  const portOf = async (listener: { first: Promise<string> }) => (JSON.parse(await listener.first) as { port: number }).port;

  it('the listener cannot save: it stops at once with lan_trust_not_saved, and the dialler says lan_peer_not_saved, neither "Connected"', async () => {
    const { laptop, phone } = await pairedDevices('listener');
    const listener = listen(laptop, 60, readOnly(laptop));
    const dialled = await dial(phone, await portOf(listener));
    const listened = await listener.done;
    expect(dialled.stdout).toBe('');
    expect(dialled.stderr).toContain('pairgate: "laptop" did not complete the session. It could not record this session: its config folder cannot be written [lan_config_dir_not_writable]. Fix the problem on "laptop" (it says what), then connect again. [lan_peer_not_saved]');
    expect(dialled.code).toBe(1);
    // Not the 60 s timeout's lan_listen_timeout: the save failure itself, as soon as it happened.
    expect(listened.stdout).not.toContain('Connected');
    expect(listened.stderr).toMatch(/pairgate: The session with "phone" ran, but this device could not record it in its trusted peers\. Cannot write in the config folder .*-laptop \(permission denied\).* "phone" was told\. Connect again once that is fixed\. \[lan_trust_not_saved\]/);
    expect(listened.code).toBe(1);
  }, 60_000);

  it('the dialler cannot save: it says lan_trust_not_saved; the listener says why and waits on, and the next session, once fixed, connects both', async () => {
    const { laptop, phone } = await pairedDevices('dialler');
    const listener = listen(laptop, 60);
    const port = await portOf(listener);
    const failed = await dial(phone, port, readOnly(phone));
    expect(failed.stdout).toBe('');
    expect(failed.stderr).toMatch(/pairgate: The session with "laptop" ran, but this device could not record it in its trusted peers\. Cannot write in the config folder .*-phone \(permission denied\).* "laptop" was told\. Connect again once that is fixed\. \[lan_trust_not_saved\]/);
    expect(failed.code).toBe(1);
    writable(phone);
    const connected = await dial(phone, port);
    expect(connected.stderr).not.toContain('pairgate:');
    expect(connected.stdout).toMatch(/^Connected with "laptop" at 127\.0\.0\.1/);
    expect(connected.code).toBe(0);
    const listened = await listener.done;
    expect(listened.stderr).toContain('The session with "phone" at 127.0.0.1: "phone" did not complete the session. It could not record this session: its config folder cannot be written [lan_config_dir_not_writable]. Fix the problem on "phone" (it says what), then connect again. Still waiting for a trusted peer.');
    // One "paired" line, for the second session only.
    expect(listened.stdout.trim().split('\n').slice(1).map((line) => (JSON.parse(line) as { event: string }).event)).toEqual(['paired']);
    expect(listened.code).toBe(0);
  }, 60_000);
});
