/**
 * Whether `text` holds a lone UTF-16 surrogate: half of a pair without its other half (a high one
 * alone, a low one alone, or the two in the wrong order). Such text has no UTF-8 form: written to
 * a database or the network each becomes U+FFFD, so what is stored, served and compared is no
 * longer what was sent. Only a JSON `\u` escape (`"\ud800"`) or code can make one; UTF-8 bytes
 * cannot.
 */
export function hasLoneSurrogate(text: string): boolean {
  // With the u flag a surrogate pair is one code point, so only the unpaired halves match.
  return LONE_SURROGATE.test(text);
}

const LONE_SURROGATE = /\p{Cs}/u;
