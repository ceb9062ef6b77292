// Benchmark of the access door: POST /access and polling throughput (against GET /healthz measured
// in the same run as the baseline), and the approval-to-poll latency of the wait extension versus
// plain 1000 ms polling. Runs the built server in this process on a temporary data folder.
//
//   npm run build && node bench/access.js [--seconds 3] [--samples 20]
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import autocannon from 'autocannon';
import { allDoors } from '../dist/doors/index.js';
import { startServer } from '../dist/server/start.js';

const arg = (name, fallback) => {
  const at = process.argv.indexOf(`--${name}`);
  return at > 0 ? Number(process.argv[at + 1]) : fallback;
};
const seconds = arg('seconds', 3);
const samples = Math.min(arg('samples', 20), 200);

const dataDir = mkdtempSync(join(tmpdir(), 'pairgate-bench-'));
const server = await startServer({
  env: {
    PAIRGATE_DATA_DIR: dataDir,
    PAIRGATE_PORT: '0',
    PAIRGATE_LOG_LEVEL: 'warn',
    PAIRGATE_RATE_LIMIT_MAX: '100000000',
    PAIRGATE_ACCESS_CREATE_PER_MINUTE: '100000000',
    PAIRGATE_ACCESS_MAX_PENDING: '10000000',
    PAIRGATE_SCRYPT_COST: '12',
  },
}, allDoors);
const base = server.url;
const body = JSON.stringify({ requestingAppId: 'bench-app-id', requestedPermissions: [{ streamId: 'diary', level: 'read' }] });

const run = (options) => new Promise((resolve, reject) => {
  autocannon({ connections: 20, duration: seconds, ...options }, (error, result) => (error ? reject(error) : resolve(result)));
});

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

const stats = (values) => {
  const sorted = [...values].sort((a, b) => a - b);
  const pick = (q) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))];
  return { mean: values.reduce((a, b) => a + b, 0) / values.length, p50: pick(0.5), p95: pick(0.95) };
};

try {
  const baseline = await run({ url: `${base}/healthz` });
  const create = await run({ url: `${base}/access`, method: 'POST', headers: { 'content-type': 'application/json' }, body });
  const pending = await createRequest('bench-poll-app');
  const poll = await run({ url: pending.poll });

  await page('/account/register');
  const registered = await page('/account/register', { username: 'bench-user', email: 'bench@example.test', password: 'bench password 1' });
  if (registered !== 303) throw new Error(`could not register the bench user (${registered})`);

  const waitLatencies = [];
  const plainLatencies = [];
  // Samples run a few at a time so the 1000 ms poller's sleep does not dominate the run time.
  for (let i = 0; i < samples; i += 5) {
    const batch = Array.from({ length: Math.min(5, samples - i) }, (_, j) => i + j);
    const results = await Promise.all(batch.flatMap((index) => [latency('wait', index), latency('plain', index)]));
    results.forEach((value, k) => (k % 2 === 0 ? waitLatencies : plainLatencies).push(value));
  }
  const wait = stats(waitLatencies);
  const plain = stats(plainLatencies);
  const rps = (result) => result.requests.average;
  const line = (name, value, unit, extra = '') => console.log(`${name.padEnd(44)} ${value.toFixed(1).padStart(10)} ${unit}${extra}`);
  console.log(`access door benchmark (${seconds} s per load run, 20 connections, ${samples} latency samples, SQLite)`);
  line('GET /healthz (baseline)', rps(baseline), 'req/s');
  line('POST /access', rps(create), 'req/s', `  ratio to baseline ${(rps(create) / rps(baseline)).toFixed(2)}, p99 ${create.latency.p99} ms, non-2xx ${create.non2xx}`);
  line('GET /access/:key (pending, 201)', rps(poll), 'req/s', `  ratio to baseline ${(rps(poll) / rps(baseline)).toFixed(2)}, p99 ${poll.latency.p99} ms`);
  line('approval -> poll, ?wait= long-poll (mean)', wait.mean, 'ms', `  p50 ${wait.p50.toFixed(1)}, p95 ${wait.p95.toFixed(1)}`);
  line('approval -> poll, 1000 ms polling (mean)', plain.mean, 'ms', `  p50 ${plain.p50.toFixed(1)}, p95 ${plain.p95.toFixed(1)}`);
  console.log(`long-poll learns of an approval ${(plain.mean / Math.max(wait.mean, 0.1)).toFixed(0)}x sooner than 1000 ms polling`);
} finally {
  await server.close();
  rmSync(dataDir, { recursive: true, force: true });
}
