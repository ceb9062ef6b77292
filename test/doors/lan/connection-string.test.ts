import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  MAX_CONNECTION_STRING_LENGTH,
  decodeConnectionString,
  encodeConnectionString,
  nameProblem,
  writtenName,
  type ConnectionInfo,
} from '../../../src/doors/lan/connection-string.js';
import { BadConnectionStringError } from '../../../src/doors/lan/lan-errors.js';
import { unicastProblem } from '../../../src/doors/lan/ip-addresses.js';
import { qrForTerminal, writeQrFile } from '../../../src/doors/lan/qr.js';

const ipv4 = fc.ipV4().filter((a) => {
  const first = Number(a.split('.')[0]);
  return first !== 0 && first < 224;
});
// Unicast only: the encoder refuses the unspecified and multicast addresses.
const ipv6 = fc.ipV6().filter((a) => unicastProblem(a) === undefined && !a.includes('.'));

const bytes = (n: number) => fc.uint8Array({ minLength: n, maxLength: n }).map((b) => Buffer.from(b));
const name = fc.string({ unit: 'grapheme', minLength: 1, maxLength: 16 }).filter((s) => nameProblem(s) === undefined);

const info: fc.Arbitrary<ConnectionInfo> = fc.record({
  addresses: fc.array(fc.oneof(ipv4, ipv6), { maxLength: 4 }),
  port: fc.integer({ min: 1, max: 65535 }),
  keySha256: bytes(32),
  secret: bytes(32),
  deviceId: bytes(16).map((b) => b.toString('base64url')),
  name,
});

function refusal(text: string): BadConnectionStringError {
  try {
    decodeConnectionString(text);
  } catch (error) {
    expect(error).toBeInstanceOf(BadConnectionStringError);
    return error as BadConnectionStringError;
  }
  throw new Error('accepted');
}

function sample(): ConnectionInfo {
  return fc.sample(info, { numRuns: 1, seed: 42 })[0]!;
}

function replaceField(text: string, index: number, value: string): string {
  const parts = text.split(':');
  parts[index] = value;
  return parts.join(':');
}

