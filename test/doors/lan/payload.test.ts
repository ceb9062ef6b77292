import { createHash } from 'node:crypto';
import { existsSync, lstatSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, readlinkSync, symlinkSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { checkPayloadOptions, receivePayload, safeFileName, sendPayload } from '../../../src/doors/lan/payload.js';
import { framedPair } from './lan-fixtures.js';

const sockets: net.Socket[] = [];
afterEach(() => { for (const s of sockets.splice(0)) s.destroy(); });

/** Two framed ends of a real loopback TCP connection. */
const pair = () => framedPair(sockets);

describe('payload transfer', () => {
  it('names from the other device cannot leave the output folder or hide', () => {
    expect(safeFileName('../../etc/passwd')).toBe('passwd');
    expect(safeFileName('..\\..\\boot.ini')).toBe('boot.ini');
    expect(safeFileName('.bashrc')).toBe('bashrc');
    expect(safeFileName('')).toBe('payload.bin');
    expect(safeFileName('..')).toBe('payload.bin');
    expect(safeFileName('a\u0000b\u001b.txt')).toBe('a_b_.txt');
  });

  it('refuses a payload over the limit and one whose checksum does not match, leaving no file', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'pairgate-payload-'));
    const file = join(dir, 'big.bin');
    writeFileSync(file, Buffer.alloc(5000, 1));
    const out = mkdtempSync(join(tmpdir(), 'pairgate-out-'));
    const [a, b] = await pair();
    void sendPayload(a, file).catch(() => undefined);
    await expect(receivePayload(b, { outDir: out, maxBytes: 4000, timeoutMs: 2000 })).rejects.toMatchObject({
      code: 'lan_payload_too_large',
      message: 'The other device sends a file of 5000 bytes, over this device\'s limit of 4000 (--max-size): run again with a larger --max-size to accept it.',
    });

    const [c, d] = await pair();
    c.send({ t: 'payload', name: 'x.txt', size: 3 });
    await c.sendData(Buffer.from('abc'));
    c.send({ t: 'payload-end', sha256: '0'.repeat(64) });
    await expect(receivePayload(d, { outDir: out, maxBytes: 4000, timeoutMs: 2000 })).rejects.toThrow(/checksum/);
    expect(readdirSync(out)).toEqual([]);
  });

  it('writes a received payload to a new file only: a link or folder planted at its .partial name is left alone', async () => {
    const out = mkdtempSync(join(tmpdir(), 'pairgate-out-'));
    const victim = join(mkdtempSync(join(tmpdir(), 'pairgate-victim-')), 'bashrc');
    writeFileSync(victim, 'original');
    // Someone who may write to the output folder (a shared one) and guesses the name.
    symlinkSync(victim, join(out, 'notes.txt.partial'));
    mkdirSync(join(out, 'notes (1).txt.partial'));
    const [a, b] = await pair();
    const sent = join(mkdtempSync(join(tmpdir(), 'pairgate-payload-')), 'notes.txt');
    writeFileSync(sent, 'from the peer');
    void sendPayload(a, sent);
    const received = await receivePayload(b, { outDir: out, maxBytes: 4000, timeoutMs: 2000 });
    expect(readFileSync(victim, 'utf8')).toBe('original');
    expect(received?.path).toBe(join(out, 'notes (2).txt'));
    expect(readFileSync(received!.path!, 'utf8')).toBe('from the peer');
  });

  it('never replaces a file or link put at the payload\'s name while it was received: lan_bad_payload, the planted one left as it is', async () => {
    const victim = join(mkdtempSync(join(tmpdir(), 'pairgate-victim-')), 'bashrc');
    writeFileSync(victim, 'original');
    const plants: Array<[string, (at: string) => void, (at: string) => void]> = [
      ['a file', (at) => writeFileSync(at, 'planted'), (at) => expect(readFileSync(at, 'utf8')).toBe('planted')],
      ['a link', (at) => symlinkSync(victim, at), (at) => expect(readlinkSync(at)).toBe(victim)],
      ['a dangling link', (at) => symlinkSync(join(victim, '..', 'nothing-here'), at), (at) => expect(lstatSync(at).isSymbolicLink()).toBe(true)],
    ];
    for (const [what, plant, unchanged] of plants) {
      const out = mkdtempSync(join(tmpdir(), 'pairgate-out-'));
      const [a, b] = await pair();
      const body = Buffer.from('from the peer');
      a.send({ t: 'payload', name: 'notes.txt', size: body.length });
      await a.sendData(body.subarray(0, 4));
      const receiving = receivePayload(b, { outDir: out, maxBytes: 4000, timeoutMs: 2000 });
      receiving.catch(() => undefined);
      // The name is free when the transfer starts, and taken (a shared folder) before it ends.
      await expect.poll(() => existsSync(join(out, 'notes.txt.partial')), { timeout: 2000, interval: 5 }).toBe(true);
      plant(join(out, 'notes.txt'));
      await a.sendData(body.subarray(4));
      a.send({ t: 'payload-end', sha256: createHash('sha256').update(body).digest('hex') });
      await expect(receiving, what).rejects.toMatchObject({
        code: 'lan_bad_payload',
        message: expect.stringContaining(`Something else was put at ${join(out, 'notes.txt')} while the file was being received`),
      });
      unchanged(join(out, 'notes.txt'));
      expect(readFileSync(victim, 'utf8')).toBe('original');
      // Nothing of the received file is left behind.
      expect(readdirSync(out), what).toEqual(['notes.txt']);
    }
  });

  it('cuts off a peer that sends an oversized or unknown frame', async () => {
    const [a, b] = await pair();
    const header = Buffer.alloc(5);
    header[0] = 1;
    header.writeUInt32BE(10 * 1024 * 1024, 1);
    a.socket.write(header);
    await expect(b.receive(2000)).rejects.toThrow(/size limit/);
  });

  it('checks the payload file and output folder before anything starts', () => {
    expect(() => checkPayloadOptions('/nonexistent/file', undefined)).toThrow('--payload /nonexistent/file: there is no such file; give the path of the file to send.');
    expect(() => checkPayloadOptions(tmpdir(), undefined)).toThrow(`--payload ${tmpdir()}: this is a folder; --payload sends one file (put several in an archive first).`);
    expect(() => checkPayloadOptions(undefined, '/nonexistent/dir')).toThrow('--out /nonexistent/dir: there is no such folder; create it, or choose another for received files.');
    const file = join(mkdtempSync(join(tmpdir(), 'pairgate-out-')), 'a.txt');
    writeFileSync(file, 'x');
    expect(() => checkPayloadOptions(undefined, file)).toThrow(`--out ${file}: this is not a folder; choose a folder for received files.`);
    expect(() => checkPayloadOptions(undefined, tmpdir())).not.toThrow();
  });
});
