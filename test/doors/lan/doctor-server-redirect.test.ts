import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { formatDoctorReport, runDoctor } from '../../../src/doors/lan/doctor.js';

/**
 * `doctor --server`: a redirect from /healthz is not followed. A captive portal (or a proxy)
 * answering in the server's place redirects to its own sign-in page, whose 200 was reported as
 * the server's health ("answered 200") when the server had never been reached.
 */
const servers: http.Server[] = [];
afterEach(async () => {
  await Promise.all(servers.splice(0).map((server) => new Promise<void>((resolve) => server.close(() => resolve()))));
});

async function serve(handler: http.RequestListener): Promise<number> {
  const server = http.createServer(handler);
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return (server.address() as AddressInfo).port;
}

async function serverCheck(server: string) {
  const report = await runDoctor({ server, discovery: false, checkTimeoutMs: 4000 });
  return { check: report.checks.find((c) => c.name === 'server')!, report };
}

describe('doctor: a redirect from the server\'s /healthz', () => {
  it('to another host (a Wi-Fi sign-in page) fails, naming the target\'s origin only (not its path or query)', async () => {
    let portalCalled = false;
    const portal = await serve((_request, response) => { portalCalled = true; response.end('<h1>Sign in to the hotel Wi-Fi</h1>'); });
    // Another host name for the same machine: "localhost" is not 127.0.0.1.
    const port = await serve((_request, response) => {
      response.writeHead(302, { location: `http://localhost:${portal}/login/s3cret?token=s3cret` }).end();
    });
    const { check, report } = await serverCheck(`http://127.0.0.1:${port}`);
    expect(portalCalled).toBe(false);
    expect(check.status).toBe('fail');
    expect(check.summary).toBe(`http://127.0.0.1:${port}/healthz answered 302, a redirect to http://localhost:${portal} (not followed): something else answered in the server's place, such as a Wi-Fi sign-in page or a proxy`);
    expect(check.hint).toContain('Sign in to the network');
    expect(report.ok).toBe(false);
    const text = formatDoctorReport(report);
    expect(text).not.toContain('s3cret');
  });

  it('to the same host (http to https) warns with the URL to give instead', async () => {
    const port = await serve((_request, response) => {
      response.writeHead(301, { location: 'https://127.0.0.1/healthz' }).end();
    });
    const { check } = await serverCheck(`http://127.0.0.1:${port}`);
    expect(check.status).toBe('warn');
    expect(check.summary).toBe(`http://127.0.0.1:${port}/healthz answered 301, a redirect to https://127.0.0.1 (not followed)`);
    expect(check.hint).toBe('Give the server\'s own URL with --server (or PAIRGATE_SERVER), the one it redirects to (https://127.0.0.1).');
  });

  it('a server that answers /healthz itself is still ok', async () => {
    const port = await serve((_request, response) => { response.end('{"status":"ok"}'); });
    const { check } = await serverCheck(`http://127.0.0.1:${port}`);
    expect(check).toMatchObject({ status: 'ok', summary: `http://127.0.0.1:${port}/healthz answered 200` });
  });
});
