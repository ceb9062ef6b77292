import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync } from 'node:fs';
import { createServer } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { initBoxIdentity, type BoxIdentity } from '../../../src/doors/registry/box-identity.js';
import { findBoxesByMdns, PinMismatchError, pinnedGet, PinStore, trustOnFirstUse } from '../../../src/sdk/box-discovery.js';
import { freePort } from '../../helpers/ports.js';

const cli = join(process.cwd(), 'dist/cli/main.js');

describe('mDNS discovery between two processes, with trust on first use', () => {
  let child: ChildProcess;
  let box: BoxIdentity;
  let mdnsPort: number;
  let httpsPort: number;
  const mdns = () => ({ port: mdnsPort, interface: '127.0.0.1' });

  beforeAll(async () => {
    if (!existsSync(cli)) execFileSync('npx', ['tsc', '-p', 'tsconfig.build.json'], { stdio: 'inherit' });
    const dir = join(mkdtempSync(join(tmpdir(), 'pairgate-mdns-')), 'box');
    box = await initBoxIdentity(dir, { name: 'mdns box' });
    // This test's private mDNS "network" (loopback only, never 5353 on a real interface), on a UDP
    // port no other test file of the run holds.
    mdnsPort = await freePort();
    child = spawn('node', [cli, 'box', 'advertise', '--dir', dir, '--port', '0', '--serve', '--host', '127.0.0.1', '--address', '127.0.0.1',
      '--name', 'Kitchen box', '--mdns-interface', '127.0.0.1', '--mdns-port', String(mdnsPort)], { stdio: ['ignore', 'pipe', 'pipe'] });
    const [line, serving] = await new Promise<string[]>((resolve, reject) => {
      const lines: string[] = [];
      createInterface({ input: child.stdout! }).on('line', (read) => {
        lines.push(read);
        if (lines.length === 2) resolve(lines);
      });
      child.once('exit', (code) => reject(new Error(`advertise exited ${code}`)));
    });
    const match = /^advertising ([a-z2-7]{52}) on port (\d+)$/.exec(line!);
    expect(match, line).not.toBeNull();
    httpsPort = Number(match![2]);
    // --serve says where it serves (with port 0, the port was all it said).
    expect(serving).toBe(`serving HTTPS with the box certificate on 127.0.0.1:${httpsPort}`);
  }, 60_000);

  afterAll(() => {
    child?.kill('SIGTERM');
  });

  it('finds the box advertised by another process, pins its certificate on first use, then talks to it pinned', async () => {
    const boxes = await findBoxesByMdns(1500, mdns());
    const found = boxes.find((b) => b.fingerprint === box.fingerprint);
    expect(found, JSON.stringify(boxes)).toMatchObject({ name: 'Kitchen box', port: httpsPort, addresses: ['127.0.0.1'] });

    const pins = new PinStore(join(mkdtempSync(join(tmpdir(), 'pairgate-pins-')), 'pins.json'));
    const first = await trustOnFirstUse(found!, pins);
    expect(first.firstUse).toBe(true);
    expect(first.pin.fingerprint).toBe(box.fingerprint);
    expect((await trustOnFirstUse(found!, pins)).firstUse).toBe(false);

    const answer = await pinnedGet(`https://127.0.0.1:${httpsPort}/`, first.pin);
    expect(answer.status).toBe(200);
    expect(JSON.parse(answer.body)).toEqual({ fingerprint: box.fingerprint, name: 'Kitchen box' });
  });

  it('refuses an impostor that claims the fingerprint but holds another key', async () => {
    const impostor = await initBoxIdentity(join(mkdtempSync(join(tmpdir(), 'pairgate-impostor-')), 'box'));
    const server = createServer({ key: impostor.keyPem, cert: impostor.certPem }, (_req, res) => res.end('{}'));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const port = (server.address() as { port: number }).port;
    try {
      const pins = new PinStore(join(mkdtempSync(join(tmpdir(), 'pairgate-pins-')), 'pins.json'));
      await expect(trustOnFirstUse({ fingerprint: box.fingerprint, addresses: ['127.0.0.1'], port }, pins)).rejects.toBeInstanceOf(PinMismatchError);
      const real = await trustOnFirstUse({ fingerprint: box.fingerprint, addresses: ['127.0.0.1'], port: httpsPort }, pins);
      await expect(pinnedGet(`https://127.0.0.1:${port}/`, real.pin)).rejects.toThrow();
    } finally {
      server.close();
    }
  });
});
