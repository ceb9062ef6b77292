import type { DoctorReport } from '../../src/doors/lan/doctor.js';

/** A report as `pairgate join`'s /diag sends it (the doctor's), with a failed and a skipped check. */
export function sampleReport(): DoctorReport {
  return {
    version: 1,
    startedAt: '2026-01-01T00:00:00.000Z',
    finishedAt: '2026-01-01T00:00:03.000Z',
    host: { hostname: 'pc-of-joe', platform: 'linux-x64', node: '20.0.0' },
    ok: false,
    counts: { ok: 2, warn: 0, fail: 1, skip: 1 },
    checks: [
      { name: 'interfaces', title: 'network interfaces', status: 'ok', summary: 'up: eth0', details: [{ name: 'eth0', state: 'up', addresses: ['192.168.1.20/24'] }], durationMs: 3 },
      { name: 'own-addresses', title: 'own IP addresses', status: 'ok', summary: '192.168.1.20', durationMs: 40 },
      { name: 'server', title: 'pairgate server reachability', status: 'fail', summary: 'pairgate server reachability failed', error: 'fetch failed: connect ECONNREFUSED 10.0.0.1:443', hint: 'Check the URL given with --server.', durationMs: 5 },
      { name: 'dns', title: 'DNS', status: 'skip', summary: 'no pairgate server configured', durationMs: 0 },
    ],
  };
}

/** What `session attach` prints for `sampleReport()` (after its "Diagnostics from the agent:" line). */
export const SAMPLE_TEXT = [
  'pairgate doctor on pc-of-joe (linux-x64, node 20.0.0)',
  '  OK    network interfaces: up: eth0',
  '  OK    own IP addresses: 192.168.1.20',
  '  FAIL  pairgate server reachability: pairgate server reachability failed',
  '        error: fetch failed: connect ECONNREFUSED 10.0.0.1:443',
  '        try: Check the URL given with --server.',
  '  SKIP  DNS: no pairgate server configured',
  '2 ok, 0 warnings, 1 failed, 1 skipped.',
  'Each check\'s details (interfaces and their addresses, devices heard...): attach with --json.',
].join('\n');
