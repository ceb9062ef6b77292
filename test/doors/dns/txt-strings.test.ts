import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import dnsPacket from 'dns-packet';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { BoxIdentity } from '../../../src/doors/registry/box-identity.js';
import type { DnsRuntime } from '../../../src/doors/dns/dns-door.js';
import { DnsResponder } from '../../../src/doors/dns/dns-answer.js';
import type { DnsRecord, DnsRecords } from '../../../src/doors/dns/dns-records.js';
import { recordValue } from '../../../src/doors/dns/record-validation.js';
import { characterStrings } from '../../../src/doors/dns/txt-strings.js';
import type { PairgateError } from '../../../src/core/errors.js';
import { PairgateApiError } from '../../../src/sdk/errors.js';
import type { TestApp } from '../../helpers/app.js';
import { missingProgram } from '../../helpers/system.js';
import { createDnsApp, newBox, resolverFor, updateClient, ZONE } from './dns-helpers.js';

const byteLengths = (strings: Buffer[]) => strings.map((s) => s.length);
/** A TXT record's strings as node's resolver gives them (each byte a Latin-1 character), joined and read as UTF-8. */
const utf8Of = (chunks: string[]) => Buffer.from(chunks.join(''), 'latin1').toString('utf8');

describe('TXT character-strings', () => {
  it('a value of up to 255 bytes is one string; a longer one is cut into strings of at most 255 bytes, between characters', () => {
    expect(byteLengths(characterStrings(''))).toEqual([0]);
    expect(byteLengths(characterStrings('x'.repeat(255)))).toEqual([255]);
    expect(byteLengths(characterStrings('x'.repeat(600)))).toEqual([255, 255, 90]);
    // é is two bytes: 127 of them (254 bytes) fit, the 128th would be cut in half.
    const accented = characterStrings('é'.repeat(200));
    expect(byteLengths(accented)).toEqual([254, 146]);
    expect(accented.map((s) => s.toString('utf8')).join('')).toBe('é'.repeat(200));
    // A character beyond U+FFFF (4 bytes, a surrogate pair in JavaScript) is never split either.
    const emoji = characterStrings('a'.repeat(253) + '\u{1F600}');
    expect(emoji.map((s) => s.toString('utf8'))).toEqual(['a'.repeat(253), '\u{1F600}']);
  });

  it('the record check refuses a TXT value with a lone surrogate (invalid_txt), before its length is counted', () => {
    const name = `t.${'a'.repeat(52)}.z.test`;
    for (const value of ['\ud800'.repeat(85), 'ok\udc00', '\ud800'.repeat(200)]) {
      let refused: PairgateError | undefined;
      try {
        recordValue('z.test', name, 'TXT', value);
      } catch (error) {
        refused = error as PairgateError;
      }
      expect(refused).toMatchObject({ status: 400, code: 'invalid_txt' });
      expect(refused!.message).toContain('lone UTF-16 surrogate');
    }
    expect(recordValue('z.test', name, 'TXT', 'smile \ud83d\ude00')).toBe('smile \u{1F600}');
  });

  it('the record check refuses control characters, C0, DEL and C1 alike (invalid_txt); other text passes', () => {
    const name = `t.${'a'.repeat(52)}.z.test`;
    for (const value of ['tab\there', 'del\u007f', 'nel\u0085', 'csi\u009b31m', 'pad\u0080', 'apc\u009f']) {
      expect(() => recordValue('z.test', name, 'TXT', value), JSON.stringify(value)).toThrow(expect.objectContaining({ status: 400, code: 'invalid_txt', message: 'A TXT value cannot hold control characters.' }));
    }
    expect(recordValue('z.test', name, 'TXT', 'v=spf1 \u00a0caf\u00e9 \u00a9')).toBe('v=spf1 \u00a0caf\u00e9 \u00a9');
  });

  it('the responder never writes a character-string over 255 bytes: a long stored value goes out as several, in a packet that decodes', async () => {
    const name = `t.${'a'.repeat(52)}.z.test`;
    // A row as one written before the lone-surrogate check reads back: 85 lone surrogates stored as
    // ED A0 80, each read as three U+FFFD, 765 bytes in all.
    const value = '\ufffd'.repeat(255);
    const record: DnsRecord = { name, type: 'TXT', value, ttl: 60, owner: 'a'.repeat(52), updatedAt: 0 };
    const records = { serial: async () => 1, answering: async () => [record] } as unknown as DnsRecords;
    const responder = new DnsResponder(records, { zone: 'z.test', nameServers: ['ns1.z.test'], nameServerAddresses: [], hostmaster: 'hostmaster.z.test', ttl: 600, negativeTtl: 60 });
    const wire = await responder.respond(Buffer.from(dnsPacket.encode({ type: 'query', id: 5, questions: [{ type: 'TXT', name }] })), 'tcp');
    const answer = dnsPacket.decode(wire!);
    expect(answer.answers).toHaveLength(1);
    const strings = (answer.answers![0] as { data: Buffer[] }).data;
    expect(byteLengths(strings)).toEqual([255, 255, 255]);
    expect(Buffer.concat(strings).toString('utf8')).toBe(value);
  });
});

