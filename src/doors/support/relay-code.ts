import { CodeFormat } from '../../core/codes.js';

/**
 * The relay's code format (seed 000): six symbols of `1-9` and `a-z` without `o` (34 symbols, about
 * 30.5 bits), no check character, matched case-insensitively. The origin reads the codes its relay
 * hands out in the same format.
 */
export const relayCodeFormat = new CodeFormat({ alphabet: 'relay34', length: 6 });

/** Grant kind of a relay entry (code -> origin pairing URL). */
export const RELAY_KIND = 'support-relay';
/** Grant kind of a support session on the origin. */
export const SESSION_KIND = 'support-session';
/** Grant kind of a session's pairing code on the origin (found by the relay's code, stored hashed). */
export const PAIRING_KIND = 'support-pairing';

/**
 * The miss budget (CodeGuard scope) of support codes, at the relay and at the origin alike. They are
 * one code space: an origin's pairing code is the code its relay handed out. A server that is both
 * (the relay at /relay, its origin publishing there) counted a guess at either on its own budget,
 * which gave an attacker twice the guesses its brute-force check allowed for.
 */
export const SUPPORT_CODE_SCOPE = 'support-code';
