import { FINGERPRINT_PATTERN } from '../../core/fingerprint.js';

/**
 * Names inside the zone. Names are kept lower case without the trailing dot; a box owns
 * `<fingerprint>.<zone>` and every name under it.
 */

/**
 * Lower case, without a trailing dot. Only ASCII letters are lowered, as DNS compares names
 * (RFC 4343): JavaScript's full Unicode rules made U+212A KELVIN SIGN a "k", so a query spelling a
 * name with it was answered with the records of the name with k.
 */
export function normaliseName(name: string): string {
  return name.replace(/[A-Z]+/g, (letters) => letters.toLowerCase()).replace(/\.$/, '');
}

const LABEL = /^[a-z0-9_]([a-z0-9_-]{0,61}[a-z0-9_])?$/;

/** A syntactically valid host name (labels of letters, digits, `-` and `_`; <= 253 characters). */
export function isValidName(name: string): boolean {
  const n = normaliseName(name);
  return n.length > 0 && n.length <= 253 && n.split('.').every((label) => LABEL.test(label));
}

/**
 * Why `name` is not a valid host name, in words a person can act on, or undefined when it is one:
 * "not a valid DNS name" alone left the writer guessing between length, characters and empty labels.
 */
export function nameProblem(name: string): string | undefined {
  const n = normaliseName(name);
  if (n.length === 0) return 'the name is empty';
  if (n.length > 253) return `the name is ${n.length} characters long, more than the 253 DNS allows`;
  for (const label of n.split('.')) {
    if (label.length === 0) return 'it has an empty label (two dots in a row)';
    if (label.length > 63) return `its label "${label.slice(0, 20)}..." is ${label.length} characters long, more than the 63 DNS allows`;
    if (!LABEL.test(label)) return `its label "${label}" may hold only letters, digits, "-" and "_", and may not start or end with "-"`;
  }
  return undefined;
}

/** Whether `name` is `zone` or under it. */
export function inZone(name: string, zone: string): boolean {
  return name === zone || name.endsWith(`.${zone}`);
}

/** The fingerprint owning `name` (its label right above the zone), or undefined. */
export function ownerOf(name: string, zone: string): string | undefined {
  if (!name.endsWith(`.${zone}`)) return undefined;
  const labels = name.slice(0, -zone.length - 1).split('.');
  const fp = labels[labels.length - 1]!;
  return FINGERPRINT_PATTERN.test(fp) ? fp : undefined;
}

/** Mozilla's update paths name a record by its labels reversed: `test/example/box/<fp>/local`. */
export function nameFromReversedLabels(path: string): string {
  return normaliseName(path.split('/').filter((label) => label.length > 0).reverse().join('.'));
}

/** The reversed-labels path of a name. */
export function reversedLabelsOf(name: string): string {
  return normaliseName(name).split('.').reverse().join('/');
}