describe('connection string', () => {
  it('round-trips every valid value', () => {
    fc.assert(fc.property(info, (value) => {
      const text = encodeConnectionString(value);
      expect(text.startsWith('pg1:')).toBe(true);
      expect(text.length).toBeLessThanOrEqual(MAX_CONNECTION_STRING_LENGTH);
      const back = decodeConnectionString(text);
      expect(back.port).toBe(value.port);
      expect(back.keySha256.equals(value.keySha256)).toBe(true);
      expect(back.secret.equals(value.secret)).toBe(true);
      expect(back.deviceId).toBe(value.deviceId);
      expect(back.name).toBe(value.name);
      // Addresses come back in canonical form; re-encoding them gives the same string.
      expect(back.addresses).toHaveLength(value.addresses.length);
      expect(encodeConnectionString(back)).toBe(text);
    }), { numRuns: 300 });
  });

  it('reads a string wrapped over lines or with spaces in it (copied from a terminal, a mail, a chat)', () => {
    fc.assert(fc.property(info, fc.array(fc.nat(), { minLength: 1, maxLength: 6 }), fc.constantFrom('\n', '\r\n', ' ', '\t', '  \n  '), (value, cuts, gap) => {
      const text = encodeConnectionString(value);
      const at = [...new Set(cuts.map((c) => c % text.length))].sort((a, b) => a - b);
      let wrapped = '';
      let from = 0;
      for (const cut of at) { wrapped += text.slice(from, cut) + gap; from = cut; }
      wrapped += text.slice(from);
      const back = decodeConnectionString(`  ${wrapped}\n`);
      expect(back.secret.equals(value.secret)).toBe(true);
      expect(encodeConnectionString(back)).toBe(text);
    }), { numRuns: 200 });
  });

  it('ignores unknown trailing fields (forward compatible)', () => {
    fc.assert(fc.property(info, fc.array(fc.base64String().map((s) => Buffer.from(s).toString('base64url')), { minLength: 1, maxLength: 3 }), (value, extra) => {
      const text = `${encodeConnectionString(value)}:${extra.join(':')}`;
      fc.pre(text.length <= MAX_CONNECTION_STRING_LENGTH);
      expect(decodeConnectionString(text).secret.equals(value.secret)).toBe(true);
    }), { numRuns: 100 });
  });

  it('refuses every truncation, naming the field, without echoing the secret', () => {
    fc.assert(fc.property(info, fc.nat(), (value, cut) => {
      const text = encodeConnectionString(value);
      // Cut inside the fixed fields (the name is last and may be legitimately short).
      const nameStart = text.lastIndexOf(':');
      const at = cut % nameStart;
      let error: BadConnectionStringError | undefined;
      try {
        decodeConnectionString(text.slice(0, at));
      } catch (caught) {
        error = caught as BadConnectionStringError;
      }
      expect(error).toBeInstanceOf(BadConnectionStringError);
      expect(error!.message).not.toContain(value.secret.toString('base64url'));
      expect(error!.code).toBe('lan_bad_connection_string');
    }), { numRuns: 300 });
  });

  it('refuses oversized strings and oversized fields', () => {
    const text = encodeConnectionString(sample());
    expect(refusal(`${text}:${'A'.repeat(MAX_CONNECTION_STRING_LENGTH)}`).details).toEqual({ field: 'length' });
    fc.assert(fc.property(fc.integer({ min: 2, max: 6 }), fc.integer({ min: 1, max: 8 }), (index, extra) => {
      const parts = text.split(':');
      const grown = Buffer.concat([Buffer.from(parts[index]!, 'base64url'), Buffer.alloc(extra, 1)]).toString('base64url');
      if (index === 6) return; // a longer name is fine while under the limit
      expect(refusal(replaceField(text, index, grown)).message).toMatch(/must be \d+ bytes/);
    }));
    expect(refusal(replaceField(text, 6, Buffer.alloc(65, 97).toString('base64url'))).message).toMatch(/longer than 64 bytes/);
  });

  it('refuses unknown versions and foreign strings with clear messages', () => {
    const text = encodeConnectionString(sample());
    expect(refusal(text.replace(/^pg1/, 'pg2')).message).toMatch(/version 2.*Update pairgate/);
    expect(refusal(`https://example.test/${text}`).message).toMatch(/not a pairgate connection string/);
    expect(refusal('').details).toEqual({ field: 'version' });
  });

  it('refuses bad IPs: unknown family tags, cut addresses, multicast and unspecified', () => {
    const text = encodeConnectionString(sample());
    const bad = [
      Buffer.from([5, 10, 0, 0, 1]),
      Buffer.from([4, 10, 0, 0]),
      Buffer.from([4, 224, 0, 0, 1]),
      Buffer.from([4, 0, 0, 0, 0]),
      Buffer.concat([Buffer.from([6]), Buffer.alloc(16)]),
      Buffer.concat([Buffer.from([6, 0xff]), Buffer.alloc(15)]),
    ];
    for (const block of bad) {
      const error = refusal(replaceField(text, 1, block.toString('base64url')));
      expect(error.details).toEqual({ field: 'IP block' });
      expect(error.message).toMatch(/IP block/);
    }
    expect(refusal(replaceField(text, 1, 'not*base64')).message).toMatch(/outside base64url/);
    // Non-canonical base64url (a stray character that decodes to nothing) is refused too.
    expect(refusal(replaceField(text, 1, `${text.split(':')[1]}A`)).details).toEqual({ field: 'IP block' });
  });

  it('refuses port 0 and ports that are not 2 bytes', () => {
    const text = encodeConnectionString(sample());
    expect(refusal(replaceField(text, 2, Buffer.from([0, 0]).toString('base64url'))).message).toMatch(/between 1 and 65535/);
    expect(refusal(replaceField(text, 2, Buffer.from([1, 0, 0]).toString('base64url'))).message).toMatch(/port .* must be 2 bytes/);
    fc.assert(fc.property(fc.integer({ min: 65536, max: 2 ** 31 }), (port) => {
      expect(() => encodeConnectionString({ ...sample(), port })).toThrow(RangeError);
    }), { numRuns: 20 });
  });

  it('refuses names with control characters (they could rewrite the terminal)', () => {
    const text = encodeConnectionString(sample());
    expect(refusal(replaceField(text, 6, Buffer.from('evil\u001b[2J').toString('base64url'))).message).toMatch(/control characters/);
  });

  it('refuses names with bidirectional marks, line or paragraph separators and other invisible format characters, a superset of what terminal text cleans; drops them from a name another device wrote', () => {
    const text = encodeConnectionString(sample());
    const withName = (value: string) => replaceField(text, 6, Buffer.from(value, 'utf8').toString('base64url'));
    // U+061C ALM, U+200E LRM, U+200F RLM, U+2028 and U+2029 passed before; the rest of \p{Cf} too.
    for (const unsafe of ['\u061c', '\u200e', '\u200f', '\u2028', '\u2029', '\u202e', '\u2066', '\u200b', '\u2060', '\ufeff', '\u00ad', '\u{e0041}']) {
      const value = `ev${unsafe}il`;
      expect(nameProblem(value), JSON.stringify(value)).toBe('the device name contains invisible formatting characters (a bidirectional mark, a line or paragraph separator, a zero-width character)');
      expect(() => encodeConnectionString({ ...sample(), name: value })).toThrow(RangeError);
      // Written by a device not yet upgraded, which took them: read without them, where earlier
      // versions refused them too (overrides, isolates), still refused.
      if (unsafe === '\u202e' || unsafe === '\u2066') expect(refusal(withName(value)).details).toEqual({ field: 'device name' });
      else expect(decodeConnectionString(withName(value)).name, JSON.stringify(value)).toBe('evil');
    }
    expect(writtenName('\u{1f469}\u200d\u{1f4bb} lap\u00adtop\u200b')).toBe('\u{1f469}\u200d\u{1f4bb} laptop');
    // Every character terminal-text.ts makes safe is refused in a name.
    for (let code = 0; code <= 0x2069; code++) {
      const character = String.fromCodePoint(code);
      // eslint-disable-next-line no-control-regex -- terminal-text.ts's set, control characters included
      if (/[\u0000-\u001f\u007f-\u009f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]/.test(character)) expect(nameProblem(`a${character}b`), code.toString(16)).toBeDefined();
    }
  });

  it('keeps zero-width joiners where they join what shows (emoji sequences, Persian and Indic words), refuses them elsewhere', () => {
    for (const ok of ['\u{1f469}\u200d\u{1f4bb} desk', '\u{1f469}\u{1f3fd}\u200d\u{1f4bb}', '\u2764\ufe0f\u200d\u{1f525}', '\u0644\u067e\u200c\u062a\u0627\u067e', '\u0915\u094d\u200d\u0937']) {
      expect(nameProblem(ok), JSON.stringify(ok)).toBeUndefined();
      expect(decodeConnectionString(encodeConnectionString({ ...sample(), name: ok })).name).toBe(ok);
    }
    for (const bad of ['\u200ddesk', 'desk\u200d', 'a \u200d b', 'a\u200d\u200db', '1\u200c2']) expect(nameProblem(bad), JSON.stringify(bad)).toBeDefined();
  });

  it('renders a QR code for the terminal and as PNG and SVG files', async () => {
    const text = encodeConnectionString(sample());
    const terminal = await qrForTerminal(text);
    expect(terminal.split('\n').length).toBeGreaterThan(20);
    const dir = mkdtempSync(join(tmpdir(), 'pairgate-qr-'));
    await writeQrFile(join(dir, 'a.png'), text);
    await writeQrFile(join(dir, 'a.svg'), text);
    expect(readFileSync(join(dir, 'a.png')).subarray(1, 4).toString()).toBe('PNG');
    expect(readFileSync(join(dir, 'a.svg'), 'utf8')).toMatch(/<svg xmlns/);
  });
});
