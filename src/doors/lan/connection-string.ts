import { BadConnectionStringError } from './lan-errors.js';
import { MAX_ADDRESSES, packAddresses, unpackAddresses } from './ip-addresses.js';

/**
 * The connection string: what the QR code holds. Layout, all fields base64url without padding:
 *
 *   pg1:<ip block>:<port>:<key sha256>:<secret>:<device id>:<device name>[:<future fields>...]
 *
 * The version is the prefix. Fields added by later versions of `pg1` go after the name and are
 * ignored by this parser (forward compatible); anything that changes the meaning of an existing
 * field takes a new version, which this parser refuses with a message telling the user to update.
 */

/** The version prefix this code writes and reads. */
export const CONNECTION_STRING_VERSION = 'pg1';
/** Longest string accepted: a QR code much larger than this is hard to scan anyway. */
export const MAX_CONNECTION_STRING_LENGTH = 600;
/** Byte sizes of the fixed-size fields. */
export const KEY_HASH_BYTES = 32;
export const SECRET_BYTES = 32;
export const DEVICE_ID_BYTES = 16;
/** Longest device name, in UTF-8 bytes. */
export const MAX_NAME_BYTES = 64;

/** What a connection string says. */
export interface ConnectionInfo {
  /** IPv4 and IPv6 addresses of the offering device (may be empty: then discovery finds it). */
  addresses: string[];
  /** TCP port of its pairing listener. */
  port: number;
  /** SHA-256 of the DER SubjectPublicKeyInfo of its TLS key: the pin. */
  keySha256: Buffer;
  /** The 32-byte pairing secret. */
  secret: Buffer;
  /** Its device id (16 bytes, base64url). */
  deviceId: string;
  /** Its name, for people. */
  name: string;
}

const BASE64URL = /^[A-Za-z0-9_-]*$/;
// Terminal control characters in a name could rewrite what the user sees; refuse them.
// eslint-disable-next-line no-control-regex
const CONTROL = /[\u0000-\u001f\u007f-\u009f]/;

/**
 * Characters a name may not hold either, though they steer no cursor: every format character
 * (\p{Cf}: the bidirectional marks U+061C, U+200E, U+200F, embeddings, overrides and isolates,
 * which show the rest of a line (an address, a key after the name) in another order than it
 * reads; zero-width spaces, the word joiner, the BOM, the soft hyphen and tag characters, which
 * show as nothing) and the line and paragraph separators U+2028 and U+2029 (\p{Zl}, \p{Zp}),
 * which some terminals and every JSON-reading tool take for a line break. Names are printed as
 * they are (`peers list`, "Paired with ...", `lan inspect`), so this is a superset of what
 * `terminal-text.ts` cleans from other text. Refusing tag characters also refuses the three
 * subdivision flags (England, Scotland, Wales), a small price for no hidden text.
 */
const FORMAT = /[\p{Cf}\p{Zl}\p{Zp}]/u;

/**
 * The zero-width joiner and non-joiner (both \p{Cf}) where they do their work, between two
 * characters that show (letters, combining marks, pictographs, skin tones, the emoji variation
 * selector): kept, since emoji sequences (U+1F469 U+200D U+1F4BB, "woman technologist") and
 * ordinary words of Persian ("laptop" is U+0644 U+067E U+200C U+062A U+0627 U+067E) and of
 * Indic scripts need them, and there they change only how their neighbours join, never the order
 * of the line nor the cursor. Anywhere else (at an end, beside a space, a digit or another
 * joiner) they show nothing and serve only to make two names look alike, so they are refused.
 * A joiner between two letters can still make "lap<ZWJ>top" look like "laptop", as look-alike
 * letters of other scripts can: a name only tells people which device is which, the key pin
 * says which device it is.
 */
const JOINER_AT_WORK = /(?<=[\p{L}\p{M}\p{Extended_Pictographic}\p{Emoji_Modifier}\uFE0F])[\u200C\u200D](?=[\p{L}\p{M}\p{Extended_Pictographic}])/gu;