describe('TXT values through the update API and real DNS clients', () => {
  let t: TestApp;
  let runtime: DnsRuntime;
  let box: BoxIdentity;
  let base: string;
  beforeAll(async () => {
    ({ t, runtime } = await createDnsApp());
    box = await newBox('txt');
    base = `${box.fingerprint}.${ZONE}`;
  });
  afterAll(() => t.close());

  it('a TXT value holding lone surrogates is refused (400), whatever its length, and nothing is stored; surrogate pairs are fine', async () => {
    const api = updateClient(runtime, box);
    // JSON.stringify sends each as a \ud800 escape, as the audit did: 85 of them counted 255 bytes
    // and were served as 765. The update API reads bodies with the main server's JSON parser,
    // which refuses such an escape (body_not_utf8) before the record is checked.
    for (const value of ['\ud800'.repeat(85), 'ok\udc00', '\ud800']) {
      const refused = await api.set(`t.${base}`, 'TXT', value).catch((error: unknown) => error as PairgateApiError);
      expect(refused).toBeInstanceOf(PairgateApiError);
      expect(refused).toMatchObject({ status: 400, code: 'body_not_utf8' });
    }
    expect(await api.list(base)).toEqual([]);
    expect(await api.set(`t.${base}`, 'TXT', 'smile \ud83d\ude00')).toMatchObject({ value: 'smile \u{1F600}' });
    expect((await resolverFor(runtime.dns.port).resolveTxt(`t.${base}`)).map(utf8Of)).toEqual(['smile \u{1F600}']);
    expect(await api.remove(`t.${base}`, { type: 'TXT', value: 'smile \u{1F600}' })).toEqual({ deleted: 1 });
  });

  describe('a stored TXT value longer than one character-string (written before the checks)', () => {
    const long = 'long.';
    const value = 'v=spf1 '.padEnd(300, 'a') + 'é'.repeat(150);
    beforeAll(async () => {
      // Straight into the store, past the update API's checks, as an older row would be.
      await runtime.records.put({ name: `${long}${base}`, type: 'TXT', value, ttl: 60, owner: box.fingerprint, network: '127.0.0.1' }, Date.now());
    });

    it('node\'s resolver (c-ares) reads it as several strings that join to the value', async () => {
      const chunks = await resolverFor(runtime.dns.port).resolveTxt(`${long}${base}`);
      expect(chunks).toHaveLength(1);
      expect(chunks[0]!.map((chunk) => Buffer.from(chunk, 'latin1').length)).toEqual([255, 255, 90]);
      expect(utf8Of(chunks[0]!)).toBe(value);
    });

    it('dig reads a well-formed answer over UDP (truncated, retried over TCP) and TCP', async (context) => {
      const skip = missingProgram('dig', 'checking DNS answers with a real resolver client');
      if (skip) return context.skip(skip);
      const dig = async (...args: string[]) => {
        const { stdout, stderr } = await promisify(execFile)('dig', ['@127.0.0.1', '-p', String(runtime.dns.port), '+time=2', '+tries=1', ...args], { encoding: 'utf8' });
        return stdout + stderr;
      };
      for (const transport of ['+notcp', '+tcp']) {
        const out = await dig(transport, `${long}${base}`, 'TXT');
        expect(out).not.toMatch(/malformed|FORMERR|parse/i);
        expect(out).toMatch(/status: NOERROR/);
        expect(out).toMatch(/ANSWER: 1,/);
        // Three quoted strings in the one TXT record.
        const line = out.split('\n').find((l) => /\sTXT\s/.test(l) && !l.startsWith(';'))!;
        expect(line.match(/"(?:[^"\\]|\\.)*"/g)).toHaveLength(3);
      }
    });
  });
});
