// Benchmark of the access door: POST /access and polling throughput (against GET /healthz measured
// in the same run as the baseline: a bare Fastify server), and the approval-to-poll latency of the wait extension versus
// plain 1000 ms polling. pairgate runs as `pairgate serve` in a child process (bench/lib/servers.js).
// Each throughput row also gives the server's CPU time per request (from /proc), steadier than req/s
// on a shared machine.
//
//   npm run build && node bench/access.js [--duration S] [--connections N] [--samples N]
import { parseArgs } from 'node:util';
import { load, percentile, row } from './lib/measure.js';
import { startBaseline, startPairgate } from './lib/servers.js';
import { pinningNote } from './lib/pinning.js';

const { values: args } = parseArgs({
  options: {
    duration: { type: 'string', default: '5' },
    connections: { type: 'string', default: '50' },
    samples: { type: 'string', default: '20' },
    help: { type: 'boolean', default: false },
  },
});
if (args.help) {
  console.log('usage: npm run bench:access -- [--duration S] [--connections N] [--samples N]');
  console.log('       auth request and poll throughput against a bare Fastify baseline; approval-to-app latency, long-poll vs 1 s polling');
  process.exit(0);
}
const duration = Number(args.duration);
const connections = Number(args.connections);
const samples = Math.min(Number(args.samples), 200);

const pairgate = await startPairgate({ PAIRGATE_ACCESS_CREATE_PER_MINUTE: '100000000', PAIRGATE_ACCESS_MAX_PENDING: '10000000', PAIRGATE_ACCESS_MAX_PENDING_PER_IP: '10000000', PAIRGATE_SCRYPT_COST: '12' });
const bare = await startBaseline();
const base = pairgate.url;

// A signed-in browser stand-in: cookies and the CSRF token of the last page.
const cookies = new Map();
let csrf = '';
const cookieHeader = () => [...cookies].map(([k, v]) => `${k}=${v}`).join('; ');
async function page(path, form) {
  const response = await fetch(`${base}${path}`, {
    method: form ? 'POST' : 'GET',
    redirect: 'manual',
    headers: { cookie: cookieHeader(), ...(form ? { 'content-type': 'application/x-www-form-urlencoded' } : {}) },
    ...(form ? { body: new URLSearchParams({ _csrf: csrf, ...form }) } : {}),
  });
  for (const line of response.headers.getSetCookie()) {
    const [pair] = line.split(';');
    const at = pair.indexOf('=');
    cookies.set(pair.slice(0, at), pair.slice(at + 1));
  }
  const text = await response.text();
  csrf = /name="_csrf" value="([^"]+)"/.exec(text)?.[1] ?? csrf;
  return response.status;
}

async function createRequest(appId) {
  const response = await fetch(`${base}/access`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ requestingAppId: appId, requestedPermissions: [{ streamId: 'diary', level: 'read' }] }) });
  return response.json();
}

/** Approves `key` as the signed-in user; resolves at the moment the approval was answered. */
async function approve(key) {
  await page(`/access/auth?key=${key}`);
  await page('/access/auth/decide', { key, decision: 'accept' });
  return performance.now();
}

/** Time from the approval's answer to the poller's learning of it, for one poller style. */
async function latency(style, index) {
  const request = await createRequest(`bench-latency-${style}-${index}`);
  let learnedAt;
  const poller = (async () => {
    for (;;) {
      if (style === 'wait') {
        const response = await fetch(`${request.poll}?wait=30`);
        if (response.status === 200) return (learnedAt = performance.now());
        await response.arrayBuffer();
      } else {
        const response = await fetch(request.poll);
        if (response.status === 200) return (learnedAt = performance.now());
        await response.arrayBuffer();
        await new Promise((resolve) => setTimeout(resolve, 1000));
      }
    }
  })();
  // Approve at a random point of the polling cycle.
  await new Promise((resolve) => setTimeout(resolve, 200 + Math.random() * 1000));
  const approvedAt = await approve(request.key);
  await poller;
  return Math.max(0, learnedAt - approvedAt);
}

const stats = (values) => ({ mean: values.reduce((a, b) => a + b, 0) / values.length, p50: percentile(values, 50), p95: percentile(values, 95) });

try {
  const body = { requestingAppId: 'bench-app-id', requestedPermissions: [{ streamId: 'diary', level: 'read' }] };
  console.log(`access door (${duration} s each, ${connections} connections; server in a child process)`);
  console.log(pinningNote());
  const barePost = await load({ url: `${bare.url}/x`, method: 'POST', body, duration, connections, pid: bare.pid });
  const bareGet = await load({ url: `${bare.url}/x`, duration, connections, pid: bare.pid });
  console.log(row('bare fastify POST (baseline)', barePost));
  console.log(row('bare fastify GET (baseline)', bareGet));
  console.log(row('POST /access (auth request)', await load({ url: `${base}/access`, method: 'POST', body, duration, connections, pid: pairgate.pid }), barePost));
  const keys = await Promise.all(Array.from({ length: 200 }, (_, i) => createRequest(`bench-poll-app-${i}`).then((r) => r.key)));
  let next = 0;
  const poll = await load({ url: base, duration, connections, pid: pairgate.pid, requests: [{ method: 'GET', setupRequest: (req) => ({ ...req, path: `/access/${keys[next++ % keys.length]}` }) }] });
  // Pending polls answer 201, which autocannon counts as 2xx.
  console.log(row('GET /access/:key (poll, pending)', poll, bareGet));

  await page('/account/register');
  const registered = await page('/account/register', { username: 'bench-user', email: 'bench@example.test', password: 'bench password 1' });
  if (registered !== 303) throw new Error(`could not register the bench user (${registered})`);
  const waitLatencies = [];
  const plainLatencies = [];
  // Samples run five at a time so the 1000 ms poller's sleep does not dominate the run time.
  for (let i = 0; i < samples; i += 5) {
    const batch = Array.from({ length: Math.min(5, samples - i) }, (_, j) => i + j);
    const results = await Promise.all(batch.flatMap((index) => [latency('wait', index), latency('plain', index)]));
    results.forEach((value, k) => (k % 2 === 0 ? waitLatencies : plainLatencies).push(value));
  }
  const wait = stats(waitLatencies);
  const plain = stats(plainLatencies);
  console.log(`\napproval -> the app learns it (${samples} approvals each, approved at a random point of the cycle)`);
  console.log(`  ?wait= long-poll        mean ${wait.mean.toFixed(1).padStart(7)} ms  p50 ${wait.p50.toFixed(1).padStart(7)} ms  p95 ${wait.p95.toFixed(1).padStart(7)} ms`);
  console.log(`  1000 ms polling         mean ${plain.mean.toFixed(1).padStart(7)} ms  p50 ${plain.p50.toFixed(1).padStart(7)} ms  p95 ${plain.p95.toFixed(1).padStart(7)} ms`);
  console.log(`  long-poll learns ${(plain.mean / Math.max(wait.mean, 0.1)).toFixed(0)}x sooner on average`);
} finally {
  await pairgate.stop();
  await bare.stop();
}
