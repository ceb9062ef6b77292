// `npm run bench:stores -- --store sqlite,postgres,redis [--nodes 2]`: the same requests against
// pairgate on each store adapter, side by side: grant creation, look-up by code and the wait
// endpoint, in req/s (p99 in ms). With --nodes 2, the shared stores (postgres, redis) are also run
// as two nodes behind a round-robin TCP proxy in this process, as a load balancer would spread them.
// PostgreSQL gets a database of its own and Redis a key prefix of its own, both removed afterwards.
import { randomBytes } from 'node:crypto';
import { connect, createServer } from 'node:net';
import { parseArgs } from 'node:util';
import pg from 'pg';
import { Redis } from 'ioredis';
import { load } from './lib/measure.js';
import { startPairgate } from './lib/servers.js';

const { values: args } = parseArgs({
  options: {
    store: { type: 'string', default: 'sqlite,postgres,redis' },
    nodes: { type: 'string', default: '1' },
    duration: { type: 'string', default: '5' },
    connections: { type: 'string', default: '50' },
    'pg-url': { type: 'string', default: process.env.PAIRGATE_BENCH_PG_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres' },
    'redis-url': { type: 'string', default: process.env.PAIRGATE_BENCH_REDIS_URL ?? 'redis://127.0.0.1:6379' },
    help: { type: 'boolean', default: false },
  },
});
if (args.help) {
  console.log('usage: npm run bench:stores -- [--store sqlite,postgres,redis] [--nodes 1|2] [--duration S] [--connections N] [--pg-url URL] [--redis-url URL]');
  process.exit(0);
}
const duration = Number(args.duration);
const connections = Number(args.connections);
const stores = args.store.split(',').map((s) => s.trim()).filter(Boolean);
for (const store of stores) {
  if (!['sqlite', 'postgres', 'redis'].includes(store)) throw new Error(`unknown store ${store}: use sqlite, postgres or redis`);
}
const nodes = Number(args.nodes);

/** A database of its own for the run: its URL and a function that drops it. */
async function benchDatabase() {
  const name = `pairgate_bench_${randomBytes(6).toString('hex')}`;
  const admin = new pg.Client({ connectionString: args['pg-url'] });
  await admin.connect();
  await admin.query(`CREATE DATABASE ${name}`);
  await admin.end();
  const url = new URL(args['pg-url']);
  url.pathname = `/${name}`;
  return {
    url: url.toString(),
    async drop() {
      const client = new pg.Client({ connectionString: args['pg-url'] });
      await client.connect();
      await client.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      await client.end();
    },
  };
}

/** A key prefix of its own for the run and a function that deletes its keys. */
function benchPrefix() {
  const prefix = `pairgate-bench:${randomBytes(6).toString('hex')}:`;
  return {
    prefix,
    async cleanup() {
      const redis = new Redis(args['redis-url']);
      let cursor = '0';
      do {
        const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 1000);
        cursor = next;
        if (keys.length > 0) await redis.del(...keys);
      } while (cursor !== '0');
      await redis.quit();
    },
  };
}

/** The environment that selects `store`, and what to remove afterwards. */
async function storeEnv(store) {
  if (store === 'postgres') {
    const database = await benchDatabase();
    return { env: { PAIRGATE_DATABASE_URL: database.url }, cleanup: () => database.drop() };
  }
  if (store === 'redis') {
    const { prefix, cleanup } = benchPrefix();
    return { env: { PAIRGATE_REDIS_URL: args['redis-url'], PAIRGATE_REDIS_PREFIX: prefix }, cleanup };
  }
  return { env: {}, cleanup: async () => {} };
}

/** A round-robin TCP proxy: each new connection goes to the next upstream, as a load balancer would. */
async function roundRobin(upstreams) {
  let next = 0;
  const sockets = new Set();
  const server = createServer((client) => {
    const target = new URL(upstreams[next++ % upstreams.length]);
    const upstream = connect(Number(target.port), target.hostname);
    for (const socket of [client, upstream]) {
      sockets.add(socket);
      socket.once('close', () => sockets.delete(socket));
      socket.on('error', () => {
        client.destroy();
        upstream.destroy();
      });
    }
    client.pipe(upstream).pipe(client);
  });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${server.address().port}`,
    async stop() {
      for (const socket of sockets) socket.destroy();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}

async function createGrant(base) {
  const response = await fetch(`${base}/api/v1/grants`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ label: 'bench' }) });
  if (!response.ok) throw new Error(`${response.status} ${await response.text()}`);
  return response.json();
}

/** Runs the three loads against `url`. */
async function measure(url) {
  const create = await load({ url: `${url}/api/v1/grants`, method: 'POST', body: { label: 'bench' }, duration, connections });
  const grants = await Promise.all(Array.from({ length: 200 }, () => createGrant(url)));
  let next = 0;
  const lookup = await load({
    url,
    duration,
    connections,
    requests: [{ method: 'GET', setupRequest: (req) => ({ ...req, path: `/api/v1/codes/${encodeURIComponent(grants[next++ % grants.length].code)}` }) }],
  });
  const wait = await load({
    url,
    duration,
    connections,
    requests: [{ method: 'GET', setupRequest: (req) => ({ ...req, path: `/api/v1/grants/${grants[next++ % grants.length].id}?wait=0` }) }],
  });
  return { create, lookup, wait };
}

/** Starts `count` nodes on one store, measures (behind the proxy when more than one), stops them. */
async function run(store, count) {
  const { env, cleanup } = await storeEnv(store);
  const started = [];
  let proxy;
  try {
    // One after the other: the first applies the migrations.
    // Several nodes need a core each: only a single node is pinned.
    for (let i = 0; i < count; i++) started.push(await startPairgate(env, { pin: count === 1 }));
    proxy = count > 1 ? await roundRobin(started.map((node) => node.url)) : undefined;
    return await measure(proxy ? proxy.url : started[0].url);
  } finally {
    await proxy?.stop();
    for (const node of started) await node.stop();
    await cleanup();
  }
}

const columns = [];
for (const store of stores) {
  console.error(`bench: ${store}, 1 node ...`);
  columns.push({ name: `${store}`, result: await run(store, 1) });
  if (nodes > 1 && store !== 'sqlite') {
    console.error(`bench: ${store}, ${nodes} nodes behind a round-robin proxy ...`);
    columns.push({ name: `${store} x${nodes}`, result: await run(store, nodes) });
  }
}

const cell = (m) => {
  const flag = m.errors || m.non2xx ? '!' : '';
  return `${m.rps.toFixed(0)} (${m.p99})${flag}`.padStart(18);
};
console.log(`\nreq/s (p99 ms) per store: ${duration} s each, ${connections} connections; ! = errors or non-2xx answers`);
console.log(`${''.padEnd(30)}${columns.map((c) => c.name.padStart(18)).join('')}`);
for (const [key, label] of [['create', 'POST /api/v1/grants'], ['lookup', 'GET /api/v1/codes/:code'], ['wait', 'GET /api/v1/grants/:id']]) {
  console.log(`${label.padEnd(30)}${columns.map((c) => cell(c.result[key])).join('')}`);
}
const base = columns[0];
if (columns.length > 1) {
  console.log(`\nratio to ${base.name}:`);
  for (const [key, label] of [['create', 'POST /api/v1/grants'], ['lookup', 'GET /api/v1/codes/:code'], ['wait', 'GET /api/v1/grants/:id']]) {
    console.log(`${label.padEnd(30)}${columns.map((c) => `${((c.result[key].rps / base.result[key].rps) * 100).toFixed(0)}%`.padStart(18)).join('')}`);
  }
}