/**
 * The invisible formatting characters of a name, joiners at work excepted (`JOINER_AT_WORK` kept
 * as the first group): what `writtenName` drops.
 */
const INVISIBLE = new RegExp(`(${JOINER_AT_WORK.source})|${FORMAT.source}`, 'gu');

/** What versions before the FORMAT rule refused in a name already: controls, bidi embeddings, overrides and isolates. */
// eslint-disable-next-line no-control-regex
const REFUSED_BEFORE = /[\u0000-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069]/;

/**
 * A name written by another device or an earlier version of this one (a connection string, a
 * peer's identity, `device.json`), as this version uses it: its invisible formatting characters
 * dropped (a soft hyphen, a zero-width space, a bidi mark, a tag-sequence flag's tags), which
 * earlier versions took. Refused as a whole, those names made every pairing with a device not yet
 * upgraded fail, and `lan offer` too when this device had been named so. What earlier versions
 * refused as well (controls, overrides) is left in, for `nameProblem` to refuse as before.
 */
export function writtenName(name: string): string {
  return REFUSED_BEFORE.test(name) ? name : name.replace(INVISIBLE, (_match, joiner: string | undefined) => joiner ?? '');
}

/** Why a device name cannot be used, or undefined. */
export function nameProblem(name: string): string | undefined {
  const bytes = Buffer.byteLength(name, 'utf8');
  if (bytes === 0) return 'the device name is empty';
  if (bytes > MAX_NAME_BYTES) return `the device name is longer than ${MAX_NAME_BYTES} bytes`;
  if (CONTROL.test(name)) return 'the device name contains control characters';
  if (FORMAT.test(name.replace(JOINER_AT_WORK, ''))) {
    return 'the device name contains invisible formatting characters (a bidirectional mark, a line or paragraph separator, a zero-width character)';
  }
  return undefined;
}

/** Writes a connection string. Throws RangeError when a value cannot be encoded. */
export function encodeConnectionString(info: ConnectionInfo): string {
  if (info.addresses.length > MAX_ADDRESSES) throw new RangeError(`at most ${MAX_ADDRESSES} addresses fit in a connection string`);
  if (!Number.isInteger(info.port) || info.port < 1 || info.port > 65535) throw new RangeError('the port must be 1-65535');
  if (info.keySha256.length !== KEY_HASH_BYTES) throw new RangeError(`the key hash must be ${KEY_HASH_BYTES} bytes`);
  if (info.secret.length !== SECRET_BYTES) throw new RangeError(`the secret must be ${SECRET_BYTES} bytes`);
  if (Buffer.from(info.deviceId, 'base64url').length !== DEVICE_ID_BYTES) throw new RangeError(`the device id must be ${DEVICE_ID_BYTES} bytes`);
  const problem = nameProblem(info.name);
  if (problem) throw new RangeError(problem);
  const port = Buffer.alloc(2);
  port.writeUInt16BE(info.port);
  return [
    CONNECTION_STRING_VERSION,
    packAddresses(info.addresses).toString('base64url'),
    port.toString('base64url'),
    info.keySha256.toString('base64url'),
    info.secret.toString('base64url'),
    info.deviceId,
    Buffer.from(info.name, 'utf8').toString('base64url'),
  ].join(':');
}

/**
 * What the person can do about a string that cannot be read: almost always a copy cut short or
 * mistyped (the offer writes only good ones). Said after each refusal but a newer version's, which
 * says to update instead; never the string itself.
 */
export const COPY_AGAIN = 'Copy the whole string again from the offer running now (pairgate lan offer shows it), or scan its QR code.';

/** A refusal of the string's `name` field, with what to do about it. */
function refused(message: string, name: string): BadConnectionStringError {
  return new BadConnectionStringError(`${message} ${COPY_AGAIN}`, name);
}

