// `node bench/support.js` (after `npm run build`): the support relay's code creation
// (POST /pairing/) and redirect (GET /pairing/:code -> 302) throughput, as a ratio to a bare
// Fastify baseline started in the same run (same shapes: a small JSON POST, a GET), so the ratios
// hold on a noisy machine; each row also gives the server's CPU time per request (from /proc), which
// moves less than req/s when other work shares the machine.
import { parseArgs } from 'node:util';
import { load, row } from './lib/measure.js';
import { startBaseline, startPairgate } from './lib/servers.js';
import { pinningNote } from './lib/pinning.js';

const { values: args } = parseArgs({
  options: {
    duration: { type: 'string', default: '5' },
    connections: { type: 'string', default: '50' },
    help: { type: 'boolean', default: false },
  },
});
if (args.help) {
  console.log('usage: node bench/support.js [--duration S] [--connections N]');
  process.exit(0);
}
const duration = Number(args.duration);
const connections = Number(args.connections);

// The relay alone, with its limits lifted so the benchmark measures throughput, not limits.
const RELAY = {
  PAIRGATE_RELAY_ONLY: 'true',
  PAIRGATE_RELAY_CREATE_MAX: '100000000',
  PAIRGATE_RELAY_MAX_LIVE_CODES: '100000000',
  PAIRGATE_RELAY_MAX_LIVE_CODES_PER_IP: '100000000',
};
const ORIGIN = { url: 'https://origin.example/pairing' };

async function publish(base) {
  const response = await fetch(`${base}/pairing/`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(ORIGIN) });
  if (!response.ok) throw new Error(`${response.status} ${await response.text()}`);
  return (await response.json()).code;
}

const bare = await startBaseline();
const relay = await startPairgate(RELAY);
try {
  console.log(`support relay throughput (${duration} s each, ${connections} connections; each server in its own process)`);
  console.log(pinningNote());
  const barePost = await load({ url: `${bare.url}/pairing/`, method: 'POST', body: ORIGIN, duration, connections, pid: bare.pid });
  const bareGet = await load({ url: `${bare.url}/pairing/abcdef`, duration, connections, pid: bare.pid });
  console.log(row('bare fastify POST (baseline)', barePost));
  console.log(row('bare fastify GET (baseline)', bareGet));
  const create = await load({ url: `${relay.url}/pairing/`, method: 'POST', body: ORIGIN, duration, connections, pid: relay.pid });
  console.log(row('POST /pairing/ (relay code)', create, barePost));
  const codes = await Promise.all(Array.from({ length: 200 }, () => publish(relay.url)));
  let next = 0;
  const redirect = await load({
    url: relay.url,
    duration,
    connections,
    pid: relay.pid,
    requests: [{ method: 'GET', setupRequest: (req) => ({ ...req, path: `/pairing/${codes[next++ % codes.length]}` }) }],
  });
  // autocannon counts the 302 answers as non-2xx: here they should equal the requests made.
  console.log(row('GET /pairing/:code (302; non-2xx = the 302s)', redirect, bareGet));
  console.log(`\nsupport relay: create ${((create.rps / barePost.rps) * 100).toFixed(0)}% of bare, redirect ${((redirect.rps / bareGet.rps) * 100).toFixed(0)}% of bare`);
} finally {
  await relay.stop();
  await bare.stop();
}
