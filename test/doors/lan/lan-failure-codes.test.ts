import { mkdtempSync, readdirSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { receivePayload, sendPayload } from '../../../src/doors/lan/payload.js';
import { reportCliError } from '../../../src/cli/output.js';
import { framedPair } from './lan-fixtures.js';

// A disk that fills up: every write of the received file fails with ENOSPC.
const diskFull = vi.hoisted(() => ({ on: false }));
vi.mock('node:fs', async (original) => {
  const fs = await original<typeof import('node:fs')>();
  return {
    ...fs,
    createWriteStream: (path: string, options: { fd: number }) => {
      if (!diskFull.on) return fs.createWriteStream(path, options);
      fs.closeSync(options.fd);
      return new Writable({
        write(_chunk, _encoding, callback) {
          callback(Object.assign(new Error('ENOSPC: no space left on device, write'), { code: 'ENOSPC' }));
        },
      });
    },
  };
});

const sockets: net.Socket[] = [];
afterEach(() => {
  diskFull.on = false;
  for (const s of sockets.splice(0)) s.destroy();
  vi.restoreAllMocks();
});

/** Two framed ends of a real loopback TCP connection. */
const pair = () => framedPair(sockets);

/** The exit code `pairgate lan` gives for `error`, its report kept off the test output. */
function exitCodeOf(error: unknown): number {
  vi.spyOn(console, 'error').mockImplementation(() => undefined);
  return reportCliError(error);
}

describe('lan: failures that are not the person\'s input exit 1 with their own code', () => {
  it('a device that goes silent: lan_timeout, exit code 1, saying what to check', async () => {
    const [, b] = await pair();
    const error = await b.receive(50).catch((e: unknown) => e);
    expect(error).toMatchObject({ code: 'lan_timeout' });
    expect((error as Error).message).toMatch(/^The other device did not answer within 1 s: check that pairgate still runs there .*try again\.$/);
    expect(exitCodeOf(error)).toBe(1);
  });

  it('a full disk while receiving a file: lan_write_failed, exit code 1, no partial file left', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'pairgate-payload-'));
    const file = join(dir, 'big.bin');
    writeFileSync(file, Buffer.alloc(600 * 1024, 1));
    const out = mkdtempSync(join(tmpdir(), 'pairgate-out-'));
    const [a, b] = await pair();
    diskFull.on = true;
    void sendPayload(a, file).catch(() => undefined);
    const error = await receivePayload(b, { outDir: out, maxBytes: 1024 * 1024, timeoutMs: 2000 }).catch((e: unknown) => e);
    expect(error).toMatchObject({ code: 'lan_write_failed' });
    expect((error as Error).message).toBe(`Could not save the received file in ${out} (the disk is full). Free some space there, or choose another folder with --out, then pair again.`);
    expect(exitCodeOf(error)).toBe(1);
    expect(readdirSync(out)).toEqual([]);
  });
});
