import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, readdirSync, realpathSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { createInterface } from 'node:readline';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadBoxIdentity } from '../../src/doors/registry/box-identity.js';
import { createSelfSigned } from '../../src/doors/registry/self-signed.js';
import type { DnsRuntime } from '../../src/doors/dns/dns-door.js';
import type { TestApp } from '../helpers/app.js';
import { CLI, ensureBuilt, runCli } from '../helpers/cli.js';
import { startPebble, type RunningPebble } from '../helpers/pebble.js';
import { readStraceLog } from '../helpers/strace.js';
import { missingProgram } from '../helpers/system.js';
import { createDnsApp, ZONE } from '../doors/dns/dns-helpers.js';

/**
 * The files pairgate writes outside its database, against a crash or a power loss: each is written
 * whole to a temporary file that is flushed (fsync) before it is renamed or linked to its name,
 * and its folder is flushed after, never written in place. Shown on the system calls of the real
 * commands, traced by strace: the box identity (`box init`, `--force`), the lan device identity,
 * the DNS door's update API key and certificate, the box's mirror state, `box cert`'s files and
 * the ACME account key, and the SDK's pin file.
 */

const straceSkip = missingProgram('strace', 'the order of the durable writes\' system calls');
const pebbleSkip = straceSkip ?? missingProgram('pebble', 'box cert\'s files, written against a real ACME server');

beforeAll(() => ensureBuilt());

const TRACED = 'trace=openat,rename,renameat,renameat2,link,linkat,fsync,fdatasync';

/** A fresh folder, by its real path (strace prints the paths the kernel resolved). */
const freshDir = (prefix: string) => realpathSync(mkdtempSync(join(tmpdir(), prefix)));

interface Traced {
  lines: string[];
  code: number | null;
  stdout: string;
  stderr: string;
}

/**
 * Runs `node <argv>` under strace to its end, or, with `untilLine`, until its standard output
 * prints a line matching it (then `during` runs, and the traced process is killed).
 */
