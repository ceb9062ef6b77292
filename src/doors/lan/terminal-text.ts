/**
 * Whole escape sequences: CSI (`ESC [` or the C1 byte 0x9b, parameters, a final byte: colours,
 * cursor moves, "clear screen"), OSC (`ESC ]` or 0x9d up to BEL or `ESC \`: window titles,
 * hyperlinks) and the two-byte `ESC x`. Removed whole, so no `[2J` or `[31m` is left on the line
 * once the ESC itself is gone.
 */
// eslint-disable-next-line no-control-regex
const ESCAPES = /(?:\u001b\[|\u009b)[0-?]*[ -/]*[@-~]?|(?:\u001b\]|\u009d)[^\u0007\u001b\u009c]*(?:\u0007|\u001b\\|\u009c)?|\u001b[@-_]?/g;

/**
 * Control characters (C0, DEL, C1), the line and paragraph separators, and bidirectional
 * controls (marks, embeddings, overrides, isolates). The first can move the cursor or recolour a terminal; the second show the rest of a
 * line in another order than it reads (an address or a device id after a name, say).
 */
// eslint-disable-next-line no-control-regex
const UNSAFE = /[\u0000-\u001f\u007f-\u009f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069]/g;

/**
 * Text another device sent, made safe to show a person on a terminal: escape sequences removed,
 * each other unsafe character a space, at most `max` characters. Only a string or a number is
 * text; anything else (an object, an array, null) is none, so the result is empty: `String()` of a
 * parsed object calls the `toString` the other device chose, and `{"toString": 1}` threw out of
 * the socket's data handler and ended the process.
 */
export function terminalText(text: unknown, max: number): string {
  const plain = typeof text === 'string' ? text : typeof text === 'number' ? String(text) : '';
  return plain.replace(ESCAPES, '').replace(UNSAFE, ' ').slice(0, max);
}
