import type { Socket } from 'node:net';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { allDoors } from '../../src/doors/index.js';
import { startServer, type RunningServer } from '../../src/server/start.js';
import { createDnsApp } from '../doors/dns/dns-helpers.js';
import { openConnectionsFrom } from '../helpers/sockets.js';

/** Waits until `read()` is at least `atLeast` (the server closes a refused socket a little after it connected). */
async function eventually(read: () => Promise<number>, atLeast: number): Promise<number> {
  const until = Date.now() + 5_000;
  let value = await read();
  while (value < atLeast && Date.now() < until) {
    await new Promise((resolve) => setTimeout(resolve, 50));
    value = await read();
  }
  return value;
}

/** The value of `pairgate_connections_refused_total` for `listener` and `reason` in a /metrics text. */
function refusedIn(metrics: string, listener: string, reason: string): number {
  const line = metrics.split('\n').find((l) => l.startsWith(`pairgate_connections_refused_total{listener="${listener}",reason="${reason}"}`));
  return line ? Number(line.split(' ').pop()) : 0;
}

/**
 * Each listener's refusals are counted in `pairgate_connections_refused_total`, for an alert: the
 * log tells them at most once a minute, so a steady flood showed as one line a minute.
 */
describe('pairgate_connections_refused_total (real sockets)', () => {
  const sockets: Socket[] = [];
  afterEach(() => {
    for (const socket of sockets.splice(0)) socket.destroy();
  });

  describe('the HTTP listener', () => {
    let server: RunningServer;
    const dataDir = mkdtempSync(join(tmpdir(), 'pairgate-refused-metric-'));
    afterAll(async () => {
      await server?.close();
      rmSync(dataDir, { recursive: true, force: true });
    });

    it('counts the connections beyond its cap (reason limit)', async () => {
      server = await startServer({ env: { PAIRGATE_DATA_DIR: dataDir, PAIRGATE_PORT: '0', PAIRGATE_LOG_LEVEL: 'fatal' } }, allDoors);
      const port = (server.app.server.address() as { port: number }).port;
      // The cap the open-file limit gives is in the thousands here: lowered to what a test can fill.
      server.app.server.maxConnections = 2;
      sockets.push(...(await openConnectionsFrom(port, '127.0.0.1', 5)));
      const read = async () => {
        const metrics = await server.app.inject({ method: 'GET', url: '/metrics' });
        return refusedIn(metrics.body, 'http', 'limit');
      };
      expect(await eventually(read, 3)).toBe(3);
      // No per-network share on this listener: no series for it, which would read 0 for ever.
      expect((await server.app.inject({ method: 'GET', url: '/metrics' })).body).not.toContain('listener="http",reason="network"');
    });
  });

  it('the DNS TCP listener and the update API count theirs, by reason', async () => {
    const { t, runtime } = await createDnsApp({ PAIRGATE_DNS_MAX_TCP_CONNECTIONS: '8', PAIRGATE_DNS_UPDATE_MAX_CONNECTIONS: '16', PAIRGATE_REQUEST_TIMEOUT_SECONDS: '30' });
    try {
      const read = (listener: string, reason: string) => async () => refusedIn((await t.app.inject({ method: 'GET', url: '/metrics' })).body, listener, reason);
      // One network holds an eighth of 8: one connection each, the next refused.
      sockets.push(...(await openConnectionsFrom(runtime.dns.port, '127.0.0.2', 3)));
      expect(await eventually(read('dns_tcp', 'network'), 2)).toBe(2);
      // The update API's share is an eighth of 16: two.
      sockets.push(...(await openConnectionsFrom(runtime.updateApi!.port, '127.0.0.2', 3)));
      expect(await eventually(read('dns_update', 'network'), 1)).toBe(1);
      // Eight networks holding two each fill it. A ninth network takes the place of the oldest of
      // one of them (`update-connections.ts`), refused nothing; its second connection, where no
      // network holds more than two, is beyond the cap.
      for (let network = 3; network <= 9; network++) sockets.push(...(await openConnectionsFrom(runtime.updateApi!.port, `127.0.0.${network}`, 2)));
      sockets.push(...(await openConnectionsFrom(runtime.updateApi!.port, '127.0.0.10', 1)));
      expect(await read('dns_update', 'limit')()).toBe(0);
      sockets.push(...(await openConnectionsFrom(runtime.updateApi!.port, '127.0.0.10', 1)));
      expect(await eventually(read('dns_update', 'limit'), 1)).toBe(1);
    } finally {
      for (const socket of sockets.splice(0)) socket.destroy();
      await t.close();
    }
  });
});
