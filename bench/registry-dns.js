// `node bench/registry-dns.js` (after `npm run build`): the registry and DNS doors against bare
// baselines started in the same run. Prints DNS queries answered per second (UDP, an A record held
// in the store) as a ratio to a bare dgram echo server, and GET /ping throughput as a ratio to a
// bare Fastify route.
import { spawn } from 'node:child_process';
import { createSocket } from 'node:dgram';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import dnsPacket from 'dns-packet';
import { load, row } from './lib/measure.js';
import { startBaseline, UNLIMITED } from './lib/servers.js';
import { nodeCommand, pinningNote } from './lib/pinning.js';

const root = fileURLToPath(new URL('../', import.meta.url));
const { initBoxIdentity } = await import(join(root, 'dist/doors/registry/box-identity.js'));
const { DnsUpdateClient, RegistryClient } = await import(join(root, 'dist/sdk/index.js'));

const { values: args } = parseArgs({
  options: {
    duration: { type: 'string', default: '5' },
    connections: { type: 'string', default: '50' },
    inflight: { type: 'string', default: '64' },
    help: { type: 'boolean', default: false },
  },
});
if (args.help) {
  console.log('usage: node bench/registry-dns.js [--duration S] [--connections N] [--inflight N]');
  process.exit(0);
}
const duration = Number(args.duration);
const ZONE = 'box.bench.test';

function lines(stream, pattern) {
  return new Promise((resolve) => {
    createInterface({ input: stream }).on('line', (line) => {
      const match = pattern.exec(line);
      if (match) resolve(match);
    });
  });
}

/** A port free for UDP and TCP now (the server binds it right after; loopback only). */
async function freePort() {
  const { createServer } = await import('node:net');
  for (;;) {
    const port = await new Promise((resolve) => {
      const server = createServer().listen(0, '127.0.0.1', () => {
        const { port: found } = server.address();
        server.close(() => resolve(found));
      });
    });
    const udpFree = await new Promise((resolve) => {
      const socket = createSocket('udp4');
      socket.once('error', () => resolve(false));
      socket.bind(port, '127.0.0.1', () => socket.close(() => resolve(true)));
    });
    if (udpFree) return port;
  }
}

