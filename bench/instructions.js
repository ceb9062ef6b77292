// `npm run bench:instructions`: the cost of creation, look-up by code and the wait endpoint as
// instructions per request, counted by valgrind's callgrind in the server process, for pairgate,
// the bare Fastify baseline and (creation) the floor (lib/floor-server.js). Unlike req/s and CPU
// time, an instruction count does not move with the machine's speed or with other work on it; a
// window that holds a full garbage collection still counts more, so a difference under about 10%
// wants a second run (or larger windows, --requests). It does not see time spent
// in the kernel or waiting on memory, so it complements `npm run bench`, which stays the measure of
// the targets. Each server runs under callgrind, about fifty times slower: expect a few minutes.
// Work pairgate does by the clock rather than per request weighs that much more per request here:
// until 3 December 2026 the grant engine's live count was a scan of every live grant once a second,
// which added some 30,000 to 75,000 instructions to pairgate's creation figure; the SQLite store now
// keeps that count in memory (src/store/sqlite/live-counts.ts).
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import autocannon from 'autocannon';
import { jsonClient, rotatingPaths } from './lib/measure.js';
import { startBaseline, startFloor, startPairgate } from './lib/servers.js';

const { values: args } = parseArgs({
  options: {
    requests: { type: 'string', default: '2000' },
    connections: { type: 'string', default: '10' },
    help: { type: 'boolean', default: false },
  },
});
if (args.help) {
  console.log('usage: npm run bench:instructions -- [--requests N] [--connections N]');
  console.log('       instructions per request (valgrind callgrind) of pairgate, the bare baseline and the creation floor;');
  console.log('       each route is warmed up with 2N requests, then windows of N requests are counted until two in a row');
  console.log('       agree within 5% (at most 6; default N 2000, 10 connections)');
  process.exit(0);
}
const requests = Number(args.requests);
/** Two windows in a row within this fraction of each other: the count has settled. */
const SETTLED = 0.05;
/** Windows counted at most for one server and route. */
const MAX_WINDOWS = 6;
const connections = Number(args.connections);

try {
  execFileSync('valgrind', ['--version'], { stdio: 'ignore' });
  execFileSync('callgrind_control', ['--version'], { stdio: 'ignore' });
} catch {
  console.error('bench:instructions needs valgrind and callgrind_control (Debian: apt-get install valgrind)');
  process.exit(1);
}

const outDir = mkdtempSync(join(tmpdir(), 'pairgate-callgrind-'));
/** valgrind's arguments: callgrind, counting only between `instrumentation on` and `off`. */
const CALLGRIND = ['valgrind', '--tool=callgrind', '--instr-atstart=no', `--callgrind-out-file=${join(outDir, 'callgrind.%p')}`];

function callgrindControl(pid, ...options) {
  execFileSync('callgrind_control', [...options, String(pid)], { stdio: 'ignore' });
}

/** Instructions counted in the newest dump of process `pid`. */
function newestDumpTotal(pid) {
  const dumps = readdirSync(outDir).filter((name) => name.startsWith(`callgrind.${pid}.`));
  const newest = dumps.sort((a, b) => Number(a.split('.').pop()) - Number(b.split('.').pop())).at(-1);
  const total = newest && /^totals: (\d+)/m.exec(readFileSync(join(outDir, newest), 'utf8'));
  if (!total) throw new Error(`callgrind wrote no totals for process ${pid}`);
  return Number(total[1]);
}

/** Instructions per request of one window of N requests of `shape` on `server`. */
async function countWindow(server, options) {
  callgrindControl(server.pid, '--zero');
  callgrindControl(server.pid, '--instr=on');
  const result = await autocannon({ ...options, amount: requests });
  callgrindControl(server.pid, '--instr=off');
  callgrindControl(server.pid, '--dump');
  const failed = result.errors + result.timeouts + result.non2xx;
  if (failed > 0) throw new Error(`${failed} of ${result.requests.total} requests to ${options.url} failed`);
  return newestDumpTotal(server.pid) / result.requests.total;
}

/**
 * Instructions per request of `shape` on `server`, once the count has settled: after 2N requests of
 * warm-up, windows of N requests are counted until two in a row agree within SETTLED (at most
 * MAX_WINDOWS). Under valgrind, V8's optimising compiler and the garbage collector share the one
 * thread valgrind runs at a time, so the first windows count code not yet optimised.
 */
async function instructionsPerRequest(server, shape) {
  const options = { ...shape(server.url), connections, timeout: 120 };
  await autocannon({ ...options, amount: requests * 2 });
  let previous = await countWindow(server, options);
  for (let window = 2; window <= MAX_WINDOWS; window++) {
    const count = await countWindow(server, options);
    if (Math.abs(count - previous) / previous <= SETTLED) return { count, settled: true };
    previous = count;
  }
  return { count: previous, settled: false };
}

/** Prints one server's count (and its ratio to the bare one's); returns the count. */
function printRow(name, { count, settled }, bare) {
  const ratio = bare === undefined ? '' : `  ${(count / bare).toFixed(2)} x bare`;
  const note = settled ? '' : `  (not settled within ${MAX_WINDOWS} windows: compare with care)`;
  console.log(`  ${name.padEnd(22)} ${Math.round(count).toLocaleString('en').padStart(9)} instructions/request${ratio}${note}`);
  return count;
}

const create = (url) => ({ url: `${url}/api/v1/grants`, method: 'POST', body: JSON.stringify({ label: 'bench' }), headers: { 'content-type': 'application/json' } });
const wrap = { wrap: CALLGRIND };
console.log(`instructions per request (callgrind; windows of ${requests} requests after ${requests * 2} of warm-up, until two agree within ${SETTLED * 100}%; ${connections} connections)`);
process.stderr.write('starting the servers under valgrind (a minute or so)...\n');
const [bare, floor, pairgate] = await Promise.all([startBaseline(wrap), startFloor(wrap), startPairgate({}, wrap)]);
const stopAll = () => Promise.all([bare.stop(), floor.stop(), pairgate.stop()]).finally(() => rmSync(outDir, { recursive: true, force: true }));
// Interrupted, the servers under valgrind are stopped too rather than left running.
process.once('SIGINT', () => {
  stopAll().finally(() => process.exit(130));
});
try {
  process.stderr.write('counting creation...\n');
  console.log('POST /api/v1/grants (create)');
  const bareCreate = printRow('bare fastify', await instructionsPerRequest(bare, create));
  printRow('floor', await instructionsPerRequest(floor, create), bareCreate);
  printRow('pairgate', await instructionsPerRequest(pairgate, create), bareCreate);

  const client = jsonClient(pairgate.url);
  const grants = await Promise.all(Array.from({ length: 200 }, () => client('POST', '/api/v1/grants', { label: 'bench' })));
  const routes = [
    ['GET /api/v1/codes/:code (look-up)', (url) => rotatingPaths(url, (i) => `/api/v1/codes/${grants[i % grants.length].code}`)],
    ['GET /api/v1/grants/:id (wait endpoint)', (url) => rotatingPaths(url, (i) => `/api/v1/grants/${grants[i % grants.length].id}?wait=0`)],
  ];
  for (const [name, shape] of routes) {
    process.stderr.write(`counting ${name}...\n`);
    console.log(name);
    const bareCount = printRow('bare fastify', await instructionsPerRequest(bare, shape));
    printRow('pairgate', await instructionsPerRequest(pairgate, shape), bareCount);
  }
} finally {
  await stopAll();
}
