import { describe, expect, it } from 'vitest';
import { advertiseBox, discoverBoxes, txtName } from '../../../src/doors/registry/mdns.js';
import { freePort } from '../../helpers/ports.js';

/**
 * The box's name in its mDNS TXT record (`name=`): cut between characters (grapheme clusters), to
 * at most 100 of them and to what one TXT string holds (255 bytes, the key included). It was cut
 * with `slice(0, 100)`, UTF-16 units: half an emoji, a letter without its accent, and no bound on
 * the bytes, so a name of 100 CJK characters (300 bytes) broke the record.
 */

const family = '👨‍👩‍👧';

describe('the box name in the mDNS TXT record', () => {
  it('is cut between characters: an emoji, an accented letter, an emoji sequence stay whole', () => {
    // 99 letters then an emoji: slice(0, 100) kept its first half (a lone surrogate).
    expect(txtName(`${'a'.repeat(99)}😀b`)).toBe(`${'a'.repeat(99)}😀`);
    // An accent written as its own mark stays on its letter.
    expect(txtName(`${'a'.repeat(99)}e\u0301`)).toBe(`${'a'.repeat(99)}e\u0301`);
    // A family (5 code points, 8 UTF-16 units) counts as one character.
    expect(txtName(`${'a'.repeat(97)}${family}bc`)).toBe(`${'a'.repeat(97)}${family}bc`);
    expect(txtName(`${'a'.repeat(98)}${family}bc`)).toBe(`${'a'.repeat(98)}${family}b`);
    expect(txtName('Kitchen')).toBe('Kitchen');
    expect(txtName('x'.repeat(150))).toBe('x'.repeat(100));
    for (const name of [`${'a'.repeat(99)}😀b`, `${'a'.repeat(95)}${family.repeat(3)}`]) expect(txtName(name)).not.toMatch(/\p{Cs}/u);
  });

  it('fits one TXT string (255 bytes with "name="), whole characters only', () => {
    // 3 bytes each: 83 of them (249 bytes) fit in the 250 left, not 100.
    expect(txtName('台'.repeat(100))).toBe('台'.repeat(83));
    // 4 bytes each: 62 (248 bytes).
    expect(txtName('😀'.repeat(100))).toBe('😀'.repeat(62));
    // 18 bytes each: 13 (234 bytes), never part of one.
    expect(txtName(family.repeat(20))).toBe(family.repeat(13));
    for (const name of ['台'.repeat(100), '😀'.repeat(100), family.repeat(20), 'é'.repeat(200)]) {
      expect(Buffer.byteLength(`name=${txtName(name)}`)).toBeLessThanOrEqual(255);
    }
  });

  it('a box named with 100 CJK characters is found by mDNS, its name cut to fit (it broke the record)', async () => {
    const port = await freePort();
    const fingerprint = 'd'.repeat(52);
    const advert = advertiseBox({ fingerprint, port: 4443, name: '台所'.repeat(50), addresses: ['127.0.0.1'] }, { port, interface: '127.0.0.1' });
    await advert.ready;
    try {
      const found = (await discoverBoxes(1_000, { port, interface: '127.0.0.1' })).find((box) => box.fingerprint === fingerprint);
      expect(found?.name).toBe('台所'.repeat(50).slice(0, 83));
    } finally {
      await advert.stop();
    }
  });

  it('a name whose 100th character is an emoji is found whole, not with U+FFFD for its half', async () => {
    const port = await freePort();
    const fingerprint = 'e'.repeat(52);
    const advert = advertiseBox({ fingerprint, port: 4443, name: `${'a'.repeat(99)}😀 and more`, addresses: ['127.0.0.1'] }, { port, interface: '127.0.0.1' });
    await advert.ready;
    try {
      const found = (await discoverBoxes(1_000, { port, interface: '127.0.0.1' })).find((box) => box.fingerprint === fingerprint);
      expect(found?.name).toBe(`${'a'.repeat(99)}😀`);
    } finally {
      await advert.stop();
    }
  });
});
