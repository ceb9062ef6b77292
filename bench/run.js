// `npm run bench`: pairgate on its embedded default (SQLite) against a bare Fastify baseline started
// in the same run, so the ratios hold on a noisy machine. Prints req/s, p50/p99 and the ratio to
// the baseline for grant creation, look-up by code and the wait endpoint (creation also beside the
// floor, lib/floor-server.js); the approval-to-waiter latency over 1000 grants (after 200
// unmeasured ones), beside a bare round trip under the same client pattern; and resident memory
// per 100k live grants.
import { spawnSync } from 'node:child_process';
import { parseArgs } from 'node:util';
import { jsonClient, load, percentile, rotatingPaths, row, rssMiB } from './lib/measure.js';
import { startBaseline, startFloor, startPairgate } from './lib/servers.js';
import { pinningNote } from './lib/pinning.js';

const { values: args } = parseArgs({
  options: {
    duration: { type: 'string', default: '5' },
    rounds: { type: 'string', default: '5' },
    connections: { type: 'string', default: '50' },
    waiters: { type: 'string', default: '1000' },
    'approval-warmup': { type: 'string', default: '200' },
    'live-grants': { type: 'string', default: '100000' },
    store: { type: 'string' },
    nodes: { type: 'string' },
    help: { type: 'boolean', default: false },
  },
});
if (args.help) {
  console.log('usage: npm run bench -- [--duration S] [--rounds N] [--connections N] [--waiters N] [--approval-warmup N] [--live-grants N]');
  console.log('       --waiters: approvals measured (default 1000), after --approval-warmup unmeasured ones (default 200)');
  console.log('       each ratio is the median of N rounds (default 5) of baseline and pairgate run back to back, the order reversed every other round');
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
const rounds = Math.max(1, Number(args.rounds));
const connections = Number(args.connections);
const approvalWarmup = Math.max(0, Number(args['approval-warmup']));
/** Approvals (and bare round trips) in flight at once in the latency measurement. */
const APPROVAL_CONCURRENCY = 10;

async function json(response) {
  if (!response.ok) throw new Error(`${response.status} ${await response.text()}`);
  return response.json();
}

async function createGrant(base, label = 'bench') {
  return json(await fetch(`${base}/api/v1/grants`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ label }) }));
}

/** The run whose req/s is the median of `runs`. */
function median(runs) {
  return [...runs].sort((a, b) => a.rps - b.rps)[Math.floor(runs.length / 2)];
}

/** The median of numbers. */
function medianOf(values) {
  return [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)];
}

/** Per-round ratios as percentages, for the line that shows their spread. */
function percentages(values) {
  return values.map((value) => `${(value * 100).toFixed(0)}%`).join(' ');
}

/**
 * One load shape, run against the bare baseline and then pairgate, so that both servers get the
 * same requests from the same client: paths that change per request cost autocannon more than a
 * fixed one, and that cost must not count against either server. The servers take turns for
 * `rounds` rounds, in the reverse order every other round, and each round's pairgate figure is
 * divided by the same round's baseline: the ratio reported is the median of those paired ratios.
 * A shared machine's speed drifts by half from one minute to the next, and a ratio of two medians
 * could take bare's from a fast minute and pairgate's from a slow one; a pair ran seconds apart.
 * Returns pairgate's ratio to bare, and the floor's when the floor ran too.
 */
async function pair(name, bare, pairgate, shape, floor) {
  const baselines = [];
  const floors = [];
  const measured = [];
  for (let round = 0; round < rounds; round++) {
    const turns = [[bare, baselines], ...(floor ? [[floor, floors]] : []), [pairgate, measured]];
    if (round % 2 === 1) turns.reverse();
    for (const [server, results] of turns) results.push(await load({ ...shape(server.url), duration, connections, pid: server.pid }));
  }
  const paired = (results, i, by) => (by === 'cpu' ? baselines[i].cpuUs / results[i].cpuUs : results[i].rps / baselines[i].rps);
  const ratios = measured.map((_, i) => paired(measured, i));
  const cpuRatios = measured.map((_, i) => paired(measured, i, 'cpu'));
  const floorRatios = floors.map((_, i) => paired(floors, i));
  console.log(row(`  bare fastify, same requests`, median(baselines)));
  if (floor) printFloor(median(floors), median(baselines), floorRatios, floors.map((_, i) => paired(floors, i, 'cpu')), floors.map((f, i) => measured[i].rps / f.rps));
  console.log(row(name, median(measured), median(baselines)));
  // The same comparison by server CPU per request (one core's capacity), steadier on a busy machine.
  console.log(`  ${''.padEnd(32)} paired rounds: ${percentages(ratios)} -> ${(medianOf(ratios) * 100).toFixed(0)}% of bare; by server CPU per request ${(medianOf(cpuRatios) * 100).toFixed(0)}%`);
  return { ratio: medianOf(ratios), floorRatio: floor ? medianOf(floorRatios) : undefined };
}

