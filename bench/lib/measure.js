// Measurement helpers: autocannon runs and percentiles.
import autocannon from 'autocannon';

/** Runs autocannon (after a one-second warm-up, so the JIT has compiled the route) and returns {rps, p50, p99, errors, non2xx}. */
export async function load({ url, method = 'GET', body, requests, duration, connections, warmup = 1 }) {
  const options = {
    url,
    method,
    connections,
    ...(body ? { body: JSON.stringify(body), headers: { 'content-type': 'application/json' } } : {}),
    ...(requests ? { requests } : {}),
  };
  if (warmup > 0) await autocannon({ ...options, duration: warmup });
  const result = await autocannon({ ...options, duration });
  return {
    rps: result.requests.average,
    p50: result.latency.p50,
    p99: result.latency.p99,
    errors: result.errors + result.timeouts,
    non2xx: result.non2xx,
  };
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
  return `${name.padEnd(34)} ${m.rps.toFixed(0).padStart(8)} req/s  p50 ${String(m.p50).padStart(4)} ms  p99 ${String(m.p99).padStart(4)} ms  vs bare ${ratio.padStart(5)}${flags}`;
}
