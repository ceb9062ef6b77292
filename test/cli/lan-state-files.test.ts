import { spawnSync } from 'node:child_process';
import { chmodSync, chownSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { ensureBuilt, runCliUnder } from '../helpers/cli.js';

/**
 * The lan door's own files (`peers.json`, the config folder) when the disk will not let them be
 * read or written: each refusal is said in words naming the file and what to do, with a stable
 * code, exit 2 and no stack trace. Every case is the real refusal of a real file system: a folder
 * at the name of `peers.json` (EISDIR), a file another user owns (EACCES, run as nobody when the
 * tests run as root, where no mode refuses a read), a read-only mount (EROFS, in a mount namespace
 * of the command's own).
 */

const run = runCliUnder;

/** A stack trace's frame line: a person must never see one for a file the disk refuses. */
const STACK_FRAME = /^\s+at /m;

const AS_NOBODY = ['setpriv', '--reuid=65534', '--regid=65534', '--clear-groups'];

/**
 * How to run a command with `dir` mounted read-only (an empty tmpfs, mode 0700 so the safety
 * check accepts it), in a mount namespace of its own so nothing outside sees the mount; undefined
 * where this machine lets no one mount (no privilege for it).
 */
function readOnlyMount(dir: string): string[] | undefined {
  const script = 'mount -t tmpfs -o ro,mode=700 pairgate-ro "$1" && shift && exec "$@"';
  const probe = spawnSync('unshare', ['--mount', 'sh', '-c', script, 'sh', dir, 'true']);
  return probe.status === 0 ? ['unshare', '--mount', 'sh', '-c', script, 'sh', dir] : undefined;
}

/**
 * How to run a command with the existing folder `dir` bind-mounted read-only over itself (its files
 * readable, nothing writable), in a mount namespace of its own; undefined where no one may mount.
 */
function readOnlyBind(dir: string): string[] | undefined {
  const script = 'mount --bind "$1" "$1" && mount -o remount,ro,bind "$1" && shift && exec "$@"';
  const probe = spawnSync('unshare', ['--mount', 'sh', '-c', script, 'sh', dir, 'true']);
  return probe.status === 0 ? ['unshare', '--mount', 'sh', '-c', script, 'sh', dir] : undefined;
}

describe('pairgate lan: state files the disk refuses', () => {
  let root: string;
  beforeAll(() => {
    ensureBuilt();
    root = mkdtempSync(join(tmpdir(), 'pairgate-lan-state-files-'));
    // Others (nobody, below) must reach the folders in it.
    chmodSync(root, 0o755);
  }, 120_000);

  /** A fresh config folder, mode 0700, with `file` (`peers.json` unless said) made by `make`. */
  function configWith(label: string, make: (path: string) => void, file = 'peers.json'): { dir: string; path: string } {
    const dir = join(root, label);
    mkdirSync(dir, { mode: 0o700 });
    const path = join(dir, file);
    make(path);
    return { dir, path };
  }

  it('a folder where peers.json should be: lan_peers_file_unreadable naming it and what to do, exit 2, for list and remove', async () => {
    const { dir, path } = configWith('folder', (p) => mkdirSync(p));
    const expected = `pairgate: The trusted-peer file ${path} cannot be read (it is a folder, not a file). `
      + `Move the folder out of the way (mv ${path} ${path}.aside): the next pairing makes the file anew. [lan_peers_file_unreadable]\n`;
    for (const args of [['peers', 'list'], ['peers', 'list', '--json'], ['peers', 'remove', 'abcdef']]) {
      const result = await run([...args, '--config-dir', dir]);
      expect(result.stderr).toBe(expected);
      expect(result.stderr).not.toMatch(STACK_FRAME);
      expect(result.code).toBe(2);
    }
  });

  it('peers.json that is not JSON, or not a list of peers: lan_bad_peers_file, says to repair or move it aside, and is never rewritten', async () => {
    for (const [label, content, why] of [['not-json', '{"version": 1, "peers": [', 'it is not JSON ('], ['wrong-shape', '{"version": 1}\n', 'it has no list of peers.']] as const) {
      const { dir, path } = configWith(label, (p) => writeFileSync(p, content, { mode: 0o600 }));
      for (const args of [['peers', 'list'], ['peers', 'remove', 'abcdef']]) {
        const result = await run([...args, '--config-dir', dir]);
        expect(result.stderr).toContain(`pairgate: The trusted-peer file ${path} is damaged: ${why}`);
        expect(result.stderr).toContain(`Repair it by hand, or move it aside (mv ${path} ${path}.broken) and pair again with your devices. [lan_bad_peers_file]\n`);
        expect(result.stderr).not.toMatch(STACK_FRAME);
        expect(result.code).toBe(2);
      }
      // A change refused on a damaged file writes nothing: the peers in it are not lost.
      expect(readFileSync(path, 'utf8')).toBe(content);
    }
  });

  it('peers.json this user may not read: permission denied, with chown/chmod advice, lan_peers_file_unreadable, exit 2', async (context) => {
    const asRoot = process.getuid?.() === 0;
    // Root reads any file whatever its mode: run as nobody instead, on a file of root's.
    if (asRoot && !existsSync('/usr/bin/setpriv')) return context.skip('running as root without setpriv: no user here is refused a read');
    const { dir, path } = configWith('no-read', (p) => writeFileSync(p, '{"version": 1, "peers": []}\n', { mode: 0o600 }));
    if (asRoot) chownSync(dir, 65534, 65534);
    else chmodSync(path, 0o000);
    const result = await run(['peers', 'list', '--config-dir', dir], asRoot ? AS_NOBODY : []);
    expect(result.stderr).toBe(`pairgate: The trusted-peer file ${path} cannot be read (permission denied). `
      + `Make it yours and readable (chown it to your user, then chmod 600 ${path}), or choose another config folder with --config-dir or PAIRGATE_CONFIG_DIR. [lan_peers_file_unreadable]\n`);
    expect(result.code).toBe(2);
  });

  it('a config folder on a read-only file system: says no owner or mode can help and to choose another folder, not chown (offer and peers remove)', async (context) => {
    const dir = join(root, 'read-only');
    mkdirSync(dir, { mode: 0o700 });
    const prefix = readOnlyMount(dir);
    if (!prefix) return context.skip('this machine lets no one mount a read-only file system (unshare --mount and mount refused)');
    const expected = `Cannot write in the config folder ${dir} (it is on a read-only file system), where this device's key and trusted peers are kept. `
      + 'No change of owner or mode can make it writable: choose a folder on a writable disk with --config-dir or PAIRGATE_CONFIG_DIR. [lan_config_dir_not_writable]\n';
    const offer = await run(['lan', 'offer', '--config-dir', dir, '--no-qr', '--no-discovery', '--address', '127.0.0.1', '--bind', '127.0.0.1', '--timeout', '5'], prefix);
    const removed = await run(['peers', 'remove', 'abcdef', '--config-dir', dir], prefix);
    for (const result of [offer, removed]) {
      expect(result.stderr).toBe(`pairgate: ${expected}`);
      expect(result.stderr).not.toMatch(/chown|chmod|EROFS/);
      expect(result.code).toBe(2);
    }
  });
  // device.json holds the key every paired device pins: advice that makes a new one costs a pairing
  // with each of them, so it is given only where the key is damaged or gone, and says so.
  /** A command that reads device.json first and waits for nothing when it cannot. */
  const LISTEN = ['lan', 'connect', '--listen', '--bind', '127.0.0.1', '--port', '0', '--timeout', '1'];

  it('a folder where device.json should be: lan_device_file_unreadable, not damaged, says what a new key costs, exit 2, left as it is', async () => {
    const { dir, path } = configWith('device-folder', (p) => { mkdirSync(p); writeFileSync(join(p, 'kept.txt'), 'mine'); }, 'device.json');
    const result = await run([...LISTEN, '--config-dir', dir]);
    expect(result.stderr).toBe(`pairgate: The device identity file ${path} cannot be read (it is a folder, not a file). `
      + `Move the folder out of the way (mv ${path} ${path}.aside): the next pairgate command makes a new key, and every device paired with this one must then pair again (they pin the old key). [lan_device_file_unreadable]\n`);
    expect(result.stderr).not.toMatch(STACK_FRAME);
    expect(result.code).toBe(2);
    expect(readdirSync(path)).toEqual(['kept.txt']);
  });

  it('a damaged device.json: lan_bad_device_file, says to repair or move it aside and that every peer must then pair again, never rewritten', async () => {
    for (const [label, content, why] of [['device-not-json', '{"deviceId": ', 'it is not JSON ('], ['device-no-key', '{"deviceId": "AAAAAAAAAAAAAAAAAAAAAA", "name": "desk"}\n', 'keyPem, certPem missing or not text.']] as const) {
      const { dir, path } = configWith(label, (p) => writeFileSync(p, content, { mode: 0o600 }), 'device.json');
      const result = await run([...LISTEN, '--config-dir', dir]);
      expect(result.stderr).toContain(`pairgate: The device identity file ${path} is damaged: ${why}`);
      expect(result.stderr).toContain(`pairgate leaves it as it is. Repair it or restore it from a backup; or move it aside (mv ${path} ${path}.broken): `
        + 'the next pairgate command makes a new key, and every device paired with this one must then pair again (they pin the old key). [lan_bad_device_file]\n');
      expect(result.stderr).not.toMatch(/remove it|delete/i);
      expect(result.stderr).not.toMatch(STACK_FRAME);
      expect(result.code).toBe(2);
      expect(readFileSync(path, 'utf8')).toBe(content);
    }
  });

  it('device.json this user may not read: permission denied, chown/chmod advice and keep the file (no new key), lan_device_file_unreadable, exit 2', async (context) => {
    const asRoot = process.getuid?.() === 0;
    if (asRoot && !existsSync('/usr/bin/setpriv')) return context.skip('running as root without setpriv: no user here is refused a read');
    const content = '{"deviceId": "AAAAAAAAAAAAAAAAAAAAAA"}\n';
    const { dir, path } = configWith('device-no-read', (p) => writeFileSync(p, content, { mode: 0o600 }), 'device.json');
    if (asRoot) chownSync(dir, 65534, 65534);
    else chmodSync(path, 0o000);
    const result = await run([...LISTEN, '--config-dir', dir], asRoot ? AS_NOBODY : []);
    expect(result.stderr).toBe(`pairgate: The device identity file ${path} cannot be read (permission denied). `
      + `Make it yours and readable (chown it to your user, then chmod 600 ${path}), or choose another config folder with --config-dir or PAIRGATE_CONFIG_DIR. `
      + 'Keep the file: it holds the key every paired device pins. [lan_device_file_unreadable]\n');
    expect(result.stderr).not.toMatch(/damaged|new key|move it aside/);
    expect(result.code).toBe(2);
    if (!asRoot) chmodSync(path, 0o600);
    expect(readFileSync(path, 'utf8')).toBe(content);
  });

  it('a device.json on a read-only file system is used as it is; renaming the device says to choose a writable folder, not chown, and keeps the key', async (context) => {
    const dir = join(root, 'device-read-only');
    mkdirSync(dir, { mode: 0o700 });
    const made = await run(['lan', 'offer', '--config-dir', dir, '--name', 'desk', '--no-qr', '--no-discovery', '--address', '127.0.0.1', '--bind', '127.0.0.1', '--timeout', '1']);
    const path = join(dir, 'device.json');
    if (!existsSync(path)) throw new Error(`no device.json made: ${made.stderr}`);
    const before = readFileSync(path, 'utf8');
    const prefix = readOnlyBind(dir);
    if (!prefix) return context.skip('this machine lets no one mount a read-only file system (unshare --mount and mount refused)');
    const renamed = await run(['lan', 'offer', '--config-dir', dir, '--name', 'attic', '--no-qr', '--no-discovery', '--address', '127.0.0.1', '--bind', '127.0.0.1', '--timeout', '1'], prefix);
    expect(renamed.stderr).toBe(`pairgate: Cannot write in the config folder ${dir} (it is on a read-only file system), where this device's key and trusted peers are kept. `
      + 'No change of owner or mode can make it writable: choose a folder on a writable disk with --config-dir or PAIRGATE_CONFIG_DIR. [lan_config_dir_not_writable]\n');
    expect(renamed.code).toBe(2);
    // Read, not refused: the key on a read-only disk is neither damaged nor unreadable.
    const listened = await run([...LISTEN, '--config-dir', dir], prefix);
    expect(listened.stderr).toContain('Waiting for a trusted peer');
    expect(listened.stderr).toContain('[lan_listen_timeout]');
    expect(readFileSync(path, 'utf8')).toBe(before);
  });
});