/**
 * The creation floor's row (bench/lib/floor-server.js), its paired ratios to bare (by req/s and by
 * CPU), and where pairgate stands between it and bare (pairgate's rate over the floor's, per round).
 */
function printFloor(floorRun, baselineRun, ratios, cpuRatios, pairgateOverFloor) {
  console.log(row('  floor: required parts only', floorRun, baselineRun));
  console.log(`  ${''.padEnd(32)} paired rounds: ${percentages(ratios)} -> ${(medianOf(ratios) * 100).toFixed(0)}% of bare; by server CPU per request ${(medianOf(cpuRatios) * 100).toFixed(0)}%; pairgate is at ${(medianOf(pairgateOverFloor) * 100).toFixed(0)}% of the floor`);
}

async function throughput(pairgate, bare, floor) {
  console.log(`\nthroughput (${rounds} rounds of ${duration} s per server, ${connections} connections; autocannon in another process; rows show the median round)`);
  console.log(pinningNote());
  console.log('each pairgate route runs beside the bare Fastify baseline with the same requests, round by round; each ratio is the median of the rounds\' ratios');
  console.log('creation also runs the floor: Fastify with only the parts every creation requires (security headers, rate limit,');
  console.log('schemas, random code/id/secret and their hashes, one SQLite row in group commits): no engine, no uniqueness, no cache');
  const create = await pair('POST /api/v1/grants (create)', bare, pairgate, (url) => ({ url: `${url}/api/v1/grants`, method: 'POST', body: { label: 'bench' } }), floor);

  const codes = await Promise.all(Array.from({ length: 200 }, () => createGrant(pairgate.url).then((g) => g.code)));
  const lookup = await pair('GET /api/v1/codes/:code (look-up)', bare, pairgate, (url) => rotatingPaths(url, (i) => `/api/v1/codes/${codes[i % codes.length]}`));

  const ids = await Promise.all(Array.from({ length: 200 }, () => createGrant(pairgate.url).then((g) => g.id)));
  await pair('GET /api/v1/grants/:id (wait endpoint)', bare, pairgate, (url) => rotatingPaths(url, (i) => `/api/v1/grants/${ids[i % ids.length]}?wait=0`));
  return { create, lookup };
}

/**
 * The same client pattern against the bare baseline: each of ten workers sends a request, pauses
 * 5 ms as the approval loop does, and times one more request's round trip. On a shared machine a
 * bare round trip's p99 alone moves by several milliseconds (a sleeping virtual CPU wakes late), so
 * the approval's figures are printed beside this one, measured in the same run.
 */
async function bareRoundTrip(bare, count) {
  const request = jsonClient(bare.url);
  await bareRounds(request, approvalWarmup);
  const latencies = await bareRounds(request, count);
  return { p50: percentile(latencies, 50), p99: percentile(latencies, 99) };
}

/** `count` of the bare round trips `bareRoundTrip` describes; returns their latencies in ms. */
async function bareRounds(request, count) {
  const latencies = [];
  let done = 0;
  async function worker() {
    while (done < count) {
      done++;
      await request('POST', '/api/v1/grants', { label: 'bench' });
      await new Promise((resolve) => setTimeout(resolve, 5));
      const sent = performance.now();
      await request('POST', '/api/v1/codes/approve', {});
      latencies.push(performance.now() - sent);
    }
  }
  await Promise.all(Array.from({ length: APPROVAL_CONCURRENCY }, worker));
  return latencies;
}

/** The server's garbage collections so far by kind (major, minor, ...): {count, ms}, from /metrics. */
async function gcTotals(base) {
  const text = await (await fetch(`${base}/metrics`)).text();
  const totals = {};
  for (const [, stat, kind, value] of text.matchAll(/^pairgate_nodejs_gc_duration_seconds_(sum|count)\{kind="(\w+)"\} (\S+)$/gm)) {
    totals[kind] ??= { count: 0, ms: 0 };
    if (stat === 'sum') totals[kind].ms = Number(value) * 1000;
    else totals[kind].count = Number(value);
  }
  return totals;
}

/** The collections between two gcTotals readings, in words. */
function gcBetween(before, after) {
  return ['major', 'minor']
    .map((kind) => {
      const count = (after[kind]?.count ?? 0) - (before[kind]?.count ?? 0);
      const ms = (after[kind]?.ms ?? 0) - (before[kind]?.ms ?? 0);
      return `${kind} ${count} (${ms.toFixed(1)} ms in all)`;
    })
    .join(', ');
}

