import { chmodSync, chownSync, existsSync, mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { createServer, type AddressInfo, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ensureBuilt, runCliUnder } from '../helpers/cli.js';

/**
 * What a person trips over with `pairgate lan` before any device is reached: a config folder they
 * may not write, a device name, an address or a port that cannot be used. Each is said in words
 * with what to change and a machine code, and exits 2 (the person can fix it), as README says;
 * not Node's `EACCES: ... open '.../device.json.<hex>.tmp'` or `listen EADDRNOTAVAIL`, exit 1.
 */

const run = runCliUnder;

/**
 * A folder this test's commands may not write, and how to run them: as root (which writes
 * anywhere) they run as nobody on a folder of root's (mode 0755, which the safety check accepts:
 * root may own it); otherwise the folder is the user's own with mode 0500.
 */
function unwritableFolder(root: string): { dir: string; prefix: string[] } | undefined {
  const dir = join(root, 'read-only');
  mkdirSync(dir);
  if (process.getuid?.() !== 0) {
    chmodSync(dir, 0o500);
    return { dir, prefix: [] };
  }
  if (!existsSync('/usr/bin/setpriv')) return undefined;
  chmodSync(dir, 0o755);
  return { dir, prefix: ['setpriv', '--reuid=65534', '--regid=65534', '--clear-groups'] };
}

describe('pairgate lan: input the person can fix exits 2, says what to do', () => {
  let root: string;
  const servers: Server[] = [];
  beforeAll(() => {
    ensureBuilt();
    root = mkdtempSync(join(tmpdir(), 'pairgate-lan-user-errors-'));
    // Others (nobody, below) must reach the folders in it.
    chmodSync(root, 0o755);
  }, 120_000);
  afterAll(() => {
    for (const server of servers) server.close();
  });

  it('a config folder that cannot be written: named, with what to do, lan_config_dir_not_writable, exit 2 (offer and peers remove)', async (context) => {
    const folder = unwritableFolder(root);
    if (!folder) return context.skip();
    const offer = await run(['lan', 'offer', '--config-dir', folder.dir, '--no-qr', '--no-discovery', '--address', '127.0.0.1', '--bind', '127.0.0.1', '--timeout', '5'], folder.prefix);
    expect(offer.stderr).toContain(`Cannot write in the config folder ${folder.dir} (permission denied)`);
    expect(offer.stderr).toMatch(/choose another folder with --config-dir or PAIRGATE_CONFIG_DIR\. \[lan_config_dir_not_writable\]/);
    expect(offer.stderr).not.toMatch(/EACCES|\.tmp/);
    expect(offer.code).toBe(2);
    const removed = await run(['peers', 'remove', 'abcdef', '--config-dir', folder.dir], folder.prefix);
    expect(removed.stderr).toMatch(/Cannot write in the config folder .*\[lan_config_dir_not_writable\]/);
    expect(removed.stderr).not.toContain('peers.json.lock');
    expect(removed.code).toBe(2);
  });

  it('a device name that cannot be used: lan_bad_name, exit 2', async () => {
    const result = await run(['lan', 'offer', '--config-dir', join(root, 'named'), '--name', '', '--no-qr', '--no-discovery', '--address', '127.0.0.1', '--bind', '127.0.0.1']);
    expect(result.stderr).toMatch(/This device's name \(--name\) cannot be used: the device name is empty\. \[lan_bad_name\]/);
    expect(result.code).toBe(2);
  });

  it('--bind an address this machine does not have: named, with the option, exit 2', async () => {
    // 203.0.113.0/24 is for documentation: no machine has it.
    const result = await run(['lan', 'offer', '--config-dir', join(root, 'bound'), '--bind', '203.0.113.77', '--no-qr', '--no-discovery', '--address', '127.0.0.1']);
    expect(result.stderr).toMatch(/203\.0\.113\.77 is not an address of this machine\. Give one of its addresses with --bind.*\[address_not_available\]/);
    expect(result.code).toBe(2);
  });

  it('a port another program holds: said so, with --port, exit 2', async () => {
    const busy = createServer();
    servers.push(busy);
    await new Promise<void>((resolve) => busy.listen(0, '127.0.0.1', resolve));
    const { port } = busy.address() as AddressInfo;
    const result = await run(['lan', 'connect', '--listen', '--config-dir', join(root, 'listening'), '--bind', '127.0.0.1', '--port', String(port), '--timeout', '5']);
    expect(result.stderr).toMatch(new RegExp(`cannot listen on 127\\.0\\.0\\.1:${port} for pairing: another program already does.*choose another port with --port.*\\[address_in_use\\]`));
    expect(result.code).toBe(2);
  });

  it('more --address than a connection string holds: exit 2 before anything starts', async () => {
    const addresses = Array.from({ length: 9 }, (_, i) => ['--address', `10.0.0.${i + 1}`]).flat();
    const result = await run(['lan', 'offer', '--config-dir', join(root, 'many'), '--no-qr', '--no-discovery', '--bind', '127.0.0.1', ...addresses]);
    expect(result.stderr).toMatch(/--address: at most 8 addresses fit in a connection string; 9 were given\. \[invalid_request\]/);
    expect(result.code).toBe(2);
  });

  it('a --payload that is a folder or cannot be read, an --out that is a file: said before anything starts, with the option and what to do, exit 2', async (context) => {
    const folder = await run(['lan', 'join', '--payload', root, '--code', '1234-5678', '--config-dir', join(root, 'folder-payload')]);
    expect(folder.stderr).toBe(`pairgate: --payload ${root}: this is a folder; --payload sends one file (put several in an archive first). [lan_bad_payload]\n`);
    expect(folder.code).toBe(2);
    const notFolder = join(root, 'notes.txt');
    writeFileSync(notFolder, 'x');
    const out = await run(['lan', 'offer', '--out', notFolder, '--config-dir', join(root, 'out-file'), '--no-qr', '--no-discovery', '--bind', '127.0.0.1', '--timeout', '5']);
    expect(out.stderr).toBe(`pairgate: --out ${notFolder}: this is not a folder; choose a folder for received files. [lan_bad_payload]\n`);
    expect(out.code).toBe(2);
    // A file this user may not read (as root, run as nobody on a file of root's mode 0600).
    const secret = join(root, 'secret.key');
    writeFileSync(secret, 'x', { mode: 0o600 });
    const asRoot = process.getuid?.() === 0;
    if (asRoot && !existsSync('/usr/bin/setpriv')) return context.skip();
    if (!asRoot) chmodSync(secret, 0o000);
    const prefix = asRoot ? ['setpriv', '--reuid=65534', '--regid=65534', '--clear-groups'] : [];
    const config = join(root, 'nobodys-config');
    mkdirSync(config, { mode: 0o700 });
    if (asRoot) chownSync(config, 65534, 65534);
    const unreadable = await run(['lan', 'offer', '--payload', secret, '--config-dir', config, '--no-qr', '--no-discovery', '--bind', '127.0.0.1', '--timeout', '5'], prefix);
    expect(unreadable.stderr).toBe(`pairgate: --payload ${secret}: this file cannot be read by you; fix its permissions, or send a copy you can read. [lan_bad_payload]\n`);
    expect(unreadable.code).toBe(2);
  });

  it('a --qr-png or --qr-svg that cannot be written: said before the offer starts, with the option, exit 2', async () => {
    const missing = join(root, 'no-such-folder', 'qr.png');
    const png = await run(['lan', 'offer', '--qr-png', missing, '--config-dir', join(root, 'qr'), '--no-qr', '--no-discovery', '--address', '127.0.0.1', '--bind', '127.0.0.1', '--timeout', '5']);
    expect(png.stderr).toBe(`pairgate: --qr-png ${missing}: there is no folder ${join(root, 'no-such-folder')}; create it, or write the image somewhere else. [invalid_request]\n`);
    expect(png.code).toBe(2);
    const svg = await run(['lan', 'offer', '--qr-svg', root, '--config-dir', join(root, 'qr'), '--no-qr', '--no-discovery', '--address', '127.0.0.1', '--bind', '127.0.0.1', '--timeout', '5']);
    expect(svg.stderr).toBe(`pairgate: --qr-svg ${root}: this is a folder; give the path of the image file to write in it. [invalid_request]\n`);
    expect(svg.code).toBe(2);
  });

  it('a --discovery-group that is not multicast, a --discovery-interface this machine does not have: exit 2, saying what to give (lan, doctor)', async () => {
    const group = await run(['lan', 'nearby', '--seconds', '1', '--discovery-group', '10.0.0.1']);
    expect(group.stderr).toBe('pairgate: --discovery-group: "10.0.0.1" is not an IPv4 multicast address (224.0.0.0 to 239.255.255.255; the default is 239.255.70.71, and both devices must use the same). [invalid_request]\n');
    expect(group.code).toBe(2);
    // 203.0.113.0/24 is for documentation: no machine has it.
    const doctor = await run(['doctor', '--quiet', '--discovery-interface', '203.0.113.77']);
    expect(doctor.stderr).toMatch(/^pairgate: --discovery-interface: 203\.0\.113\.77 is not an address of this machine \(its IPv4 addresses: [^)]*127\.0\.0\.1[^)]*\)\. Give one of them, or leave the option out to use every interface\. \[invalid_request\]\n$/);
    expect(doctor.code).toBe(2);
    const join_ = await run(['lan', 'join', '--code', '1234-5678', '--discovery-group', 'ff02::1', '--config-dir', join(root, 'group-join'), '--timeout', '1']);
    expect(join_.stderr).toContain('--discovery-group: "ff02::1" is not an IPv4 multicast address');
    expect(join_.code).toBe(2);
  });

  it('options that would do nothing in this use are refused, not ignored: join\'s --address, --port, --device without --code; connect\'s --bind, --timeout without --listen; offer --announce with --no-discovery', async () => {
    const joined = await run(['lan', 'join', 'pg1:whatever', '--address', '10.0.0.1', '--port', '1234', '--device', 'attic', '--config-dir', join(root, 'code-only')]);
    expect(joined.stderr).toBe('pairgate: --address, --port, --device work with --code only: a connection string carries its own device and addresses. [invalid_request]\n');
    expect(joined.code).toBe(2);
    const connected = await run(['lan', 'connect', 'alpha', '--timeout', '1', '--bind', '10.1.1.1', '--config-dir', join(root, 'listen-only')]);
    expect(connected.stderr).toBe('pairgate: --bind, --timeout work with --listen only. [invalid_request]\n');
    expect(connected.code).toBe(2);
    const offered = await run(['lan', 'offer', '--no-discovery', '--announce', '--no-qr', '--config-dir', join(root, 'announce')]);
    expect(offered.stderr).toBe('pairgate: --announce needs multicast discovery: drop --no-discovery, or --announce. [invalid_request]\n');
    expect(offered.code).toBe(2);
  });

  it('one option refused alone reads "works"; lan connect --listen refuses --address (a listener dials no one) before it starts', async () => {
    const joined = await run(['lan', 'join', 'pg1:whatever', '--device', 'attic', '--config-dir', join(root, 'code-only-one')]);
    expect(joined.stderr).toBe('pairgate: --device works with --code only: a connection string carries its own device and addresses. [invalid_request]\n');
    expect(joined.code).toBe(2);
    const dir = join(root, 'listen-address');
    const listening = await run(['lan', 'connect', '--listen', '--address', '10.0.0.1', '--bind', '127.0.0.1', '--port', '0', '--timeout', '1', '--config-dir', dir]);
    expect(listening.stderr).toBe('pairgate: --address works without --listen only: it is where to dial the peer (to listen on one address, use --bind). [invalid_request]\n');
    expect(listening.code).toBe(2);
    // Refused before anything was made.
    expect(existsSync(dir)).toBe(false);
  });

  it('lan connect --listen that no peer connects to: says it stopped and what to run on the other device, exit 2', async () => {
    const result = await run(['lan', 'connect', '--listen', '--config-dir', join(root, 'lonely'), '--bind', '127.0.0.1', '--port', '0', '--timeout', '1']);
    expect(result.stderr).toContain('pairgate: No trusted peer connected within 1 s, so the listener stopped. Run it again and, while it waits, "pairgate lan connect ');
    expect(result.stderr).toMatch(/" on the other device \(--timeout to wait longer\)\. \[lan_listen_timeout\]\n$/);
    expect(result.code).toBe(2);
  });
});