/** Decodes one base64url field strictly: only the canonical encoding of some bytes is accepted. */
function field(text: string | undefined, name: string): Buffer {
  // Empty (the string ends at the colon before it) is cut short too: it read "must be 32 bytes, not 0".
  if (text === undefined || text === '') throw refused(`The connection string is cut short: the ${name} is missing.`, name);
  if (!BASE64URL.test(text)) throw refused(`The ${name} of the connection string has characters outside base64url.`, name);
  const bytes = Buffer.from(text, 'base64url');
  if (bytes.toString('base64url') !== text) throw refused(`The ${name} of the connection string is not valid base64url (cut short?).`, name);
  return bytes;
}

function exactLength(bytes: Buffer, expected: number, name: string): Buffer {
  if (bytes.length !== expected) {
    throw refused(`The ${name} in the connection string must be ${expected} bytes, not ${bytes.length}.`, name);
  }
  return bytes;
}

/**
 * Reads a connection string. Never echoes the input (it holds the secret); every refusal is a
 * BadConnectionStringError naming the field at fault.
 */
export function decodeConnectionString(input: string): ConnectionInfo {
  // No field holds white space (each is base64url), so a string that a terminal, a mail or a
  // chat wrapped over lines, or broke at its colons, is read as it was meant.
  const text = input.replace(/\s+/g, '');
  if (text.length > MAX_CONNECTION_STRING_LENGTH) {
    throw refused(`The connection string is too long (${text.length} characters; at most ${MAX_CONNECTION_STRING_LENGTH}).`, 'length');
  }
  const parts = text.split(':');
  const version = parts[0] ?? '';
  if (version !== CONNECTION_STRING_VERSION) {
    const other = /^pg(\d{1,4})$/.exec(version);
    if (other) {
      throw new BadConnectionStringError(`This connection string has version ${other[1]}, which this pairgate does not read (it reads version 1). Update pairgate on this device.`, 'version');
    }
    throw refused('This is not a pairgate connection string (it should start with "pg1:").', 'version');
  }
  let addresses: string[];
  try {
    // Empty is fine here: an offer with no address of its own is found by discovery.
    addresses = parts[1] === '' ? [] : unpackAddresses(field(parts[1], 'IP block'));
  } catch (error) {
    if (error instanceof BadConnectionStringError) throw error;
    throw refused(`The IP block of the connection string is invalid: ${(error as Error).message}.`, 'IP block');
  }
  const portBytes = exactLength(field(parts[2], 'port'), 2, 'port');
  const port = portBytes.readUInt16BE(0);
  if (port < 1) throw refused('The port in the connection string must be between 1 and 65535.', 'port');
  const keySha256 = exactLength(field(parts[3], 'key hash'), KEY_HASH_BYTES, 'key hash');
  const secret = exactLength(field(parts[4], 'secret'), SECRET_BYTES, 'secret');
  const deviceId = exactLength(field(parts[5], 'device id'), DEVICE_ID_BYTES, 'device id').toString('base64url');
  const nameBytes = field(parts[6], 'device name');
  const name = new TextDecoder('utf-8', { fatal: false }).decode(nameBytes);
  if (!Buffer.from(name, 'utf8').equals(nameBytes)) throw refused('The device name in the connection string is not valid UTF-8.', 'device name');
  const problem = nameProblem(writtenName(name));
  if (problem) throw refused(`The connection string is invalid: ${problem}.`, 'device name');
  // parts[7...] are fields of later pg1 writers: ignored on purpose.
  return { addresses, port, keySha256, secret, deviceId, name: writtenName(name) };
}

/** The connection info without the secret, for JSON output and logs. */
export function describeConnection(info: ConnectionInfo): { addresses: string[]; port: number; keySha256: string; deviceId: string; name: string } {
  return { addresses: info.addresses, port: info.port, keySha256: info.keySha256.toString('base64url'), deviceId: info.deviceId, name: info.name };
}
