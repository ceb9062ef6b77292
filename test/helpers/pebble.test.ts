import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { httpsGet, startPebble, type RunningPebble } from './pebble.js';
import { freePort } from './ports.js';

describe('startPebble', () => {
  const dir = mkdtempSync(join(tmpdir(), 'pairgate-pebble-helper-'));
  let taken: Server | undefined;
  let pebble: RunningPebble | undefined;
  afterAll(() => {
    pebble?.stop();
    taken?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('starts again on fresh ports when one it was given is taken by the time pebble binds it', async () => {
    const busy = await freePort();
    taken = createServer((socket) => socket.destroy());
    await new Promise<void>((resolve) => taken!.listen(busy, '127.0.0.1', resolve));
    // The API port is taken on the first try only, as when another process gets there first.
    const ports = [busy];
    pebble = await startPebble(dir, await freePort(), async () => ports.shift() ?? freePort());
    expect(new URL(pebble.directory).port).not.toBe(String(busy));
    expect((await httpsGet(pebble.directory, pebble.caPem)).status).toBe(200);
  });
});
