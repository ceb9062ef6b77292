import { chmodSync, existsSync, mkdirSync, mkdtempSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { ensureBuilt, runCli, runCliUnder } from '../helpers/cli.js';
import { freePort as closedPort } from '../helpers/ports.js';

/**
 * A box identity folder this user may not read or write, as after `sudo pairgate box init` run
 * once and `pairgate box ...` run as oneself: said in words naming the file or --dir and what to
 * do, exit 2, as `pairgate lan` says its config folder (lan_config_dir_not_writable,
 * lan_device_file_unreadable); not Node's `EACCES: permission denied, open '.../box.key'` or
 * `'.../box.crt.new.<hex>.tmp'`, exit 1.
 */

const asRoot = process.getuid?.() === 0;
/** Root reads and writes anywhere: its commands run as nobody on root's folders instead. */
const AS_NOBODY = ['setpriv', '--reuid=65534', '--regid=65534', '--clear-groups'];
const prefix = asRoot ? AS_NOBODY : [];
const STACK_FRAME = /^\s+at /m;

describe.skipIf(asRoot && !existsSync('/usr/bin/setpriv'))('pairgate box: an identity folder this user cannot use', () => {
  let root: string;
  beforeAll(() => {
    ensureBuilt();
    root = mkdtempSync(join(tmpdir(), 'pairgate-box-access-'));
    // Others (nobody, below) must reach the folders in it.
    chmodSync(root, 0o755);
  }, 120_000);

  it('an identity this user cannot read: box_identity_unreadable naming the key and what to do, exit 2, for id, init and announce; the files kept', async () => {
    const dir = join(root, 'not-mine');
    expect((await runCli(['box', 'init', '--dir', dir])).status).toBe(0);
    const key = join(dir, 'box.key');
    // As root, the folder is root's (mode 700, as init makes it); otherwise the key is made unreadable.
    if (!asRoot) chmodSync(key, 0o000);
    for (const args of [['box', 'id'], ['box', 'init'], ['box', 'announce', '--once', '--server', 'http://127.0.0.1:8080']]) {
      const result = await runCliUnder([...args, '--dir', dir], prefix);
      expect(result.stderr, args.join(' ')).toBe(`pairgate: The box identity file ${key} cannot be read (permission denied). `
        + `Run pairgate as the user who made the identity, or make the folder and its files yours (chown -R <your user> ${dir}; the key keeps mode 600), `
        + 'or point --dir (PAIRGATE_BOX_DIR) at another folder. Keep the files: the key is the box\'s fingerprint. [box_identity_unreadable]\n');
      expect(result.stderr).not.toMatch(STACK_FRAME);
      expect(result.stdout).toBe('');
      expect(result.code, args.join(' ')).toBe(2);
    }
    if (!asRoot) chmodSync(key, 0o600);
    expect(readdirSync(dir).sort()).toEqual(['box.crt', 'box.key']);
  }, 60_000);

  it('a box key that is a folder: box_identity_unreadable saying so, exit 2', async () => {
    const dir = join(root, 'key-folder');
    mkdirSync(join(dir, 'box.key'), { recursive: true });
    const result = await runCli(['box', 'id', '--dir', dir]);
    expect(result.stderr).toBe(`pairgate: The box identity file ${join(dir, 'box.key')} cannot be read (it is a folder, not a file). Move the folder out of the way, or point --dir (PAIRGATE_BOX_DIR) at another folder. [box_identity_unreadable]\n`);
    expect(result.status).toBe(2);
  }, 60_000);

  it('init in a folder this user cannot write: --dir named with what to do, config_invalid, exit 2, nothing written', async () => {
    const dir = join(root, 'read-only');
    mkdirSync(dir);
    // As root, nobody may not write in root's folder (0755); otherwise the user's own is made read-only.
    chmodSync(dir, asRoot ? 0o755 : 0o500);
    const result = await runCliUnder(['box', 'init', '--dir', dir], prefix);
    expect(result.stderr).toBe(`pairgate: --dir: cannot write in ${dir} (permission denied); run pairgate as the user who owns it, or choose a folder this user may write to [config_invalid]\n`);
    expect(result.stderr).not.toMatch(/EACCES|\.tmp/);
    expect(result.stdout).toBe('');
    expect(result.code).toBe(2);
    expect(readdirSync(dir)).toEqual([]);
  }, 60_000);

  it('box cert --out in a folder this user cannot write: said before any request (the issued certificate was lost), config_invalid, exit 2', async () => {
    const dir = join(root, 'cert-identity');
    expect((await runCli(['box', 'init', '--dir', dir])).status).toBe(0);
    // nobody reads the identity; only --out is refused.
    chmodSync(dir, 0o755);
    chmodSync(join(dir, 'box.key'), 0o644);
    const out = join(root, 'cert-out');
    mkdirSync(out);
    chmodSync(out, asRoot ? 0o755 : 0o500);
    const nothing = `https://127.0.0.1:${await closedPort()}`;
    const result = await runCliUnder(['box', 'cert', '--dir', dir, '--zone', 'box.example.test', '--update-api', nothing, '--acme-directory', `${nothing}/dir`, '--out', out], prefix);
    expect(result.stderr).toBe(`pairgate: --out: cannot write in ${out} (permission denied); choose a folder this user may write to [config_invalid]\n`);
    expect(result.code).toBe(2);
  }, 60_000);

  it('box cert --out under /proc: refused at once, not a command that never returns (Node\'s recursive mkdir there)', async () => {
    const dir = join(root, 'proc-identity');
    expect((await runCli(['box', 'init', '--dir', dir])).status).toBe(0);
    const nothing = `https://127.0.0.1:${await closedPort()}`;
    const result = await runCli(['box', 'cert', '--dir', dir, '--zone', 'box.example.test', '--update-api', nothing, '--out', '/proc/pairgate-no-such/certs'], {}, 10_000);
    expect(result.stderr).toBe('pairgate: --out: cannot create /proc/pairgate-no-such (ENOENT); choose a folder this user may write to [config_invalid]\n');
    expect(result.status).toBe(2);
  }, 60_000);

  it('box init --help says these exit codes', async () => {
    const help = await runCli(['box', 'init', '--help']);
    expect(help.stdout.replace(/\s+/g, ' ')).toContain('2 for a malformed option, a --dir it cannot make or write in (config_invalid) or an identity there this user cannot read (box_identity_unreadable); 1 when its files cannot be written for another reason (a full disk).');
  }, 60_000);
});
