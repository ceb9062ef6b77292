/**
 * TXT values on the wire. A TXT record's data is a sequence of character-strings, each a length
 * byte and at most 255 bytes (RFC 1035 3.3, 3.3.14); a longer value is sent as several strings,
 * which readers join (RFC 7208 3.3, as SPF and DKIM records are published). The update API keeps
 * each value to one string, but a stored row may read back longer than it was checked (an older
 * row, text the database re-encoded), and dns-packet writes a string's length into one byte
 * without checking it: a 765-byte value went out as a 253-byte length followed by the rest, a
 * packet no resolver could read.
 */

/** Longest DNS character-string: its length is one byte. */
export const MAX_CHARACTER_STRING_BYTES = 255;

/**
 * `value` as the UTF-8 character-strings of a TXT record: one when it fits in 255 bytes, else as
 * many as it needs, each cut between characters (never inside one), so a reader that decodes each
 * string on its own (node's `resolveTxt`, say) still reads whole characters.
 */
export function characterStrings(value: string): Buffer[] {
  const whole = Buffer.from(value, 'utf8');
  if (whole.length <= MAX_CHARACTER_STRING_BYTES) return [whole];
  const strings: Buffer[] = [];
  let start = 0;
  let end = 0;
  for (const character of value) {
    const size = Buffer.byteLength(character, 'utf8');
    if (end + size - start > MAX_CHARACTER_STRING_BYTES) {
      strings.push(whole.subarray(start, end));
      start = end;
    }
    end += size;
  }
  strings.push(whole.subarray(start, end));
  return strings;
}
