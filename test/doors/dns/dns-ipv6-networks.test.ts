import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { beforeAll, describe, expect, it } from 'vitest';
import { ensureBuilt } from '../../helpers/node-process.js';
import { missingProgram, unmetRequirement } from '../../helpers/system.js';

// The DNS server and its clients run in a network namespace of their own (`unshare --net`), where
// two /64s are routed to the loopback interface and any of their addresses may be bound: one host
// sending from many addresses of its /64, as any IPv6 host may. The child loads the built modules
// (dist/), so run `npm run build` first when src/ changed (npm test does).
const dist = (path: string) => JSON.stringify(pathToFileURL(join(process.cwd(), 'dist/doors/dns', path)).href);

const skip = unmetRequirement(process.getuid?.() === 0, 'network namespaces need root')
  ?? missingProgram('unshare', 'network namespaces (util-linux)')
  ?? missingProgram('ip', 'network namespaces (iproute2)');

/** Sets up the namespace's loopback (fd00:1::/64 and fd00:2::/64 local, non-local binds allowed), then runs the command. */
const NAMESPACE_SETUP = [
  'ip link set lo up',
  'ip -6 route add local fd00:1::/64 dev lo',
  'ip -6 route add local fd00:2::/64 dev lo',
  'echo 1 > /proc/sys/net/ipv6/ip_nonlocal_bind',
  'exec "$@"',
].join(' && ');

/** Runs `script` (an ES module) under Node in a fresh network namespace; resolves with the JSON it prints. */
function inNamespace<T>(script: string): Promise<T> {
  const child = spawn('unshare', ['--net', 'sh', '-c', NAMESPACE_SETUP, 'sh', 'node', '--input-type=module', '-e', script], { stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk: Buffer) => { stdout += String(chunk); });
  child.stderr.on('data', (chunk: Buffer) => { stderr += String(chunk); });
  return new Promise((resolve, reject) => {
    child.once('error', reject);
    child.once('exit', (code) => {
      if (code !== 0) reject(new Error(`the namespace script exited with ${code}: ${stderr}`));
      else resolve(JSON.parse(stdout) as T);
    });
  });
}

/** What every script starts with: the server module, and a handler answering each query with itself as a response. */
const PRELUDE = `
  const { startDnsServer } = await import(${dist('dns-server.js')});
  const dgram = await import('node:dgram');
  const net = await import('node:net');
  const handler = async (query) => {
    const answer = Buffer.from(query);
    answer[2] |= 0x80;
    return answer;
  };
  const query = (id) => {
    const packet = Buffer.alloc(17);
    packet.writeUInt16BE(id, 0);
    packet.writeUInt16BE(1, 4);
    packet.writeUInt16BE(1, 13); // the root name (one zero byte), type A, class IN
    packet.writeUInt16BE(1, 15);
    return packet;
  };
  const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
`;

describe.skipIf(skip !== undefined)(`DNS limits count an IPv6 client by its /64${skip ? ` (skipped: ${skip})` : ''}`, () => {
  beforeAll(() => ensureBuilt(), 120_000);

  it('UDP: 30 addresses of one /64 share one rate budget (full answers, then slips); another /64 has its own', async () => {
    const result = await inNamespace<{ full: number; slips: number; other: { full: number; slips: number } }>(`${PRELUDE}
      const server = await startDnsServer({ host: '::1', port: 0, handler, udpPerSecond: 10 });
      const bind = (address) => new Promise((resolve) => {
        const socket = dgram.createSocket('udp6');
        socket.bind(0, address, () => resolve(socket));
      });
      const senders = [];
      for (let i = 1; i <= 30; i++) senders.push(await bind('fd00:1::' + i.toString(16)));
      const other = await bind('fd00:2::1');
      const counted = (sockets) => {
        const seen = { full: 0, slips: 0 };
        for (const socket of sockets) socket.on('message', (m) => (m.readUInt16BE(2) & 0x0200 ? seen.slips++ : seen.full++));
        return seen;
      };
      const one = counted(senders);
      const two = counted([other]);
      // Aligned to the start of a second, so the burst falls in one window.
      await sleep(1000 - (Date.now() % 1000) + 20);
      let id = 1;
      for (const socket of senders) for (let n = 0; n < 2; n++) socket.send(query(id++), server.port, '::1');
      other.send(query(id++), server.port, '::1');
      await sleep(400);
      for (const socket of [...senders, other]) socket.close();
      await server.close();
      process.stdout.write(JSON.stringify({ ...one, other: two }));
      process.exit(0);
    `);
    // 60 queries from one /64 at 10 a second: 10 answered, every second one of the other 50 a slip.
    // Counted per address, each sent 2 and all 60 were answered.
    expect(result).toEqual({ full: 10, slips: 25, other: { full: 1, slips: 0 } });
  }, 30_000);

  it('TCP: addresses of one /64 hold one share of the connections together; another /64 still gets one and is answered', async () => {
    const result = await inNamespace<{ closed: boolean[]; otherClosed: boolean; otherAnswered: boolean }>(`${PRELUDE}
      // An eighth of 16: two connections per source network.
      const server = await startDnsServer({ host: '::1', port: 0, handler, maxTcpConnections: 16 });
      const open = (localAddress) => new Promise((resolve, reject) => {
        const socket = net.connect({ host: '::1', port: server.port, localAddress });
        socket.on('error', () => undefined);
        socket.once('connect', () => {
          const closed = new Promise((done) => {
            const timer = setTimeout(() => done(false), 500);
            socket.once('close', () => { clearTimeout(timer); done(true); });
          });
          resolve({ socket, closed });
        });
        socket.once('error', reject);
      });
      const mine = [];
      for (const address of ['fd00:1::a', 'fd00:1::b', 'fd00:1::c']) mine.push(await open(address));
      const other = await open('fd00:2::1');
      const answered = new Promise((resolve) => {
        other.socket.once('data', () => resolve(true));
        setTimeout(() => resolve(false), 500);
      });
      const frame = query(7);
      other.socket.write(Buffer.concat([Buffer.from([0, frame.length]), frame]));
      const closed = await Promise.all(mine.map((c) => c.closed));
      const otherAnswered = await answered;
      const otherClosed = await other.closed;
      for (const c of [...mine, other]) c.socket.destroy();
      await server.close();
      process.stdout.write(JSON.stringify({ closed, otherClosed, otherAnswered }));
      process.exit(0);
    `);
    // Counted per address, the third connection of the /64 was kept too.
    expect(result).toEqual({ closed: [false, false, true], otherClosed: false, otherAnswered: true });
  }, 30_000);
});
