import { createServer, type AddressInfo } from 'node:net';
import { describe, expect, it } from 'vitest';
import { formatDoctorReport, runDoctor, type DoctorReport } from '../../../src/doors/lan/doctor.js';

/**
 * `pairgate doctor` is for a person whose pairing does not work: a check that warns or fails says
 * what to try, in the report (text and JSON), not only what it found.
 */
describe('pairgate doctor: what to try', () => {
  it('a failed check carries a hint, printed under it as "try:"; checks that passed carry none', async () => {
    // A server address where nothing listens.
    const gone = createServer();
    await new Promise<void>((resolve) => gone.listen(0, '127.0.0.1', resolve));
    const { port } = gone.address() as AddressInfo;
    await new Promise<void>((resolve) => gone.close(() => resolve()));
    const report = await runDoctor({ server: `http://127.0.0.1:${port}`, discovery: false, checkTimeoutMs: 4000 });
    const server = report.checks.find((c) => c.name === 'server')!;
    expect(server.status).toBe('fail');
    expect(server.hint).toBe('Check the URL given with --server (or PAIRGATE_SERVER), that the server is running (pairgate serve), and that no firewall or proxy is in the way.');
    for (const check of report.checks.filter((c) => c.status === 'ok' || c.status === 'skip')) expect(check.hint).toBeUndefined();
    const text = formatDoctorReport(report);
    expect(text).toContain(`  FAIL  pairgate server reachability: pairgate server reachability failed\n        error: fetch failed: connect ECONNREFUSED 127.0.0.1:${port}\n        try: Check the URL given with --server`);
  });

  it('counts one warning as "1 warning"', () => {
    const report: DoctorReport = {
      version: 1, startedAt: '', finishedAt: '', host: { hostname: 'h', platform: 'p', node: 'n' }, ok: true,
      counts: { ok: 1, warn: 1, fail: 0, skip: 0 }, checks: [],
    };
    expect(formatDoctorReport(report)).toMatch(/\n1 ok, 1 warning, 0 failed, 0 skipped\.$/);
  });
});
