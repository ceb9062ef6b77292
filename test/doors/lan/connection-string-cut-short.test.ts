import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { COPY_AGAIN, decodeConnectionString, encodeConnectionString } from '../../../src/doors/lan/connection-string.js';

/**
 * A connection string cut short at a colon (a copy that stopped there) named the first empty field
 * as "must be 32 bytes, not 0", and no refusal of a string said what to do about it.
 */
const text = encodeConnectionString({
  addresses: ['192.0.2.2'], port: 44477, keySha256: randomBytes(32), secret: randomBytes(32), deviceId: randomBytes(16).toString('base64url'), name: 'laptop',
});

function refusal(input: string): Error & { code?: string } {
  try {
    decodeConnectionString(input);
  } catch (error) {
    return error as Error & { code?: string };
  }
  throw new Error('expected a refusal');
}

/** The string cut just after the colon that ends field `index` (1 = the IP block). */
function cutAfterField(index: number): string {
  return `${text.split(':').slice(0, index + 1).join(':')}:`;
}

describe('a connection string cut short', () => {
  it.each([
    [1, 'port'], [2, 'key hash'], [3, 'secret'], [4, 'device id'], [5, 'device name'],
  ])('cut after field %i: says the %s is missing, not that it has 0 bytes', (index, name) => {
    const error = refusal(cutAfterField(index));
    expect(error.code).toBe('lan_bad_connection_string');
    expect(error.message).toBe(`The connection string is cut short: the ${name} is missing. ${COPY_AGAIN}`);
  });

  it('every refusal of a string this version could read says what to do, never repeating the string', () => {
    const secret = text.split(':')[4]!;
    for (const input of [text.slice(0, 30), text.replace(secret, `${secret.slice(0, -1)}!`), `https://example.test/${text}`, text.replace(/:[^:]+$/, ':AA')]) {
      const error = refusal(input);
      expect(error.message.endsWith(COPY_AGAIN)).toBe(true);
      expect(error.message).not.toContain(secret);
    }
    // A newer version's string says to update instead.
    expect(refusal(text.replace(/^pg1:/, 'pg2:')).message).not.toContain(COPY_AGAIN);
    // An empty IP block is no field cut short: an offer without an address of its own is found by discovery.
    const parts = text.split(':');
    parts[1] = '';
    expect(decodeConnectionString(parts.join(':')).addresses).toEqual([]);
  });
});