async function startPairgateWithDns() {
  // Fixed ports and log level warn: request logs through a pipe would be measured too.
  const dnsPort = await freePort();
  const updatePort = await freePort();
  const dataDir = mkdtempSync(join(tmpdir(), 'pairgate-bench-dns-'));
  const run = nodeCommand([join(root, 'dist/cli/main.js'), 'serve', '--port', '0', '--data-dir', dataDir]);
  const child = spawn(run.command, run.args, {
    env: {
      ...process.env,
      ...UNLIMITED,
      PAIRGATE_DNS_ZONE: ZONE,
      PAIRGATE_DNS_PORT: String(dnsPort),
      PAIRGATE_DNS_UPDATE_PORT: String(updatePort),
      PAIRGATE_DNS_UPDATES_PER_MINUTE: '100000',
      PAIRGATE_DNS_UDP_PER_SECOND: '0',
      PAIRGATE_REGISTRY_PING_PER_MINUTE: '100000000',
      PAIRGATE_REGISTRY_REGISTER_PER_MINUTE: '100000000',
    },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const [, url] = await lines(child.stdout, /^pairgate listening on (\S+)$/);
  return {
    url,
    dnsPort,
    updateApi: `https://127.0.0.1:${updatePort}`,
    dataDir,
    async stop() {
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.kill('SIGTERM');
      await exited;
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

async function startBareDns() {
  const bareRun = nodeCommand([join(root, 'bench/lib/bare-dns.js')]);
  const child = spawn(bareRun.command, bareRun.args, { stdio: ['ignore', 'pipe', 'inherit'] });
  const [, port] = await lines(child.stdout, /^bare dns listening on (\d+)$/);
  return {
    port: Number(port),
    async stop() {
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.kill('SIGTERM');
      await exited;
    },
  };
}

/** Keeps `inflight` UDP queries outstanding for `seconds`; returns answers per second. */
async function dnsLoad(port, name, seconds, inflight) {
  const socket = createSocket('udp4');
  await new Promise((resolve) => socket.bind(0, '127.0.0.1', resolve));
  let answered = 0;
  let nextId = 1;
  const sentAt = new Map();
  // Encoded once; each send only writes a new id, so the load generator costs little next to the server.
  const template = dnsPacket.encode({ type: 'query', id: 0, questions: [{ type: 'A', name }] });
  const send = () => {
    const id = nextId;
    nextId = (nextId % 65535) + 1;
    sentAt.set(id, performance.now());
    const packet = Buffer.from(template);
    packet.writeUInt16BE(id, 0);
    socket.send(packet, port, '127.0.0.1');
  };
  const stopAt = performance.now() + seconds * 1000;
  let running = true;
  socket.on('message', (message) => {
    const id = message.readUInt16BE(0);
    if (!sentAt.delete(id)) return;
    answered++;
    if (running) send();
  });
  for (let i = 0; i < inflight; i++) send();
  // A lost datagram is replaced after 1 s so the load never drains.
  const sweeper = setInterval(() => {
    const now = performance.now();
    for (const [id, at] of sentAt) if (now - at > 1000 && sentAt.delete(id) && running) send();
  }, 250);
  const started = performance.now();
  await new Promise((resolve) => setTimeout(resolve, Math.max(0, stopAt - started)));
  running = false;
  clearInterval(sweeper);
  const elapsed = (performance.now() - started) / 1000;
  socket.close();
  return answered / elapsed;
}

const pairgate = await startPairgateWithDns();
const bare = await startBaseline();
const bareDns = await startBareDns();
try {
  const box = await initBoxIdentity(join(pairgate.dataDir, 'bench-box'), { name: 'bench' });
  const { readFileSync } = await import('node:fs');
  const ca = readFileSync(join(pairgate.dataDir, 'dns-update-tls', 'cert.pem'), 'utf8');
  const name = `local.${box.fingerprint}.${ZONE}`;
  await new DnsUpdateClient({ baseUrl: pairgate.updateApi, box, ca }).set(name, 'A', '192.168.1.20');
  await new RegistryClient({ baseUrl: pairgate.url }).announce(box, { fingerprint: box.fingerprint, local_origin: 'https://192.168.1.20' });

  const inflight = Number(args.inflight);
  console.log(pinningNote());
  console.log(`\nDNS over UDP (${duration} s each, ${inflight} queries in flight)`);
  const bareQps = await dnsLoad(bareDns.port, name, duration, inflight);
  const qps = await dnsLoad(pairgate.dnsPort, name, duration, inflight);
  console.log(`${'bare dgram echo (baseline)'.padEnd(34)} ${bareQps.toFixed(0).padStart(8)} q/s`);
  console.log(`${`A ${name.slice(0, 12)}... (store)`.padEnd(34)} ${qps.toFixed(0).padStart(8)} q/s  vs bare ${((qps / bareQps) * 100).toFixed(0).padStart(4)}%`);

  console.log(`\nregistry (${duration} s each, ${args.connections} connections)`);
  const bareGet = await load({ url: `${bare.url}/x`, duration, connections: Number(args.connections) });
  const ping = await load({ url: `${pairgate.url}/ping`, duration, connections: Number(args.connections) });
  console.log(row('bare fastify GET (baseline)', bareGet));
  console.log(row('GET /ping (one box announced)', ping, bareGet));
  console.log(`\nbench line: dns ${qps.toFixed(0)} q/s = ${((qps / bareQps) * 100).toFixed(0)}% of bare dgram echo; /ping ${ping.rps.toFixed(0)} req/s = ${((ping.rps / bareGet.rps) * 100).toFixed(0)}% of bare fastify`);
} finally {
  await Promise.all([pairgate.stop(), bare.stop(), bareDns.stop()]);
}
