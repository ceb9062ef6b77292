import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { ensureBuilt, runCliUnder } from '../helpers/cli.js';
import { freePort } from '../helpers/ports.js';

/**
 * The lan commands count their times in milliseconds (`scanNearby`'s `durationMs`, each
 * `timeoutMs`), and docs/lan.md says times take `ms`: `--duration 1500ms` and `1.5s` were refused
 * as "no whole second". They are taken now, a plain number is still seconds, and the range is
 * still 1 s and up.
 */

// Loopback only, on a port no other test file of the run holds: no other test's announcements are heard.
const lonely = ['--discovery-interface', '127.0.0.1', '--discovery-port', String(await freePort())];

describe('lan time options take milliseconds', () => {
  let root: string;
  beforeAll(() => {
    ensureBuilt();
    root = mkdtempSync(join(tmpdir(), 'pairgate-lan-times-ms-'));
  }, 120_000);

  it('lan nearby --duration 1500ms (and 1.5s, and --seconds 1500ms) listens a second and a half', async () => {
    for (const option of [['--duration', '1500ms'], ['--duration', '1.5s'], ['--seconds', '1500ms']]) {
      const started = Date.now();
      const result = await runCliUnder(['lan', 'nearby', ...option, ...lonely]);
      expect(result.stderr).toBe('');
      expect(result.stdout).toMatch(/^No device announced itself in 1500 ms of listening\./);
      expect(result.code).toBe(0);
      expect(Date.now() - started).toBeGreaterThanOrEqual(1500);
    }
  }, 30_000);

  it('lan nearby keeps its range (1 s to 10 min) and a plain number in seconds', async () => {
    expect(await runCliUnder(['lan', 'nearby', '--duration', '500ms', ...lonely])).toEqual({
      code: 2, stdout: '', stderr: 'pairgate: --duration must be from 1 s to 10 min; "500ms" is 500 ms. [invalid_request]\n',
    });
    expect((await runCliUnder(['lan', 'nearby', '--duration', '601s', ...lonely])).stderr).toBe('pairgate: --duration must be from 1 s to 10 min; "601s" is 601 s. [invalid_request]\n');
    const plain = await runCliUnder(['lan', 'nearby', '--duration', '1', ...lonely]);
    expect(plain.stdout).toMatch(/^No device announced itself in 1 s of listening\./);
  }, 30_000);

  it('lan offer --timeout 1500ms waits a second and a half, then stops as timed out (not refused as no whole second)', async () => {
    const result = await runCliUnder(['lan', 'offer', '--timeout', '1500ms', '--config-dir', join(root, 'offer'), '--address', '127.0.0.1', '--bind', '127.0.0.1', '--no-discovery', '--no-qr']);
    expect(result.stderr).toContain('(waiting up to 1500 ms; Ctrl-C to stop)');
    expect(result.stderr).toMatch(/\[lan_offer_timeout\]\n$/);
    expect(result.code).toBe(2);
  }, 30_000);

  it('lan connect --listen --timeout 1.5s waits, then stops with lan_listen_timeout', async () => {
    const result = await runCliUnder(['lan', 'connect', '--listen', '--timeout', '1.5s', '--port', '0', '--bind', '127.0.0.1', '--config-dir', join(root, 'listen')]);
    expect(result.stderr).toMatch(/\[lan_listen_timeout\]\n$/);
    expect(result.code).toBe(2);
  }, 30_000);

  it('lan join --code --timeout 1500ms looks for the offer that long, then says none was found', async () => {
    const started = Date.now();
    const result = await runCliUnder(['lan', 'join', '--code', '1234-5678', '--timeout', '1500ms', '--config-dir', join(root, 'join'), ...lonely]);
    expect(result.stderr).toMatch(/\[lan_device_not_found\]\n$/);
    expect(result.code).toBe(1);
    expect(Date.now() - started).toBeGreaterThanOrEqual(1500);
  }, 30_000);
});
