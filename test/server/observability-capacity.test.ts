import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { allDoors } from '../../src/doors/index.js';
import { startServer, type RunningServer } from '../../src/server/start.js';
import { logCollector } from '../helpers/log-lines.js';
import { series } from '../helpers/metrics-text.js';

/**
 * The generic door's cap on codes waiting for approval (PAIRGATE_MAX_LIVE_CODES), full: clients
 * keep their stable 429 rate_limited, and the operator sees a counter and one warning that names
 * the setting, its value and what to do.
 */
describe('grant creations refused at the cap, on /metrics and in the log (observability)', () => {
  let server: RunningServer;
  const dataDir = mkdtempSync(join(tmpdir(), 'pairgate-observability-cap-'));
  afterAll(async () => {
    await server?.close();
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('counts creations refused for capacity from 0, and warns once', async () => {
    const log = logCollector();
    server = await startServer({ env: { PAIRGATE_DATA_DIR: dataDir, PAIRGATE_PORT: '0', PAIRGATE_HOST: '127.0.0.1', PAIRGATE_MAX_LIVE_CODES: '2' } }, allDoors, log.stream);
    const metrics = async (): Promise<string> => (await fetch(`${server.url}/metrics`)).text();
    const before = await metrics();
    expect(series(before, 'pairgate_grant_creations_refused_total', 'door="pair",reason="capacity"')).toBe(0);
    // The device door's cap (PAIRGATE_DEVICE_MAX_PENDING) has the same shape.
    expect(series(before, 'pairgate_grant_creations_refused_total', 'door="device",reason="capacity"')).toBe(0);

    const create = () => fetch(`${server.url}/api/v1/grants`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ label: 'x' }) });
    for (let i = 0; i < 2; i++) expect((await create()).status).toBe(201);
    for (let i = 0; i < 3; i++) {
      const refused = await create();
      expect(refused.status).toBe(429);
      // The machine code clients rely on is unchanged.
      expect(await refused.json()).toMatchObject({ error: 'rate_limited', message: 'Too many requests are waiting for approval. Try again shortly.' });
    }

    expect(series(await metrics(), 'pairgate_grant_creations_refused_total', 'door="pair",reason="capacity"')).toBe(3);
    const warnings = log.entries.filter((entry) => entry.level === 40 && entry.msg.includes('grant creation(s)'));
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toMatchObject({ door: 'pair', refused: 1, setting: 'PAIRGATE_MAX_LIVE_CODES', max: 2 });
    expect(warnings[0]!.msg).toMatch(/2 are waiting for approval, the most PAIRGATE_MAX_LIVE_CODES allows\. If this is real use, raise it/);
  });
});
