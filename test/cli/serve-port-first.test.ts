import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { createServer, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { ensureBuilt, runCli } from '../helpers/cli.js';

/**
 * `serve` on an address it cannot listen on stops before it touches the disk. It made the data
 * folder, a new database in it and the folder of copies, then found the port taken: a mistyped
 * --data-dir left a folder and an empty database behind, and a first start prepared a database the
 * operator then had to find and remove.
 */

const dirs: string[] = [];
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

describe('serve tries its address before it makes anything', () => {
  it('a port another program holds: refused (exit 2) with no data folder, database or backup folder made', async () => {
    ensureBuilt();
    const parent = mkdtempSync(join(tmpdir(), 'pairgate-port-first-'));
    dirs.push(parent);
    const dataDir = join(parent, 'data');
    const backupDir = join(parent, 'backups');
    const holder = createServer();
    await new Promise<void>((resolve) => holder.listen(0, '127.0.0.1', resolve));
    const port = (holder.address() as AddressInfo).port;
    try {
      const result = await runCli(['serve', '--port', String(port), '--data-dir', dataDir], { PAIRGATE_BACKUP_DIR: backupDir, PAIRGATE_LOG_LEVEL: 'info' });
      expect(result.status, result.stderr).toBe(2);
      expect(result.stderr.trim()).toBe(`pairgate: Cannot listen on 127.0.0.1:${port}: another program already does (another pairgate?). Stop it, or choose another port with serve --port or PAIRGATE_PORT (0 picks a free one). [address_in_use]`);
      expect(existsSync(dataDir)).toBe(false);
      expect(existsSync(backupDir)).toBe(false);
    } finally {
      await new Promise((resolve) => holder.close(resolve));
    }
  });

  it('a host that is not of this machine: refused (exit 2) with no data folder made', async () => {
    ensureBuilt();
    const parent = mkdtempSync(join(tmpdir(), 'pairgate-port-first-'));
    dirs.push(parent);
    const dataDir = join(parent, 'data');
    // TEST-NET-3 (RFC 5737): never an address of this machine.
    const result = await runCli(['serve', '--host', '203.0.113.7', '--port', '0', '--data-dir', dataDir]);
    expect(result.status, result.stderr).toBe(2);
    expect(result.stderr).toContain('[address_not_available]');
    expect(existsSync(dataDir)).toBe(false);
  });
});
