import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ensureBuilt, startNode } from '../helpers/node-process.js';

/**
 * The embedded database's disk filling up while the server runs (a small tmpfs, so root only):
 * writes answer 503 `store_unavailable` with Retry-After, never 500 "unexpected error"; /readyz
 * says the disk is full; once space is freed both recover without a restart.
 */

function mountSmallDisk(): string | undefined {
  if (process.getuid?.() !== 0) return undefined;
  const mountPoint = mkdtempSync(join(tmpdir(), 'pairgate-disk-'));
  try {
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=4m', 'tmpfs', mountPoint], { stdio: 'ignore' });
    return mountPoint;
  } catch {
    return undefined;
  }
}

const disk = mountSmallDisk();

describe.skipIf(!disk)(`a full disk under the embedded database${disk ? '' : ' (skipped: needs root and tmpfs)'}`, () => {
  afterAll(() => {
    if (disk) execFileSync('umount', ['-l', disk]);
  });

  it('answers 503 store_unavailable, says so on /readyz, and recovers when space is freed', async () => {
    ensureBuilt();
    const node = await startNode({
      PAIRGATE_DATA_DIR: join(disk!, 'data'),
      PAIRGATE_RATE_LIMIT_MAX: '100000',
      PAIRGATE_GRANTS_MAX_LIVE_PER_IP: '100000',
      PAIRGATE_GRANTS_CREATE_PER_MINUTE: '100000',
    });
    const filler = join(disk!, 'filler');
    const create = () =>
      fetch(`${node.url}/api/v1/grants`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ label: 'disk', data: { a: 'y'.repeat(900) } }) });
    try {
      expect((await create()).status).toBe(201);
      // Everything left taken; the writes then run out of room.
      try {
        execFileSync('dd', ['if=/dev/zero', `of=${filler}`, 'bs=64k'], { stdio: 'ignore' });
      } catch {
        // dd stops with "No space left on device": the point.
      }
      const statuses = new Map<number, number>();
      let refused: Response | undefined;
      for (let i = 0; i < 400 && !refused; i++) {
        const response = await create();
        statuses.set(response.status, (statuses.get(response.status) ?? 0) + 1);
        if (response.status !== 201) refused = response;
      }
      expect(Object.fromEntries(statuses)).not.toHaveProperty('500');
      expect(refused?.status).toBe(503);
      expect(refused?.headers.get('retry-after')).toBe('5');
      expect(await refused?.json()).toMatchObject({ error: 'store_unavailable' });
      const ready = await fetch(`${node.url}/readyz`);
      expect(ready.status).toBe(503);
      expect(await ready.json()).toMatchObject({ status: 'not_ready', checks: { stores: expect.stringContaining('the disk of the data folder is full') } });

      rmSync(filler);
      expect((await fetch(`${node.url}/readyz`)).status).toBe(200);
      expect((await create()).status).toBe(201);
    } finally {
      await node.stop();
    }
  });
});
