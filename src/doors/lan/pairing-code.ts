import { CodeFormat } from '../../core/codes.js';
import { BadCodeError } from './lan-errors.js';

/**
 * The short pairing code of `lan offer --code`: 8 decimal digits from the CSPRNG, shown as
 * `1234-5678` (HomeKit's setup codes have the same size). Digits because the code is read out or
 * typed on a phone; no check character, because a typo simply fails the PAKE and costs one of the
 * offer's attempts, and a check digit would tell an attacker nothing new but cost a tenth of the
 * space if it were counted as entropy. 10^8 codes (26.6 bits): safe only because every guess must
 * be made online against the offer, which stops after `--max-failures` (see docs/lan.md).
 */
export const PAIRING_CODE = new CodeFormat({ alphabet: 'digits', length: 8, groupSize: 4, separator: '-' });

/** A fresh code in canonical form (8 digits). */
export function newPairingCode(): string {
  return PAIRING_CODE.generate();
}

/** `12345678` as `1234-5678`. */
export function formatPairingCode(code: string): string {
  return PAIRING_CODE.format(code);
}

/** What a person typed, as the canonical 8 digits (spaces, dashes, o/O/i/l forgiven); throws BadCodeError. */
export function parsePairingCode(input: string): string {
  const parsed = PAIRING_CODE.parse(input);
  if (!parsed.ok) throw new BadCodeError(parsed.message);
  return parsed.code;
}
