import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ManualClock } from '../../src/core/clock.js';
import { CodeFormat } from '../../src/core/codes.js';
import { allDoors } from '../../src/doors/index.js';
import { startServer, type RunningServer } from '../../src/server/start.js';
import { createTestApp } from '../helpers/app.js';
import { logCollector, type LogEntry } from '../helpers/log-lines.js';
import { series } from '../helpers/metrics-text.js';

/** The generic door's codes with the default settings: well formed, so each look-up is a real guess. */
const format = new CodeFormat({ alphabet: 'base32', length: 8, checkCharacter: true });


/** The warnings about refused code look-ups. */
function lookupWarnings(entries: readonly LogEntry[]): LogEntry[] {
  return entries.filter((entry) => entry.level === 40 && entry.msg.startsWith('code look-ups on '));
}

/**
 * A brute force on the generic door's codes, seen by an operator: the misses and each budget's
 * refusals on /metrics (all three answer the same 429 rate_limited), and one warning line a minute
 * in the log, with neither a code nor an address.
 */
describe('code look-ups refused, on /metrics and in the log (observability)', () => {
  let server: RunningServer;
  const dataDir = mkdtempSync(join(tmpdir(), 'pairgate-observability-codes-'));
  afterAll(async () => {
    await server?.close();
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('counts misses and refusals by budget from 0, and warns once', async () => {
    const log = logCollector();
    // 24 misses an hour: 5 in any five minutes; 8 look-ups a minute.
    server = await startServer({ env: { PAIRGATE_DATA_DIR: dataDir, PAIRGATE_PORT: '0', PAIRGATE_HOST: '127.0.0.1', PAIRGATE_CODE_MISSES_PER_HOUR: '24', PAIRGATE_CODE_LOOKUPS_PER_MINUTE: '8' } }, allDoors, log.stream);
    const metrics = async (): Promise<string> => (await fetch(`${server.url}/metrics`)).text();

    const before = await metrics();
    expect(series(before, 'pairgate_code_misses_total', 'door="pair"')).toBe(0);
    for (const reason of ['misses_hour', 'misses_5m', 'lookups_at_once', 'lookups_minute']) {
      expect(series(before, 'pairgate_code_lookups_refused_total', `door="pair",reason="${reason}"`), reason).toBe(0);
    }
    // The device door adds a budget per browser session to the address's.
    expect(series(before, 'pairgate_code_lookups_refused_total', 'door="device",reason="misses_session"')).toBe(0);
    expect(series(before, 'pairgate_code_misses_total', 'door="device"')).toBe(0);

    const guessed: string[] = [];
    const statuses: number[] = [];
    for (let i = 0; i < 10; i++) {
      const code = format.generate();
      guessed.push(code);
      const answer = await fetch(`${server.url}/api/v1/codes/${code}`);
      statuses.push(answer.status);
      if (answer.status === 429) expect(await answer.json()).toMatchObject({ error: 'rate_limited' });
      else await answer.arrayBuffer();
    }
    // 5 misses; then the five minutes' budget refuses until the 8 look-ups of the minute are spent.
    expect(statuses).toEqual([404, 404, 404, 404, 404, 429, 429, 429, 429, 429]);

    const after = await metrics();
    expect(series(after, 'pairgate_code_misses_total', 'door="pair"')).toBe(5);
    expect(series(after, 'pairgate_code_lookups_refused_total', 'door="pair",reason="misses_5m"')).toBe(3);
    expect(series(after, 'pairgate_code_lookups_refused_total', 'door="pair",reason="lookups_minute"')).toBe(2);
    expect(series(after, 'pairgate_code_lookups_refused_total', 'door="pair",reason="misses_hour"')).toBe(0);

    const warnings = lookupWarnings(log.entries);
    expect(warnings).toHaveLength(1);
    const [warning] = warnings;
    expect(warning).toMatchObject({ door: 'pair', refused: 1, reasons: { misses_5m: 1 } });
    expect(warning!.msg).toContain('misses_5m 1');
    expect(warning!.msg).toContain('PAIRGATE_CODE_MISSES_PER_HOUR');
    const line = JSON.stringify(warning);
    for (const code of guessed) expect(line).not.toContain(code);
    expect(line).not.toContain('127.0.0.1');
  });
});

describe('code look-ups refused while they go on (observability)', () => {
  it('warns again after a minute with the count refused since the last warning', async () => {
    const clock = new ManualClock();
    const t = await createTestApp({ PAIRGATE_CODE_MISSES_PER_HOUR: '24', PAIRGATE_CODE_LOOKUPS_PER_MINUTE: '100' }, { clock });
    try {
      const url = await t.listen();
      const lookUp = async (): Promise<number> => {
        const answer = await fetch(`${url}/api/v1/codes/${format.generate()}`);
        await answer.arrayBuffer();
        return answer.status;
      };
      const warnings = (): LogEntry[] => lookupWarnings(t.logs.flatMap((chunk) => chunk.split('\n').filter(Boolean).map((line) => JSON.parse(line) as LogEntry)));
      for (let i = 0; i < 5; i++) expect(await lookUp()).toBe(404);
      for (let i = 0; i < 4; i++) expect(await lookUp()).toBe(429);
      expect(warnings()).toHaveLength(1);
      clock.advance(61_000);
      // Still within the five minutes: refused, and told with the 3 refused meanwhile.
      expect(await lookUp()).toBe(429);
      const [, second] = warnings();
      expect(warnings()).toHaveLength(2);
      expect(second).toMatchObject({ door: 'pair', refused: 4, reasons: { misses_5m: 4 } });
    } finally {
      await t.close();
    }
  });
});

describe('the per-minute look-up limit of the support and device doors (observability)', () => {
  it('counts its refusals as lookups_minute, from 0, on the support relay\'s code look-up', async () => {
    const relayCodes = new CodeFormat({ alphabet: 'relay34', length: 6 });
    const t = await createTestApp({ PAIRGATE_CODE_MISSES_PER_HOUR: '24', PAIRGATE_CODE_LOOKUPS_PER_MINUTE: '8' });
    try {
      const url = await t.listen();
      const metrics = async (): Promise<string> => (await fetch(`${url}/metrics`)).text();
      const before = await metrics();
      expect(series(before, 'pairgate_code_lookups_refused_total', 'door="support-code",reason="lookups_minute"')).toBe(0);
      expect(series(before, 'pairgate_code_lookups_refused_total', 'door="device",reason="lookups_minute"')).toBe(0);
      const statuses: number[] = [];
      for (let i = 0; i < 10; i++) {
        const answer = await fetch(`${url}/relay/pairing/${relayCodes.generate()}`);
        await answer.arrayBuffer();
        statuses.push(answer.status);
      }
      // Over 8 a minute: the last two are the minute's limit's, whatever the misses' budgets said.
      expect(statuses.slice(8)).toEqual([429, 429]);
      expect(series(await metrics(), 'pairgate_code_lookups_refused_total', 'door="support-code",reason="lookups_minute"')).toBe(2);
    } finally {
      await t.close();
    }
  });
});
