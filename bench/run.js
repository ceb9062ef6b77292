// `npm run bench`: pairgate on its embedded default (SQLite) against a bare Fastify baseline started
// in the same run, so the ratios hold on a noisy machine. Prints req/s, p50/p99 and the ratio to
// the baseline for grant creation, look-up by code and the wait endpoint; the approval-to-waiter
// latency over 1000 grants; and resident memory per 100k live grants.
import { spawnSync } from 'node:child_process';
import { parseArgs } from 'node:util';
import { load, percentile, row, rssMiB } from './lib/measure.js';
import { startBaseline, startPairgate } from './lib/servers.js';

const { values: args } = parseArgs({
  options: {
    duration: { type: 'string', default: '5' },
    connections: { type: 'string', default: '50' },
    waiters: { type: 'string', default: '1000' },
    'live-grants': { type: 'string', default: '100000' },
    store: { type: 'string' },
    nodes: { type: 'string' },
    help: { type: 'boolean', default: false },
  },
});
if (args.help) {
  console.log('usage: npm run bench -- [--duration S] [--connections N] [--waiters N] [--live-grants N]');
  console.log('       npm run bench -- --store sqlite,postgres,redis [--nodes 2]   (the stores side by side: bench/stores.js)');
  process.exit(0);
}
if (args.store || args.nodes) {
  // The store comparison has a harness of its own; hand the options over.
  const passed = ['--duration', args.duration, '--connections', args.connections];
  if (args.store) passed.push('--store', args.store);
  if (args.nodes) passed.push('--nodes', args.nodes);
  const result = spawnSync(process.execPath, [new URL('./stores.js', import.meta.url).pathname, ...passed], { stdio: 'inherit' });
  process.exit(result.status ?? 1);
}
const duration = Number(args.duration);
const connections = Number(args.connections);

async function json(response) {
  if (!response.ok) throw new Error(`${response.status} ${await response.text()}`);
  return response.json();
}

async function createGrant(base, label = 'bench') {
  return json(await fetch(`${base}/api/v1/grants`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ label }) }));
}

async function throughput(pairgate, bare) {
  console.log(`\nthroughput (${duration} s each, ${connections} connections; server on one core, autocannon in another process)`);
  const bareGet = await load({ url: `${bare.url}/x`, duration, connections });
  const barePost = await load({ url: `${bare.url}/x`, method: 'POST', body: { label: 'bench' }, duration, connections });
  console.log(row('bare fastify GET (baseline)', bareGet));
  console.log(row('bare fastify POST (baseline)', barePost));

  const create = await load({ url: `${pairgate.url}/api/v1/grants`, method: 'POST', body: { label: 'bench' }, duration, connections });
  console.log(row('POST /api/v1/grants (create)', create, barePost));

  const codes = await Promise.all(Array.from({ length: 200 }, () => createGrant(pairgate.url).then((g) => g.code)));
  let next = 0;
  const lookup = await load({
    url: pairgate.url,
    duration,
    connections,
    requests: [{ method: 'GET', setupRequest: (req) => ({ ...req, path: `/api/v1/codes/${codes[next++ % codes.length]}` }) }],
  });
  console.log(row('GET /api/v1/codes/:code (look-up)', lookup, bareGet));

  const ids = await Promise.all(Array.from({ length: 200 }, () => createGrant(pairgate.url).then((g) => g.id)));
  const wait = await load({
    url: pairgate.url,
    duration,
    connections,
    requests: [{ method: 'GET', setupRequest: (req) => ({ ...req, path: `/api/v1/grants/${ids[next++ % ids.length]}?wait=0` }) }],
  });
  console.log(row('GET /api/v1/grants/:id (wait endpoint)', wait, bareGet));
  return { create: create.rps / barePost.rps, lookup: lookup.rps / bareGet.rps };
}

async function approvalLatency(pairgate, count) {
  // Each round: a client long-polls a pending grant; the approval is sent; the time from sending
  // the approval to the waiter's answer is the latency a user feels.
  const latencies = [];
  const concurrency = 10;
  let done = 0;
  async function worker() {
    while (done < count) {
      done++;
      const grant = await createGrant(pairgate.url);
      const waiter = fetch(`${pairgate.url}/api/v1/grants/${grant.id}?wait=30&since=1`).then(async (r) => {
        await r.json();
        return performance.now();
      });
      await new Promise((resolve) => setTimeout(resolve, 5)); // let the long-poll arrive first
      const sent = performance.now();
      await json(await fetch(`${pairgate.url}/api/v1/codes/${grant.code}/approve`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' }));
      latencies.push((await waiter) - sent);
    }
  }
  await Promise.all(Array.from({ length: concurrency }, worker));
  const p50 = percentile(latencies, 50);
  const p99 = percentile(latencies, 99);
  console.log(`\napproval -> waiting client answered, over ${latencies.length} grants: p50 ${p50.toFixed(2)} ms, p99 ${p99.toFixed(2)} ms (target p99 < 20 ms)`);
  return p99;
}

async function heapUsedMiB(base) {
  const text = await (await fetch(`${base}/metrics`)).text();
  return Number(/^pairgate_nodejs_heap_size_used_bytes (\S+)$/m.exec(text)?.[1] ?? 0) / 1024 / 1024;
}

async function memoryPerLiveGrants(count) {
  const server = await startPairgate();
  try {
    const rssBefore = await rssMiB(server.pid);
    const heapBefore = await heapUsedMiB(server.url);
    const batch = 100;
    for (let made = 0; made < count; made += batch) {
      await Promise.all(Array.from({ length: Math.min(batch, count - made) }, () => createGrant(server.url)));
      if (made % 10000 === 0) process.stderr.write(`  ${made}/${count} live grants\r`);
    }
    const rssAfter = await rssMiB(server.pid);
    const heapAfter = await heapUsedMiB(server.url);
    const scale = 100_000 / count;
    console.log(
      `\nmemory with ${count} live grants: resident ${rssBefore.toFixed(0)} -> ${rssAfter.toFixed(0)} MiB ` +
        `(${((rssAfter - rssBefore) * scale).toFixed(0)} MiB per 100k), JS heap in use ${heapBefore.toFixed(0)} -> ${heapAfter.toFixed(0)} MiB ` +
        `(${((heapAfter - heapBefore) * scale).toFixed(0)} MiB per 100k). Grants live in SQLite, so resident memory includes its page cache and uncollected garbage.`,
    );
  } finally {
    await server.stop();
  }
}

const bare = await startBaseline();
const pairgate = await startPairgate();
try {
  const ratios = await throughput(pairgate, bare);
  const p99 = await approvalLatency(pairgate, Number(args.waiters));
  console.log(`\ntargets: create ${(ratios.create * 100).toFixed(0)}% of bare (>= 50%), look-up ${(ratios.lookup * 100).toFixed(0)}% of bare (>= 50%), approval p99 ${p99.toFixed(1)} ms (< 20 ms)`);
} finally {
  await pairgate.stop();
  await bare.stop();
}
await memoryPerLiveGrants(Number(args['live-grants']));
