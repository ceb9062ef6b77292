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

  it('none once those are set', () => {
    expect(warningsFor({
      PAIRGATE_HOST: '0.0.0.0',
      PAIRGATE_PUBLIC_URL: 'https://pair.example.com',
      PAIRGATE_METRICS_TOKEN: 'metrics-token-0123456789abcdefghijkl',
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
