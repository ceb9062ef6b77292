import { createServer, type AddressInfo } from 'node:net';
import { describe, expect, it } from 'vitest';
import { formatDoctorReport, interfacesCheck, runDoctor, type DoctorReport } from '../../../src/doors/lan/doctor.js';

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
    // The line starts with the check's title; the summary does not say it again.
    expect(text).toContain(`  FAIL  pairgate server reachability: could not be completed (error below)\n        error: fetch failed: connect ECONNREFUSED 127.0.0.1:${port}\n        try: Check the URL given with --server`);
    for (const check of report.checks) expect(check.summary).not.toContain(check.title);
    // An IP address is not looked up: the DNS check would check nothing, so it is skipped, saying why.
    const dns = report.checks.find((c) => c.name === 'dns')!;
    expect(dns).toMatchObject({ status: 'skip', summary: 'not needed: the server is given by its IP address (127.0.0.1), which is not looked up' });
  });

  it('a server port that fetch refuses as unsafe (http://127.0.0.1:1): says so and what to do, not the bare "fetch failed: bad port"', async () => {
    const report = await runDoctor({ server: 'http://127.0.0.1:1', discovery: false, checkTimeoutMs: 4000 });
    const server = report.checks.find((c) => c.name === 'server')!;
    expect(server.status).toBe('fail');
    expect(server.summary).toContain('not called: port 1 is one that fetch refuses to call');
    expect(server.hint).toBe('Check the port in --server (or PAIRGATE_SERVER); if the server really listens on port 1, run it on a usual one (443, or 8080 and the like: pairgate serve --port) and give that URL.');
    expect(report.ok).toBe(false);
  });

  it('the multicast hint names the group and port this run used, not the defaults', async () => {
    // An interface address no machine has (documentation range): joining the group fails.
    const report = await runDoctor({ discovery: { group: '239.1.2.3', port: 5555, interfaceAddress: '203.0.113.77' }, multicastWaitMs: 100, checkTimeoutMs: 4000 });
    const multicast = report.checks.find((c) => c.name === 'multicast')!;
    expect(multicast.status).toBe('fail');
    expect(multicast.hint).toContain('a firewall dropping UDP port 5555 (group 239.1.2.3)');
  });

  it('counts one warning as "1 warning"', () => {
    const report: DoctorReport = {
      version: 1, startedAt: '', finishedAt: '', host: { hostname: 'h', platform: 'p', node: 'n' }, ok: true,
      counts: { ok: 1, warn: 1, fail: 0, skip: 0 }, checks: [],
    };
    expect(formatDoctorReport(report)).toMatch(/\n1 ok, 1 warning, 0 failed, 0 skipped\.$/);
  });
});

describe('pairgate doctor: network interfaces', () => {
  const eth0 = { name: 'eth0', state: 'up', addresses: ['192.168.1.20/24'] };
  const lo = { name: 'lo', state: 'unknown', addresses: ['127.0.0.1/8'] };

  it('does not warn of interfaces that are down and have no address (ifb0, ifb1) when one is up, and keeps them in the details', () => {
    const states = [eth0, { name: 'ifb0', state: 'down', addresses: [] }, { name: 'ifb1', state: 'down', addresses: [] }, lo];
    const outcome = interfacesCheck(states);
    expect(outcome).toMatchObject({ status: 'ok', summary: 'up: eth0' });
    expect(outcome.details).toEqual(states);
  });

  it('warns of a down interface that has an address, and fails when none but loopback is up', () => {
    expect(interfacesCheck([eth0, { name: 'wlan0', state: 'down', addresses: ['10.0.0.5/24'] }, { name: 'ifb0', state: 'down', addresses: [] }]))
      .toMatchObject({ status: 'warn', summary: 'up: eth0; down: wlan0' });
    expect(interfacesCheck([lo, { name: 'ifb0', state: 'down', addresses: [] }]))
      .toMatchObject({ status: 'fail', summary: 'no network interface besides loopback is up; down: ifb0' });
  });
});
