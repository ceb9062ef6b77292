/**
 * Control characters (C0, DEL, C1) and bidirectional controls (marks, embeddings, overrides,
 * isolates). The first can move the cursor or recolour a terminal; the second show the rest of a
 * line in another order than it reads (an address or a device id after a name, say).
 */
// eslint-disable-next-line no-control-regex
const UNSAFE = /[\u0000-\u001f\u007f-\u009f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]/g;

/** Text another device sent, made safe to show a person on a terminal: each unsafe character a space, at most `max` characters. */
export function terminalText(text: unknown, max: number): string {
  return String(text ?? '').replace(UNSAFE, ' ').slice(0, max);
}