async function traced(dir: string, argv: string[], env: Record<string, string> = {}, untilLine?: { lines: number; during: (lines: string[]) => Promise<void> }): Promise<Traced> {
  const trace = join(dir, `strace.${Math.random().toString(16).slice(2)}.log`);
  const strace: ChildProcess = spawn('strace', ['-f', '-y', '-e', TRACED, '-o', trace, 'node', ...argv], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  strace.stderr!.on('data', (chunk: Buffer) => (stderr += String(chunk)));
  const exited = new Promise<number | null>((resolve) => strace.once('exit', resolve));
  if (untilLine) {
    const printed: string[] = [];
    await new Promise<void>((resolve, reject) => {
      const reader = createInterface({ input: strace.stdout! });
      reader.on('line', (line) => {
        printed.push(line);
        if (printed.length === untilLine.lines) resolve();
      });
      void exited.then((code) => reject(new Error(`exited with ${code} before printing ${untilLine.lines} lines: ${stderr}`)));
    });
    try {
      await untilLine.during(printed);
    } finally {
      // The traced process is strace's child: killed by its id, strace then ends with it.
      const child = Number(readFileSync(`/proc/${strace.pid}/task/${strace.pid}/children`, 'utf8').trim().split(' ')[0]);
      process.kill(child, 'SIGKILL');
    }
  } else {
    strace.stdout!.on('data', (chunk: Buffer) => (stdout += String(chunk)));
  }
  const code = await exited;
  return { lines: readStraceLog(trace), code, stdout, stderr };
}

/** A rename or link in the trace: who made it, from which name to which. */
interface Placement {
  index: number;
  pid: string;
  from: string;
  to: string;
}

// strace pads a short process id with spaces to a fixed width: `^\d+\s+`.
const PLACED = /^(\d+)\s+(?:rename|renameat2?|link|linkat)\((.*)\)\s+= 0$/;
const SYNCED = /^(\d+)\s+f(?:data)?sync\(\d+<([^>]+)>\)\s+= 0$/;
const TEMPORARY = /\.[0-9a-f]{12}\.tmp$/;

function placements(lines: string[]): Placement[] {
  return lines.flatMap((line, index) => {
    const match = PLACED.exec(line);
    if (!match) return [];
    const paths = [...match[2]!.matchAll(/"([^"]*)"/g)].map((m) => m[1]!);
    return [{ index, pid: match[1]!, from: paths[0]!, to: paths[paths.length - 1]! }];
  });
}

/** The index of the first fsync of `path` by `pid` in `lines` after `after` (and before `before`), -1 when none. */
function syncOf(lines: string[], path: string, pid: string, after: number, before = lines.length): number {
  return lines.findIndex((line, i) => {
    const match = SYNCED.exec(line);
    return i > after && i < before && match?.[1] === pid && match[2] === path;
  });
}

/**
 * Checks that `target` was put in place by a rename or link (never written in place) of a file
 * whose bytes were flushed before (a temporary file synced, or a file itself placed so), and that
 * its folder was flushed after, by the same process; answers where.
 */
function expectDurablyPlaced(lines: string[], target: string): { at: number; folderSynced: number } {
  const placed = placements(lines).find((p) => p.to === target);
  expect(placed, `${target} is renamed or linked into place`).toBeDefined();
  const { index, pid, from } = placed!;
  if (TEMPORARY.test(from)) {
    expect(syncOf(lines, from, pid, -1, index), `${from} is flushed before it becomes ${target}`).toBeGreaterThan(-1);
  } else {
    expect(expectDurablyPlaced(lines, from).folderSynced, `${from} was on the disk before it became ${target}`).toBeLessThan(index);
  }
  const folderSynced = syncOf(lines, dirname(target), pid, index);
  expect(folderSynced, `the folder of ${target} is flushed after it is placed`).toBeGreaterThan(-1);
  return { at: index, folderSynced };
}

/** No file at `path` was opened for writing in place (O_WRONLY/O_RDWR on its own name). */
function expectNeverWrittenInPlace(lines: string[], path: string): void {
  const inPlace = lines.filter((line) => line.includes(`openat(`) && line.includes(`"${path}"`) && /O_WRONLY|O_RDWR/.test(line));
  expect(inPlace, `${path} is never written in place`).toEqual([]);
}

describe.skipIf(straceSkip)('box identity: replaced whole, the new key on the disk before the certificate takes its place', () => {
  /** The checks shared by a first init and a replacement. */
  function expectIdentityWritten(lines: string[], dir: string): void {
    const staged = expectDurablyPlaced(lines, join(dir, 'box.crt.new'));
    const key = expectDurablyPlaced(lines, join(dir, 'box.key'));
    const cert = expectDurablyPlaced(lines, join(dir, 'box.crt'));
    // The new certificate is on the disk under its staged name before the key replaces the old
    // one, and the key before the certificate does: a crash at any step leaves the old pair, or
    // the new key with its certificate in box.crt.new (which `box init` finishes).
    expect(staged.folderSynced).toBeLessThan(key.at);
    expect(key.folderSynced).toBeLessThan(cert.at);
    for (const file of ['box.key', 'box.crt']) expectNeverWrittenInPlace(lines, join(dir, file));
    expect(readdirSync(dir).sort()).toEqual(['box.crt', 'box.key']);
    expect(statSync(join(dir, 'box.key')).mode & 0o777).toBe(0o600);
    expect(statSync(join(dir, 'box.crt')).mode & 0o777).toBe(0o644);
  }

  it('pairgate box init', async () => {
    const root = freshDir('pairgate-durable-box-');
    const dir = join(root, 'box');
    const init = await traced(root, [CLI, 'box', 'init', '--dir', dir]);
    expect(init.code, init.stderr).toBe(0);
    expectIdentityWritten(init.lines, dir);
    expect(loadBoxIdentity(dir).fingerprint).toBe(init.stdout.trim());
  }, 60_000);

  it('pairgate box init --force', async () => {
    const root = freshDir('pairgate-durable-box-');
    const dir = join(root, 'box');
    const first = await runCli(['box', 'init', '--dir', dir]);
    expect(first.status, first.stderr).toBe(0);
    const forced = await traced(root, [CLI, 'box', 'init', '--dir', dir, '--force']);
    expect(forced.code, forced.stderr).toBe(0);
    expect(forced.stdout.trim()).not.toBe(first.stdout.trim());
    expectIdentityWritten(forced.lines, dir);
    expect(loadBoxIdentity(dir).fingerprint).toBe(forced.stdout.trim());
  }, 60_000);

  it('an identity left half replaced is refused by box id, naming the files and what to do, and box init finishes it', async () => {
    const root = freshDir('pairgate-durable-box-');
    const dir = join(root, 'box');
    expect((await runCli(['box', 'init', '--dir', dir])).status).toBe(0);
    const next = await createSelfSigned({ commonName: 'next' });
    // The state a crash after the new key was written leaves: new key, old certificate, the new one staged.
    writeFileSync(join(dir, 'box.key'), next.keyPem, { mode: 0o600 });
    writeFileSync(join(dir, 'box.crt.new'), next.certPem);
    const refused = await runCli(['box', 'id', '--dir', dir]);
    expect(refused.status).toBe(2);
    expect(refused.stderr).toContain(`the key ${join(dir, 'box.key')} is not the key of the certificate ${join(dir, 'box.crt')}`);
    expect(refused.stderr).toContain(`${join(dir, 'box.crt.new')} holds the certificate of that key`);
    expect(refused.stderr).toContain(`Run \`pairgate box init --dir ${dir}\` to finish the replacement`);
    expect(refused.stderr).toMatch(/\[box_identity_interrupted\]\n$/);
    const finished = await runCli(['box', 'init', '--dir', dir]);
    expect(finished.status, finished.stderr).toBe(0);
    expect(finished.stderr).toBe(`finished the interrupted replacement in ${dir}: the new key is the box's identity (the fingerprint below)\n`);
    expect((await runCli(['box', 'id', '--dir', dir])).stdout).toBe(finished.stdout);
    expect(readFileSync(join(dir, 'box.crt'), 'utf8')).toBe(next.certPem);
    expect(existsSync(join(dir, 'box.crt.new'))).toBe(false);
  }, 60_000);
});

describe.skipIf(straceSkip)('lan device identity', () => {
  it('device.json is linked from a temporary file flushed before, and its folder flushed after', async () => {
    const root = freshDir('pairgate-durable-lan-');
    const config = join(root, 'config');
    // Any lan command makes the identity first; this one then stops, as no peer is trusted.
    const run = await traced(root, [CLI, 'lan', 'connect', 'nobody', '--config-dir', config]);
    expect(run.stderr).toContain('[lan_unknown_peer]');
    expectDurablyPlaced(run.lines, join(config, 'device.json'));
    expectNeverWrittenInPlace(run.lines, join(config, 'device.json'));
    expect(readdirSync(config)).toEqual(['device.json']);
    expect(statSync(join(config, 'device.json')).mode & 0o777).toBe(0o600);
  }, 60_000);
});

describe.skipIf(straceSkip)('the DNS door\'s update API key and certificate, and the box\'s mirror state', () => {
  it('are written whole and flushed: the server\'s at its first start, the box\'s at its announcement', async () => {
    const root = freshDir('pairgate-durable-dns-');
    const data = join(root, 'data');
    const tls = join(data, 'dns-update-tls');
    const box = join(root, 'box');
    expect((await runCli(['box', 'init', '--dir', box])).status).toBe(0);
    let announce: Traced | undefined;
    const server = await traced(root, [CLI, 'serve', '--port', '0'], {
      PAIRGATE_DATA_DIR: data, PAIRGATE_LOG_LEVEL: 'warn', PAIRGATE_DNS_ZONE: ZONE, PAIRGATE_DNS_PORT: '0', PAIRGATE_DNS_UPDATE_PORT: '0',
    }, {
      lines: 3,
      during: async ([listening, , updateLine]) => {
        const url = /^pairgate listening on (\S+)$/.exec(listening!)![1]!;
        const updateApi = /^dns update api listening on (\S+)$/.exec(updateLine!)![1]!;
        announce = await traced(root, [CLI, 'box', 'announce', '--once', '--dir', box, '--server', url, '--zone', ZONE, '--update-api', updateApi, '--update-ca', join(tls, 'cert.pem'), '--port', '4443']);
      },
    });
    expect(server.lines.length).toBeGreaterThan(1);
    // Both flushed before either takes its name: a crash between the renames leaves a key alone,
    // which the next start makes again with its certificate.
    const key = expectDurablyPlaced(server.lines, join(tls, 'key.pem'));
    const cert = expectDurablyPlaced(server.lines, join(tls, 'cert.pem'));
    const certTemporary = placements(server.lines).find((p) => p.to === join(tls, 'cert.pem'))!;
    expect(syncOf(server.lines, certTemporary.from, certTemporary.pid, -1)).toBeLessThan(key.at);
    expect(key.at).toBeLessThan(cert.at);
    for (const file of ['key.pem', 'cert.pem']) expectNeverWrittenInPlace(server.lines, join(tls, file));
    expect(statSync(join(tls, 'key.pem')).mode & 0o777).toBe(0o600);

    expect(announce!.code, announce!.stderr).toBe(0);
    expectDurablyPlaced(announce!.lines, join(box, 'mirror-state.json'));
    expectNeverWrittenInPlace(announce!.lines, join(box, 'mirror-state.json'));
    expect(JSON.parse(readFileSync(join(box, 'mirror-state.json'), 'utf8'))).toMatchObject({ active: 0 });
  }, 90_000);
});

describe.skipIf(straceSkip)('the SDK\'s pin file', () => {
  it('PinStore.set replaces the file whole, flushed, and keeps it 0600', async () => {
    const root = freshDir('pairgate-durable-pins-');
    const file = join(root, 'pins', 'pins.json');
    const module = join(process.cwd(), 'dist/sdk/box-discovery.js');
    const script = `const { PinStore } = await import(${JSON.stringify(module)});
for (const fingerprint of ['a', 'b']) new PinStore(${JSON.stringify(file)}).set({ fingerprint, certPem: 'pem', firstSeen: 'now' });`;
    const run = await traced(root, ['--input-type=module', '-e', script]);
    expect(run.code, run.stderr).toBe(0);
    expectDurablyPlaced(run.lines, file);
    expectNeverWrittenInPlace(run.lines, file);
    expect(Object.keys(JSON.parse(readFileSync(file, 'utf8')))).toEqual(['a', 'b']);
    expect(statSync(file).mode & 0o777).toBe(0o600);
  }, 30_000);
});


describe.skipIf(pebbleSkip)('box cert: the ACME account key, and the certificate and its key', () => {
  let t: TestApp;
  let runtime: DnsRuntime;
  let pebble: RunningPebble | undefined;
  let root: string;
  let directory: string;

  beforeAll(async () => {
    ({ t, runtime } = await createDnsApp());
    root = freshDir('pairgate-durable-acme-');
    writeFileSync(join(root, 'update-ca.pem'), runtime.updateCertPem!);
    pebble = await startPebble(root, runtime.dns.port);
    directory = pebble.directory;
  }, 60_000);

  afterAll(async () => {
    pebble?.stop();
    await t?.close();
  });

  it('each is written whole and flushed before its name, the folder flushed after', async () => {
    const box = join(root, 'box');
    expect((await runCli(['box', 'init', '--dir', box])).status).toBe(0);
    const run = await traced(root, [CLI, 'box', 'cert', '--dir', box, '--zone', ZONE, '--update-api', runtime.updateApi!.url,
      '--update-ca', join(root, 'update-ca.pem'), '--acme-directory', directory, '--acme-ca', join(root, 'pebble.crt'),
      '--dns-server', `127.0.0.1:${runtime.dns.port}`, '--labels', 'local', '--timeout', '20']);
    expect(run.code, run.stderr).toBe(0);
    expectDurablyPlaced(run.lines, join(box, 'acme-account.key'));
    const key = expectDurablyPlaced(run.lines, join(box, 'cert.key'));
    const cert = expectDurablyPlaced(run.lines, join(box, 'cert.pem'));
    // Both flushed before the first takes its name, the key first.
    const certTemporary = placements(run.lines).find((p) => p.to === join(box, 'cert.pem'))!;
    expect(syncOf(run.lines, certTemporary.from, certTemporary.pid, -1)).toBeLessThan(key.at);
    expect(key.at).toBeLessThan(cert.at);
    for (const file of ['acme-account.key', 'cert.key', 'cert.pem']) expectNeverWrittenInPlace(run.lines, join(box, file));
    expect(statSync(join(box, 'cert.key')).mode & 0o777).toBe(0o600);
    expect(statSync(join(box, 'acme-account.key')).mode & 0o777).toBe(0o600);
    expect(readdirSync(box).filter((name) => name.endsWith('.tmp') || name.endsWith('.new'))).toEqual([]);
  }, 120_000);
});
