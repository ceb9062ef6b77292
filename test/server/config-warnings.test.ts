import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { allDoors } from '../../src/doors/index.js';
import { loadConfig } from '../../src/server/config.js';
import { configWarnings, isLoopbackHost } from '../../src/server/config-warnings.js';
import { startServer } from '../../src/server/start.js';

const sections = allDoors.flatMap((door) => (door.configSchema ? [door.configSchema] : []));
const warningsFor = (env: Record<string, string>) => configWarnings(loadConfig(sections, { env }), allDoors);

describe('start-up warnings about risky settings', () => {
  it('says nothing on a loopback address, where only this machine reaches the server', () => {
    for (const host of ['127.0.0.1', '127.0.0.2', '::1', 'localhost']) expect(isLoopbackHost(host)).toBe(true);
    for (const host of ['0.0.0.0', '::', '10.0.0.5', 'pair.example.com']) expect(isLoopbackHost(host)).toBe(false);
    expect(warningsFor({})).toEqual([]);
  });

  it('on a public address: open metrics, no https public URL, each with what to set', () => {
    const warnings = warningsFor({ PAIRGATE_HOST: '0.0.0.0' });
    expect(warnings).toEqual(expect.arrayContaining([
      expect.stringMatching(/\/metrics is open .*PAIRGATE_METRICS_TOKEN/),
      expect.stringMatching(/PAIRGATE_PUBLIC_URL is not set/),
    ]));
    // Introspection without its secret is closed, not open: nothing to warn about.
    expect(warnings.filter((warning) => /introspect/i.test(warning))).toEqual([]);
    expect(warningsFor({ PAIRGATE_HOST: '0.0.0.0', PAIRGATE_PUBLIC_URL: 'http://pair.example.com' })).toEqual(expect.arrayContaining([expect.stringMatching(/is http .*https/)]));
  });

  it('an open support relay: anyone could make links on this server that redirect anywhere; quiet with an allow-list, API keys or no relay', () => {
    const open = /support relay \(\/relay\) publishes codes for any https URL from anyone.*PAIRGATE_RELAY_ALLOWED_HOSTS.*PAIRGATE_RELAY_API_KEYS/;
    expect(warningsFor({ PAIRGATE_HOST: '0.0.0.0' })).toEqual(expect.arrayContaining([expect.stringMatching(open)]));
    expect(warningsFor({ PAIRGATE_HOST: '0.0.0.0', PAIRGATE_RELAY_ONLY: 'true' })).toEqual(expect.arrayContaining([expect.stringMatching(/support relay \(\/\) publishes/)]));
    const quietSettings: Record<string, string>[] = [{ PAIRGATE_RELAY_ALLOWED_HOSTS: 'support.example.com' }, { PAIRGATE_RELAY_API_KEYS: 'relay-key-0123456789abcdefghijklmnop' }, { PAIRGATE_RELAY_ENABLED: 'false' }];
    for (const quiet of quietSettings) {
      expect(warningsFor({ PAIRGATE_HOST: '0.0.0.0', ...quiet }).filter((warning) => /support relay/.test(warning))).toEqual([]);
    }
  });

  it('none once those are set', () => {
    expect(warningsFor({
      PAIRGATE_HOST: '0.0.0.0',
      PAIRGATE_PUBLIC_URL: 'https://pair.example.com',
      PAIRGATE_METRICS_TOKEN: 'metrics-token-0123456789abcdefghijkl',
      PAIRGATE_RELAY_ALLOWED_HOSTS: 'support.example.com',
    })).toEqual([]);
  });

  it('are logged when the server starts on a public address', async () => {
    const lines: string[] = [];
    const logStream = new Writable({
      write(chunk, _encoding, done) {
        lines.push(String(chunk));
        done();
      },
    });
    const server = await startServer({ env: { PAIRGATE_HOST: '0.0.0.0', PAIRGATE_PORT: '0', PAIRGATE_DATA_DIR: mkdtempSync(join(tmpdir(), 'pairgate-warn-')) } }, allDoors, logStream);
    try {
      const warning = lines.map((line) => JSON.parse(line) as { level: number; msg: string }).find((entry) => entry.msg.startsWith('/metrics is open'));
      expect(warning?.level).toBe(40);
    } finally {
      await server.close();
    }
  });
});
