import { spawn, type ChildProcess } from 'node:child_process';
import { createServer, type Server } from 'node:net';
import { createInterface } from 'node:readline';
import tls from 'node:tls';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CLI, ensureBuilt } from '../../helpers/node-process.js';
import { createTlsIdentity } from '../../../src/doors/lan/tls-identity.js';
import { deviceDir } from './lan-fixtures.js';
import { freePort } from '../../helpers/ports.js';

// Multicast on the loopback interface, on a port no other test file of the run holds.
const discovery = ['--discovery-interface', '127.0.0.1', '--discovery-port', String(await freePort())];
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
      // Text output (not --json) is no JSON: only callers reading `first` need it to be.
      if (stdout.length === 1) {
        try {
          resolve(JSON.parse(line) as Record<string, unknown>);
        } catch (error) {
          reject(error as Error);
        }
      }
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
    const lonely = ['--discovery-interface', '127.0.0.1', '--discovery-port', String(await freePort())];
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

  it('lan nearby that hears no one says how long it listened, and to run pairgate doctor (multicast), exit 0', async () => {
    const lonely = ['--discovery-interface', '127.0.0.1', '--discovery-port', String(await freePort())];
    const result = await run(['lan', 'nearby', '--seconds', '1', ...lonely]);
    expect(result.stdout).toContain('No device announced itself in 1 s of listening.');
    expect(result.stdout).toContain('listen longer with --duration, e.g. --duration 10s');
    expect(result.stdout).toContain('run `pairgate doctor` on both devices: it checks that multicast gets through');
    expect(result.code).toBe(0);
  });
});

/**
 * `lan join --code --address --port` dials without a pin, so whatever answers at a mistyped port
 * is read as an offer: its bytes used to end the join with OpenSSL's line or a bare "Unknown frame
 * type 72." Each failure now keeps its precise cause and says what the person can do.
 */
describe('pairgate lan join --code at an endpoint that is not a pairgate offer', () => {
  const servers: (Server | tls.Server)[] = [];
  beforeAll(() => ensureBuilt(), 120_000);
  afterAll(() => {
    for (const server of servers) server.close();
  });

  /** Listens on loopback with `server`; its port. */
  async function listening(server: Server | tls.Server): Promise<number> {
    servers.push(server);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
    return (server.address() as { port: number }).port;
  }

  const joinAt = (port: number, name: string) => run(['lan', 'join', '--code', '1234-5678', '--address', '127.0.0.1', '--port', String(port), '--no-discovery', '--config-dir', deviceDir(name)]);

  it('an HTTPS server (a frame of an unknown type), a frame over the size limit: the cause, then what to do, lan_protocol_error, exit 2', async () => {
    const identity = await createTlsIdentity('web', 3600);
    const web = await listening(tls.createServer({ key: identity.keyPem, cert: identity.certPem }, (socket) => {
      socket.on('error', () => undefined);
      socket.on('data', () => socket.end('HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n'));
    }));
    const huge = await listening(tls.createServer({ key: identity.keyPem, cert: identity.certPem }, (socket) => {
      socket.on('error', () => undefined);
      const head = Buffer.alloc(5);
      head[0] = 1;
      head.writeUInt32BE(1_000_000, 1);
      socket.write(head);
    }));
    const step = 'The other end does not speak pairgate\'s lan protocol as this version does: it may not be a pairgate lan endpoint (check the address and port, or the connection string), '
      + 'or it runs an incompatible version (update pairgate on both devices to the same version). Then try again; if it fails again, run "pairgate doctor" on each device. [lan_protocol_error]';
    const unknown = await joinAt(web, 'cli-foreign-web');
    expect(unknown.stderr).toContain(`pairgate: Unknown frame type 72. ${step}`);
    expect(unknown.code).toBe(2);
    const over = await joinAt(huge, 'cli-foreign-huge');
    expect(over.stderr).toContain(`pairgate: A frame exceeded the size limit. ${step}`);
    expect(over.code).toBe(2);
  }, 30_000);

  it('a server that does not speak TLS: said in words with the reason, not OpenSSL\'s line, lan_peer_unreachable, exit 1', async () => {
    const plain = await listening(createServer((socket) => {
      socket.on('error', () => undefined);
      socket.on('data', () => socket.end('HTTP/1.1 400 Bad Request\r\n\r\n'));
    }));
    const result = await joinAt(plain, 'cli-foreign-plain');
    expect(result.stderr).toMatch(new RegExp(`pairgate: .*127\\.0\\.0\\.1:${plain}: something answered, but not in TLS \\((wrong version number|packet length too long|record layer failure)\\): it is not a pairgate lan endpoint; check the address and port.*\\[lan_peer_unreachable\\]`));
    expect(result.stderr).not.toMatch(/SSL routines|deps\/openssl/);
    expect(result.code).toBe(1);
  }, 30_000);

  it('a TLS server that closes at once, without a word: not only "try again", lan_connection_lost, exit 1', async () => {
    const identity = await createTlsIdentity('closer', 3600);
    const closer = await listening(tls.createServer({ key: identity.keyPem, cert: identity.certPem }, (socket) => {
      socket.on('error', () => undefined);
      socket.end();
    }));
    const result = await joinAt(closer, 'cli-foreign-closer');
    expect(result.stderr).toContain('pairgate: The other end closed the connection without a word of pairgate\'s lan protocol: was pairgate stopped there, or is it not a pairgate lan endpoint (check the address and port) '
      + 'or an incompatible version (update pairgate on both devices)? Try again. [lan_connection_lost]');
    expect(result.code).toBe(1);
  }, 30_000);
});
