// Measurement helpers: autocannon runs and percentiles.
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import http from 'node:http';
import autocannon from 'autocannon';

/** Clock ticks per second of /proc's CPU times. */
const CLOCK_TICKS = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;

/** CPU seconds (user + system) process `pid` has used so far, from /proc. */
export function cpuSeconds(pid) {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
  return (Number(fields[11]) + Number(fields[12])) / CLOCK_TICKS;
}

/**
 * Runs autocannon (after a one-second warm-up, so the JIT has compiled the route) and returns
 * {rps, p50, p99, errors, non2xx}; with the server's `pid`, also `cpuUs`: the server's CPU time per
 * request, which moves less than req/s when other work shares the machine.
 */
export async function load({ url, method = 'GET', body, requests, duration, connections, warmup = 1, pid }) {
  const options = {
    url,
    method,
    connections,
    ...(body ? { body: JSON.stringify(body), headers: { 'content-type': 'application/json' } } : {}),
    ...(requests ? { requests } : {}),
  };
  if (warmup > 0) await autocannon({ ...options, duration: warmup });
  const cpuBefore = pid ? cpuSeconds(pid) : 0;
  const result = await autocannon({ ...options, duration });
  const cpuUs = pid && result.requests.total > 0 ? ((cpuSeconds(pid) - cpuBefore) * 1e6) / result.requests.total : undefined;
  return {
    cpuUs,
    rps: result.requests.average,
    p50: result.latency.p50,
    p99: result.latency.p99,
    errors: result.errors + result.timeouts,
    non2xx: result.non2xx,
  };
}

/** autocannon options for GET requests to `path(i)` on `url`, a new path for each request. */
export function rotatingPaths(url, path) {
  let next = 0;
  return { url, requests: [{ method: 'GET', setupRequest: (req) => ({ ...req, path: path(next++) }) }] };
}

/** The p-th percentile (0-100) of numbers. */
export function percentile(values, p) {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
}

/** Resident memory of a process in MiB, from /proc. */
export async function rssMiB(pid) {
  const { readFile } = await import('node:fs/promises');
  const status = await readFile(`/proc/${pid}/status`, 'utf8');
  const kb = Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 0);
  return kb / 1024;
}

/** Formats one row of the results table. */
export function row(name, m, baseline) {
  const ratio = baseline ? `${((m.rps / baseline.rps) * 100).toFixed(0)}%` : '-';
  const flags = m.errors || m.non2xx ? `  (errors ${m.errors}, non-2xx ${m.non2xx})` : '';
  const cpu = m.cpuUs === undefined ? '' : `  server CPU ${m.cpuUs.toFixed(0).padStart(4)} us/req`;
  return `${name.padEnd(34)} ${m.rps.toFixed(0).padStart(8)} req/s  p50 ${String(m.p50).padStart(4)} ms  p99 ${String(m.p99).padStart(4)} ms  vs bare ${ratio.padStart(5)}${cpu}${flags}`;
}

/**
 * A small JSON client over `node:http` with keep-alive sockets. The latency figures use it rather
 * than the global fetch: with ten workers, undici's fetch spent enough CPU in this process that its
 * own queueing doubled the measured p99 (12-19 ms against 5-12 ms for the same server), and a
 * benchmark must measure the server, not its client.
 */
export function jsonClient(base) {
  const agent = new http.Agent({ keepAlive: true, maxSockets: 64 });
  return function request(method, path, body) {
    return new Promise((resolve, reject) => {
      const payload = body === undefined ? undefined : JSON.stringify(body);
      const req = http.request(new URL(path, base), {
        method,
        agent,
        headers: payload === undefined ? {} : { 'content-type': 'application/json', 'content-length': Buffer.byteLength(payload) },
      });
      req.once('error', reject);
      req.once('response', (res) => {
        const chunks = [];
        res.on('data', (chunk) => chunks.push(chunk));
        res.once('error', reject);
        res.once('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          if (res.statusCode >= 400) reject(new Error(`${method} ${path}: ${res.statusCode} ${text}`));
          else resolve(JSON.parse(text));
        });
      });
      req.end(payload);
    });
  };
}
