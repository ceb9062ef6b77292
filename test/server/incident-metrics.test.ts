import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { allDoors } from '../../src/doors/index.js';
import { startServer, type RunningServer } from '../../src/server/start.js';

/**
 * What an operator's alerts read on /metrics of a real server just started. A counter an alert
 * takes the rate() or increase() of must be there at 0 before anything happens: a series that first
 * appears at 1 reads as no increase, so the first burst (a connection flood) went unseen.
 */
describe('/metrics of a server just started (incident)', () => {
  let server: RunningServer;
  const dataDir = mkdtempSync(join(tmpdir(), 'pairgate-incident-metrics-'));
  afterAll(async () => {
    await server?.close();
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('shows the HTTP listener\'s refused connections at 0 before any is refused', async () => {
    server = await startServer({ env: { PAIRGATE_DATA_DIR: dataDir, PAIRGATE_PORT: '0', PAIRGATE_LOG_LEVEL: 'fatal' } }, allDoors);
    const body = await (await fetch(`${server.url}/metrics`)).text();
    expect(body).toMatch(/^pairgate_connections_refused_total\{listener="http",reason="limit"\} 0$/m);
    // No share per network on this listener: no series that could never move.
    expect(body).not.toContain('listener="http",reason="network"');
  });
});