/**
 * `count` approvals, 10 at a time: each round, a client long-polls a pending grant, the approval is
 * sent 5 ms later (so the long-poll has arrived), and the time from sending the approval to the
 * waiter's answer is recorded: the latency a user feels. Returns the latencies in ms.
 */
async function approvals(request, count) {
  const latencies = [];
  let done = 0;
  async function worker() {
    while (done < count) {
      done++;
      const grant = await request('POST', '/api/v1/grants', { label: 'bench' });
      const waiter = request('GET', `/api/v1/grants/${grant.id}?wait=30&since=1`).then(() => performance.now());
      await new Promise((resolve) => setTimeout(resolve, 5)); // let the long-poll arrive first
      const sent = performance.now();
      await request('POST', `/api/v1/codes/${grant.code}/approve`, {});
      latencies.push((await waiter) - sent);
    }
  }
  await Promise.all(Array.from({ length: APPROVAL_CONCURRENCY }, worker));
  return latencies;
}

async function approvalLatency(pairgate, bare, count) {
  const request = jsonClient(pairgate.url);
  // The throughput rows never approve, so the approval's code is cold here: unmeasured approvals
  // first, as each throughput row has its warm-up second, so that the figure is a running server's
  // and not the compiler's first minutes (a cold first 1000 had a p99 1.2-2 times a warm one's).
  await approvals(request, approvalWarmup);
  const gcBefore = await gcTotals(pairgate.url);
  const latencies = await approvals(request, count);
  const p50 = percentile(latencies, 50);
  const p99 = percentile(latencies, 99);
  console.log(`\napproval -> waiting client answered, over ${latencies.length} grants (${APPROVAL_CONCURRENCY} at a time, after ${approvalWarmup} unmeasured): p50 ${p50.toFixed(2)} ms, p99 ${p99.toFixed(2)} ms (target p99 < 20 ms)`);
  // A full collection stops the server for its final pause, which every answer due then waits out.
  console.log(`  the server's garbage collections meanwhile: ${gcBetween(gcBefore, await gcTotals(pairgate.url))}`);
  const round = await bareRoundTrip(bare, count);
  console.log(`  a bare Fastify round trip, same client pattern, same run: p50 ${round.p50.toFixed(2)} ms, p99 ${round.p99.toFixed(2)} ms`);
  return p99;
}

async function heapUsedMiB(base) {
  const text = await (await fetch(`${base}/metrics`)).text();
  return Number(/^pairgate_nodejs_heap_size_used_bytes (\S+)$/m.exec(text)?.[1] ?? 0) / 1024 / 1024;
}

async function memoryPerLiveGrants(count) {
  const server = await startPairgate({}, { inspect: true });
  try {
    // Measured after a full GC each time: what the grants keep, not the garbage their requests left.
    await server.collectGarbage();
    const rssBefore = await rssMiB(server.pid);
    const heapBefore = await heapUsedMiB(server.url);
    const batch = 100;
    for (let made = 0; made < count; made += batch) {
      await Promise.all(Array.from({ length: Math.min(batch, count - made) }, () => createGrant(server.url)));
      if (made % 10000 === 0) process.stderr.write(`  ${made}/${count} live grants\r`);
    }
    await server.collectGarbage();
    const rssAfter = await rssMiB(server.pid);
    const heapAfter = await heapUsedMiB(server.url);
    const scale = 100_000 / count;
    console.log(
      `\nmemory with ${count} live grants, after a full GC: resident ${rssBefore.toFixed(0)} -> ${rssAfter.toFixed(0)} MiB ` +
        `(${((rssAfter - rssBefore) * scale).toFixed(0)} MiB per 100k), JS heap in use ${heapBefore.toFixed(0)} -> ${heapAfter.toFixed(0)} MiB ` +
        `(${((heapAfter - heapBefore) * scale).toFixed(0)} MiB per 100k). Grants live in SQLite: resident memory holds its page cache and the heap pages V8 keeps after the load.`,
    );
  } finally {
    await server.stop();
  }
}

const bare = await startBaseline();
const floor = await startFloor();
const pairgate = await startPairgate();
try {
  const ratios = await throughput(pairgate, bare, floor);
  const p99 = await approvalLatency(pairgate, bare, Number(args.waiters));
  // The floor's own ratio bounds what any implementation of the required work reaches on this machine.
  const floorNote = `; the floor reaches ${(ratios.create.floorRatio * 100).toFixed(0)}%`;
  console.log(`\ntargets: create ${(ratios.create.ratio * 100).toFixed(0)}% of bare (>= 50%${floorNote}), look-up ${(ratios.lookup.ratio * 100).toFixed(0)}% of bare (>= 50%), approval p99 ${p99.toFixed(1)} ms (< 20 ms)`);
} finally {
  await pairgate.stop();
  await floor.stop();
  await bare.stop();
}
await memoryPerLiveGrants(Number(args['live-grants']));
