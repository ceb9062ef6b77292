/**
 * Control characters other than line feed and tab, the line and paragraph separators, and the
 * bidirectional overrides: what would let
 * text from the other side of a session (the agent's messages and report) drive the terminal it is
 * printed on (ANSI and OSC escapes can move the cursor, rewrite earlier lines, set the title or the
 * clipboard in some terminals) or show itself in another order than it reads.
 */
// eslint-disable-next-line no-control-regex -- matching control characters is the point
const UNSAFE = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069]/g;

/**
 * `text` safe to print on a terminal: every control character but line feed and tab, and every
 * bidirectional control, shows as U+FFFD, so nothing the other side sends is taken as a command.
 */
export function terminalSafe(text: string): string {
  return text.replace(UNSAFE, '\uFFFD');
}

/**
 * One message of the other side of a session, printed after `prefix` (`agent> `, `Thorsten: `):
 * made safe (`terminalSafe`), its further lines indented under the first. Printed as sent, a
 * message's line breaks let it write lines that pass for this program's own ("The person ended
 * the session.", `you> ...`).
 */
export function chatLine(prefix: string, text: string): string {
  return `${prefix}${terminalSafe(text).replace(/\n/g, `\n${' '.repeat(prefix.length)}`)}`;
}

/**
 * `text` made safe and kept on one line: line breaks and tabs show as spaces. For a field from the
 * other side printed where the program lays out lines itself (a check's summary in a report).
 */
export function terminalLine(text: string): string {
  return terminalSafe(text).replace(/[\n\t]/g, ' ');
}
