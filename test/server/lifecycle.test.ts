import { mkdtempSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ManualClock } from '../../src/core/clock.js';
import { allDoors } from '../../src/doors/index.js';
import { startServer } from '../../src/server/start.js';
import { createTestApp } from '../helpers/app.js';
import { freePort } from '../doors/support/helpers.js';

describe('server lifecycle', () => {
  it('answers waiting clients and ends event streams when shutting down', async () => {
    const t = await createTestApp();
    const base = await t.listen();
    const created = (await (await fetch(`${base}/api/v1/grants`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"label":"x"}' })).json()) as any;
    const longPoll = fetch(`${base}/api/v1/grants/${created.id}?wait=60`).then((r) => r.json() as Promise<any>);
    const stream = await fetch(`${base}/api/v1/grants/${created.id}/events`);
    const streamText = stream.text();
    await new Promise((resolve) => setTimeout(resolve, 100));
    const started = Date.now();
    await t.close();
    expect(Date.now() - started).toBeLessThan(5_000);
    expect((await longPoll).state).toBe('pending');
    expect(await streamText).toContain('event: state');
  });

  it('a start that cannot listen (its port taken) stops what the doors started: the DNS port is free again for the next try', async () => {
    const taken: Server = createServer();
    await new Promise<void>((resolve) => taken.listen(0, '127.0.0.1', resolve));
    const busyPort = (taken.address() as { port: number }).port;
    const dnsPort = await freePort();
    const env = (port: number) => ({
      PAIRGATE_PORT: String(port),
      PAIRGATE_DATA_DIR: mkdtempSync(join(tmpdir(), 'pairgate-listen-fail-')),
      PAIRGATE_LOG_LEVEL: 'silent',
      PAIRGATE_DNS_ZONE: 'box.example.test',
      PAIRGATE_DNS_PORT: String(dnsPort),
      PAIRGATE_DNS_UPDATE_PORT: '0',
    });
    try {
      await expect(startServer({ env: env(busyPort) }, allDoors)).rejects.toThrow();
      // Without closing the app, its DNS listeners kept the port and this start failed.
      const server = await startServer({ env: env(0) }, allDoors);
      await server.close();
    } finally {
      await new Promise((resolve) => taken.close(resolve));
    }
  }, 30_000);

  it('reports not ready while shutting down', async () => {
    const t = await createTestApp();
    const closing = t.app.close();
    const ready = await t.app.inject('/readyz');
    expect(ready.statusCode).toBe(503);
    expect(ready.json()).toEqual({ status: 'shutting_down', checks: {} });
    await closing;
    await t.close();
  });

  it('refuses requests that arrive while shutting down in its own shape: code, Retry-After, security headers, connection closed', async () => {
    const t = await createTestApp();
    // Sent in the same turn as the close (as the readiness test above): once closed, inject itself refuses.
    const closing = t.app.close();
    const refusals = await Promise.all([t.app.inject({ method: 'POST', url: '/api/v1/grants', payload: { label: 'late' } }), t.app.inject('/account/signin')]);
    for (const refused of refusals) {
      expect(refused.statusCode, refused.body).toBe(503);
      expect(refused.json()).toMatchObject({ error: 'shutting_down', message: expect.stringContaining('shutting down') });
      expect(refused.headers['retry-after']).toBe('5');
      expect(refused.headers.connection).toBe('close');
      expect(refused.headers['content-security-policy']).toContain("frame-ancestors 'none'");
    }
    await closing;
    await t.close();
  });

  it('sweeps expired grants on its timer and counts them as expired per door', async () => {
    const clock = new ManualClock(Date.now());
    const t = await createTestApp({ PAIRGATE_SWEEP_SECONDS: '1' }, { clock });
    try {
      const created = await t.app.inject({ method: 'POST', url: '/api/v1/grants', payload: { label: 'x', ttl: 10 } });
      expect(created.statusCode).toBe(201);
      clock.advance(10_001);
      expect((await t.app.inject(`/api/v1/grants/${created.json().id}`)).statusCode).toBe(404);
      // The server's own sweeper (every PAIRGATE_SWEEP_SECONDS) deletes it and counts it.
      let metrics = '';
      for (let i = 0; i < 40 && !/event="expired"\} 1/.test(metrics); i++) {
        await new Promise((resolve) => setTimeout(resolve, 100));
        metrics = (await t.app.inject('/metrics')).body;
      }
      expect(metrics).toMatch(/pairgate_grants_total\{door="pair",event="expired"\} 1/);
      expect(await t.app.pairgate.engine.sweep()).toEqual({});
    } finally {
      await t.close();
    }
  });

  it('can require a token for /metrics', async () => {
    const t = await createTestApp({ PAIRGATE_METRICS_TOKEN: 's3cret-metrics-token-0123456789abcdef' });
    try {
      expect((await t.app.inject('/metrics')).statusCode).toBe(401);
      expect((await t.app.inject({ url: '/metrics', headers: { authorization: 'Bearer s3cret-metrics-token-0123456789abcdef' } })).statusCode).toBe(200);
    } finally {
      await t.close();
    }
  });

  it('/metrics reads the Bearer scheme in any case, and a refusal challenges and says which key and header to send', async () => {
    const token = 's3cret-metrics-token-0123456789abcdef';
    const t = await createTestApp({ PAIRGATE_METRICS_TOKEN: token });
    try {
      // RFC 7235 §2.1: the scheme is case-insensitive.
      expect((await t.app.inject({ url: '/metrics', headers: { authorization: `bearer ${token}` } })).statusCode).toBe(200);
      const missing = await t.app.inject('/metrics');
      expect(missing.statusCode).toBe(401);
      expect(missing.headers['www-authenticate']).toBe('Bearer realm="pairgate-metrics"');
      expect(missing.json()).toMatchObject({ error: 'metrics_token_required' });
      expect(missing.json().message).toContain('PAIRGATE_METRICS_TOKEN');
      expect(missing.json().message).toContain('Authorization: Bearer');
      const wrong = await t.app.inject({ url: '/metrics', headers: { authorization: 'Bearer not-the-token-0123456789abcdefghijkl' } });
      expect(wrong.statusCode).toBe(401);
      expect(wrong.headers['www-authenticate']).toContain('error="invalid_token"');
      expect(wrong.json().message).toMatch(/not the metrics token/);
      // The whole header must be the token: a prefix or a longer value is refused.
      expect((await t.app.inject({ url: '/metrics', headers: { authorization: `Bearer ${token}x` } })).statusCode).toBe(401);
      expect((await t.app.inject({ url: '/metrics', headers: { authorization: `Basic ${token}` } })).statusCode).toBe(401);
    } finally {
      await t.close();
    }
  });
});
