import { randomBytes } from 'node:crypto';
import { beforeAll, describe, expect, it } from 'vitest';
import { startAnnouncer } from '../../src/doors/lan/discovery.js';
import { ensureBuilt, runCliUnder } from '../helpers/cli.js';
import { freePort } from '../helpers/ports.js';

/**
 * The line `lan nearby` gives for a device that takes a code said `lan join --code <code>`: the
 * code as an argument, in the process list, where the offer's own line says `--code -` and
 * docs/lan.md says never to put the secret on the command line. It says `--code -` now, and that
 * the code is typed when asked; `lan join --help` gives no code as an argument either.
 */
describe('pairgate lan nearby: the line to join by code keeps the code off the command line', () => {
  beforeAll(() => ensureBuilt(), 120_000);

  it('lists a device taking a code with `lan join --code - --device <id>` and says the code is typed when asked', async () => {
    const port = await freePort();
    const deviceId = randomBytes(16).toString('base64url');
    const announcer = await startAnnouncer({ interfaceAddress: '127.0.0.1', port, intervalMs: 100, announcement: { deviceId, port: 4242, name: 'attic', code: true } });
    try {
      const result = await runCliUnder(['lan', 'nearby', '--duration', '1s', '--discovery-interface', '127.0.0.1', '--discovery-port', String(port)]);
      expect(result.code).toBe(0);
      const lines = result.stdout.trimEnd().split('\n');
      expect(lines.slice(1)).toEqual([
        `attic  127.0.0.1 port 4242  id ${deviceId}  takes a code: pairgate lan join --code - --device ${deviceId}   and type the pairing code that device shows when asked`,
      ]);
    } finally {
      await announcer.stop();
    }
  });

  it('lan join --help shows joining by code with `--code -`, no code as an argument', async () => {
    const help = await runCliUnder(['lan', 'join', '--help']);
    expect(help.code).toBe(0);
    expect(help.stdout).toContain('$ pairgate lan join --code - --device attic');
    expect(help.stdout).not.toMatch(/--code \d/);
  });
});
