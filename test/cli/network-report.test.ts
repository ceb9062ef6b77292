import { describe, expect, it } from 'vitest';
import { fitReport } from '../../src/cli/network-report.js';
import type { DoctorReport } from '../../src/doors/lan/doctor.js';
import { MAX_REPORT } from '../../src/doors/support/channel-limits.js';
import { sampleReport } from './sample-report.js';

/** A doctor report with `devices` devices heard by the multicast check (a busy network). */
function reportOf(devices: number): DoctorReport {
  const othersHeard = Array.from({ length: devices }, (_, i) => ({ address: `192.168.1.${i % 250}`, deviceId: `device-${i}-${'x'.repeat(20)}`, authenticated: false }));
  return {
    ...sampleReport(),
    counts: { ok: 1, warn: 0, fail: 1, skip: 0 },
    checks: [
      { name: 'multicast', title: 'multicast discovery', status: 'ok', summary: `heard ${devices} other devices`, details: { othersHeard }, durationMs: 1500 },
      { name: 'server', title: 'pairgate server reachability', status: 'fail', summary: 's'.repeat(2000), error: 'e'.repeat(2000), durationMs: 5 },
    ],
  };
}

describe('the diagnostics report of pairgate join (/diag)', () => {
  it('is the doctor report as is when it fits the session channel', () => {
    const report = reportOf(3);
    expect(fitReport(report, MAX_REPORT)).toBe(report);
  });

  it('drops the checks\' details (summaries stay, cut) when it would not fit, and says so', () => {
    const report = reportOf(2000);
    expect(JSON.stringify(report).length).toBeGreaterThan(MAX_REPORT);
    const fitted = fitReport(report, MAX_REPORT) as unknown as DoctorReport & { trimmed: boolean };
    expect(JSON.stringify(fitted).length).toBeLessThanOrEqual(MAX_REPORT);
    expect(fitted.trimmed).toBe(true);
    expect(fitted.host).toEqual(report.host);
    expect(fitted.counts).toEqual(report.counts);
    expect(fitted.checks.map((check) => check.name)).toEqual(['multicast', 'server']);
    expect(fitted.checks.every((check) => check.details === undefined)).toBe(true);
    expect(fitted.checks[0]!.summary).toBe('heard 2000 other devices');
    expect(fitted.checks[1]!.summary).toHaveLength(500);
    expect(fitted.checks[1]!.error).toHaveLength(500);
  });
});
