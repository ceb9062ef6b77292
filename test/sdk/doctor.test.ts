import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { formatDoctorReport, runDoctor, type DoctorReport } from '../../src/sdk/index.js';
import { createTestApp, type TestApp } from '../helpers/app.js';
import { freePort } from '../helpers/ports.js';

// Multicast only on loopback, on a port no other test file of the run holds.
const discovery = { interfaceAddress: '127.0.0.1', port: await freePort() };

describe('doctor from the SDK (what the support agent sends)', () => {
  let t: TestApp;
  let server: string;
  beforeAll(async () => {
    t = await createTestApp();
    server = await t.listen();
  });
  afterAll(() => t.close());

  it('runs every check in series, logs each as it runs, and returns a JSON-safe report', async () => {
    const logged: string[] = [];
    const report = await runDoctor({ server, discovery, multicastWaitMs: 400, log: (line) => logged.push(line) });
    const copy = JSON.parse(JSON.stringify(report)) as DoctorReport;
    expect(copy).toEqual(report);
    expect(report.checks.map((c) => c.name)).toEqual(['interfaces', 'own-addresses', 'listener', 'self-reach', 'multicast', 'dns', 'server']);
    const status = Object.fromEntries(report.checks.map((c) => [c.name, c.status]));
    // The server is given by its IP address: nothing to look up, so the DNS check is skipped.
    expect(status).toMatchObject({ listener: 'ok', multicast: 'ok', dns: 'skip', server: 'ok' });
    // Logged in order: "checking X..." then "[status] X: ...", for every check.
    expect(logged.filter((l) => l.startsWith('checking '))).toHaveLength(7);
    expect(logged.filter((l) => /^\[(ok|warn|fail|skip)\] /.test(l))).toHaveLength(7);
    expect(formatDoctorReport(report)).toMatch(/OK +pairgate server reachability: .*\/healthz answered 200/);
  });

  it('a failing check does not stop the others, and the report says it failed', async () => {
    const report = await runDoctor({ server: 'http://127.0.0.1:1', discovery, multicastWaitMs: 300 });
    expect(report.checks).toHaveLength(7);
    const serverCheck = report.checks.find((c) => c.name === 'server')!;
    expect(serverCheck.status).toBe('fail');
    expect(serverCheck.error).toBeTruthy();
    expect(report.ok).toBe(false);
    expect(report.counts.fail).toBeGreaterThanOrEqual(1);
  });
});
