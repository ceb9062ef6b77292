import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { PinFileError, PinStore } from '../../src/sdk/box-discovery.js';

const pinFile = (content?: string): string => {
  const file = join(mkdtempSync(join(tmpdir(), 'pairgate-pin-store-')), 'pins.json');
  if (content !== undefined) writeFileSync(file, content);
  return file;
};

/** The PinFileError a PinStore on `file` throws (the test fails if it throws none, or another). */
function refusalOf(file: string): PinFileError {
  let thrown: unknown;
  try {
    new PinStore(file);
  } catch (error) {
    thrown = error;
  }
  expect(thrown).toBeInstanceOf(PinFileError);
  expect((thrown as PinFileError).code).toBe('pin_file_unreadable');
  return thrown as PinFileError;
}

describe('PinStore', () => {
  it('starts empty without a file, and reads back what it pinned', () => {
    const file = pinFile();
    new PinStore(file).set({ fingerprint: 'f1', certPem: 'pem', firstSeen: 'then' });
    expect(new PinStore(file).get('f1')).toEqual({ fingerprint: 'f1', certPem: 'pem', firstSeen: 'then' });
    expect(new PinStore(file).get('f2')).toBeUndefined();
  });

  it.each([
    ['cut short', '{"f1": {"fingerprint": "f1", "certP', 'is not valid JSON (cut short or damaged)'],
    ['empty', '', 'is not valid JSON (cut short or damaged)'],
    ['not an object', '["f1"]', 'does not hold an object of pins by fingerprint'],
    ['null', 'null', 'does not hold an object of pins by fingerprint'],
  ])('a pin file %s is refused naming the file and what to do, and left as found', (_, content, problem) => {
    const file = pinFile(content);
    expect(refusalOf(file).message).toBe(`The pin file ${file} ${problem}. Put it back from a copy, or move it away to start over: every box is then trusted again on its next connection, whatever key it presents.`);
    expect(readFileSync(file, 'utf8')).toBe(content);
  });

  it('a pin file that cannot be read is refused as such, not called damaged (moving it away would trust every box again)', () => {
    // A folder at the name: read(2) fails with EISDIR, as it would with EACCES for a file of another user.
    const file = pinFile();
    mkdirSync(file);
    const { message } = refusalOf(file);
    expect(message.startsWith(`The pin file ${file} cannot be read (EISDIR). `)).toBe(true);
    expect(message).not.toContain('not valid JSON');
    expect(message).not.toContain('move it away');
  });
});
