import { createHash } from 'node:crypto';
import { mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { MAX_FILE_NAME_BYTES, receivePayload, safeFileName } from '../../../src/doors/lan/payload.js';
import { framedPair } from './lan-fixtures.js';

const sockets: net.Socket[] = [];
afterEach(() => { for (const s of sockets.splice(0)) s.destroy(); });

/** Two framed ends of a real loopback TCP connection. */
const pair = () => framedPair(sockets);

describe('received file names', () => {
  it('a long name in a script of three-byte characters is received, shortened with its extension kept (was a write error: over 255 bytes)', async () => {
    const name = `${'報告書'.repeat(40)}.txt`;
    const out = mkdtempSync(join(tmpdir(), 'pairgate-out-'));
    const [a, b] = await pair();
    // The other device names the file as it likes; here as a real one with that long name does.
    a.send({ t: 'payload', name, size: 5 });
    await a.sendData(Buffer.from('hello'));
    a.send({ t: 'payload-end', sha256: createHash('sha256').update('hello').digest('hex') });
    const received = await receivePayload(b, { outDir: out, maxBytes: 100, timeoutMs: 2000 });
    expect(received?.name.endsWith('.txt')).toBe(true);
    expect(Buffer.byteLength(received!.name, 'utf8')).toBeLessThanOrEqual(MAX_FILE_NAME_BYTES);
    expect(readdirSync(out)).toEqual([received!.name]);
    expect(readFileSync(join(out, received!.name), 'utf8')).toBe('hello');
  });

  it('shortens between characters, never through a surrogate pair, and composes accents', () => {
    // A letter of four UTF-8 bytes, two UTF-16 units, after one of one byte: a cut by UTF-16 units
    // at an even count split the last pair.
    const short = safeFileName(`a${'\u{1d400}'.repeat(120)}`);
    expect(short).toBe(`a${'\u{1d400}'.repeat(49)}`);
    // No lone surrogate, which a file name could not hold (it would be written as U+FFFD).
    expect(/[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/.test(short)).toBe(false);
    // An accent sent as a separate mark (NFD, as macOS names files) is the accented letter.
    expect(safeFileName('cafe\u0301.txt')).toBe('caf\u00e9.txt');
    expect(safeFileName('caf\u00e9.txt')).toBe('caf\u00e9.txt');
  });

  it('on Windows, a device name (with any extension) is not taken as a file name', () => {
    expect(safeFileName('CON.txt', 'win32')).toBe('_CON.txt');
    expect(safeFileName('nul', 'win32')).toBe('_nul');
    expect(safeFileName('com1.tar.gz', 'win32')).toBe('_com1.tar.gz');
    expect(safeFileName('LPT\u00b9.log', 'win32')).toBe('_LPT\u00b9.log');
    expect(safeFileName('aux .c', 'win32')).toBe('_aux .c');
    expect(safeFileName('report.txt. ', 'win32')).toBe('report.txt');
    expect(safeFileName('console.txt', 'win32')).toBe('console.txt');
    // Elsewhere these are ordinary names.
    expect(safeFileName('aux.c', 'linux')).toBe('aux.c');
  });
});
