// Benchmark of the lan door, run against the build: `npm run bench:lan [-- runs]`.
// Prints the median over N runs (default 20) of
//   - join -> authenticated channel: from the start of `join` (string decoded, TLS dial with the
//     pinned key, mutual HMAC proof of the secret) to the offer's welcome, on loopback;
//   - discovery: from the start of looking to the first authenticated announcement of an offer
//     that announces every 500 ms, over multicast on the loopback interface;
// each next to a baseline measured in the same run (a bare TLS handshake; half the announcement
// period), with the ratio. Nothing leaves the machine: loopback addresses and interface only.
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join as joinPath } from 'node:path';
import tls from 'node:tls';
import { findPeer, startAnnouncer } from '../dist/doors/lan/discovery.js';
import { join } from '../dist/doors/lan/join.js';
import { startOffer } from '../dist/doors/lan/offer.js';
import { createTlsIdentity } from '../dist/doors/lan/tls-identity.js';
import { percentile } from './lib/measure.js';

if (process.argv.includes('--help') || process.argv.includes('-h')) {
  console.log('usage: npm run bench:lan [-- RUNS]   (default 20): join and discovery medians against their baselines');
  process.exit(0);
}
const runs = Number(process.argv[2] ?? 20);
if (!Number.isInteger(runs) || runs < 1) {
  console.error(`bench:lan: RUNS must be a whole number of runs, not "${process.argv[2]}"`);
  process.exit(2);
}
const root = mkdtempSync(joinPath(tmpdir(), 'pairgate-bench-lan-'));
const median = (values) => percentile(values, 50);
const ms = (value) => `${value.toFixed(1)} ms`;

async function tlsBaseline() {
  const identity = await createTlsIdentity('baseline', 600);
  const server = tls.createServer({ key: identity.keyPem, cert: identity.certPem, minVersion: 'TLSv1.2' }, (socket) => socket.end());
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address();
  const times = [];
  for (let i = 0; i < runs; i++) {
    const started = performance.now();
    await new Promise((resolve, reject) => {
      const socket = tls.connect({ host: '127.0.0.1', port, rejectUnauthorized: false }, () => { socket.destroy(); resolve(); });
      socket.once('error', reject);
    });
    times.push(performance.now() - started);
  }
  server.close();
  return median(times);
}

async function joinToAuthenticated() {
  const offerDir = joinPath(root, 'offer');
  const joinDir = joinPath(root, 'join');
  const times = [];
  for (let i = 0; i < runs; i++) {
    const offer = await startOffer({ configDir: offerDir, addresses: ['127.0.0.1'], host: '127.0.0.1', discovery: false, timeoutMs: 30_000, outDir: root });
    const joined = await join(offer.connectionString, { configDir: joinDir, discovery: false, outDir: root });
    await offer.result;
    times.push(joined.authenticatedMs);
  }
  return median(times);
}

async function discovery() {
  const port = 40000 + (process.pid % 20000);
  const secret = randomBytes(32);
  const deviceId = randomBytes(16).toString('base64url');
  const options = { interfaceAddress: '127.0.0.1', port };
  const announcer = await startAnnouncer({ ...options, announcement: { deviceId, port: 1 }, secret, intervalMs: 500 });
  const times = [];
  try {
    for (let i = 0; i < runs; i++) {
      // Start at a random phase of the announcement period, as a real joiner would.
      await new Promise((resolve) => setTimeout(resolve, Math.random() * 500));
      const started = performance.now();
      const found = await findPeer({ ...options, secret, deviceId, timeoutMs: 5000 });
      if (!found) throw new Error('discovery found nothing within 5 s');
      times.push(performance.now() - started);
    }
  } finally {
    await announcer.stop();
  }
  return median(times);
}

try {
  const baseline = await tlsBaseline();
  const joinMedian = await joinToAuthenticated();
  console.log(`lan join -> authenticated channel: median ${ms(joinMedian)} over ${runs} runs (baseline bare TLS handshake ${ms(baseline)}, ratio ${(joinMedian / baseline).toFixed(2)})`);
  const discoveryMedian = await discovery();
  console.log(`lan discovery (announcements every 500 ms): median ${ms(discoveryMedian)} over ${runs} runs (baseline half the period 250.0 ms, ratio ${(discoveryMedian / 250).toFixed(2)})`);
} finally {
  rmSync(root, { recursive: true, force: true });
}
