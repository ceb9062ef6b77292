import { isIPv6 } from 'node:net';
import { InvalidRequestError } from '../../core/errors.js';
import type { RecordType, ZoneView } from './dns-records.js';
import { inZone, nameProblem, normaliseName, ownerOf } from './dns-names.js';
import { canonicalAddress } from './record-values.js';
import { hasLoneSurrogate } from '../../core/lone-surrogate.js';
import { MAX_CHARACTER_STRING_BYTES } from './txt-strings.js';

/** Longest TXT value: one DNS character-string. */
export const MAX_TXT_BYTES = MAX_CHARACTER_STRING_BYTES;
/** TXT values one name may hold. */
export const MAX_TXT_PER_NAME = 8;

/** C0 (U+0000-U+001F), DEL (U+007F) and C1 (U+0080-U+009F). */
function isControlCharacter(ch: string): boolean {
  const code = ch.charCodeAt(0);
  return code < 0x20 || (code >= 0x7f && code <= 0x9f);
}

/**
 * Longest CNAME chain inside the zone a new CNAME may start: its chain is walked for loops, and
 * one longer is refused (no resolver follows that far, and a loop longer than the walk was let in).
 */
export const MAX_CHAIN = 16;

const invalid = (message: string, code: string): InvalidRequestError => new InvalidRequestError(message, undefined, code);

/**
 * The address of an A or AAAA record in its one canonical spelling, so that what is stored, listed
 * and compared is the same text for the same address.
 */
function addressValue(type: 'A' | 'AAAA', rawValue: string): string {
  const address = canonicalAddress(type, rawValue);
  if (address !== undefined) return address;
  if (type === 'A') throw invalid('An A record needs an IPv4 address (four numbers 0 to 255 without leading zeros, such as 192.0.2.10).', 'invalid_ip');
  if (isIPv6(rawValue)) throw invalid(`An AAAA record needs an IPv6 address without a zone: "${rawValue}" names an interface (%...) of the machine that wrote it, which means nothing to the machines that look it up. Write ${rawValue.slice(0, rawValue.indexOf('%'))} instead.`, 'invalid_ip');
  throw invalid('An AAAA record needs an IPv6 address.', 'invalid_ip');
}

/**
 * The canonical value of a record a box wants to set, or its refusal, from the value alone: IP
 * addresses must parse (and are written the RFC 5952 way: `canonicalAddress`), TXT is well-formed
 * Unicode text without control characters that fits one character-string, a CNAME target is a
 * valid full name (one label without a final dot is refused as ambiguous) other than the name
 * itself. What the zone holds is checked by `checkRecordFits`.
 */
export function recordValue(zone: string, name: string, type: RecordType, rawValue: string): string {
  switch (type) {
    case 'A':
    case 'AAAA':
      return addressValue(type, rawValue);
    case 'TXT': {
      // Before the length: a lone surrogate counts 3 bytes here but is stored as U+FFFD (3 bytes)
      // or as the bytes ED A0 80 that read back as three U+FFFD (9 bytes), so a value that passed
      // the check was served too long, and could not be deleted by the value sent.
      if (hasLoneSurrogate(rawValue)) throw invalid('A TXT value must be well-formed Unicode text, and this one holds a lone UTF-16 surrogate (a \\uD800-\\uDFFF escape without its pair), which has no UTF-8 form and would be stored as other characters. Send each character whole: one beyond U+FFFF as its two escapes together, or as itself.', 'invalid_txt');
      if (Buffer.byteLength(rawValue, 'utf8') > MAX_TXT_BYTES) throw invalid(`A TXT value is at most ${MAX_TXT_BYTES} bytes.`, 'txt_too_long');
      // C0, DEL and C1 (U+0080-U+009F: NEL, and CSI, which starts a terminal's escape sequence as ESC [ does).
      if ([...rawValue].some(isControlCharacter)) throw invalid('A TXT value cannot hold control characters.', 'invalid_txt');
      return rawValue;
    }
    case 'CNAME': {
      const target = normaliseName(rawValue);
      const problem = nameProblem(target);
      if (problem !== undefined) throw invalid(`A CNAME target must be a valid host name, and "${rawValue}" is not: ${problem}.`, 'invalid_cname');
      // A target is a full name, its final dot optional (`example.org` is `example.org.`, as every
      // DNS hosting API takes it). One label alone is the exception: `local` was served as the
      // top-level name `local.`, while the box surely meant its own `local.<fp>.<zone>`.
      if (!rawValue.endsWith('.') && !target.includes('.')) {
        const mine = `${target}.${ownerOf(name, zone) ?? '<fp>'}.${zone}`;
        throw invalid(`The CNAME target "${rawValue}" is ambiguous: a target is a full name, and "${rawValue}" alone would be the top-level name "${target}.". Write ${mine} for this box's name ${target}, or "${target}." (with the final dot) if the top-level name is meant.`, 'cname_target_ambiguous');
      }
      if (target === name) throw invalid('A CNAME cannot point at itself.', 'cname_loop');
      return target;
    }
  }
}

/**
 * Refuses a record (its value canonical: `recordValue`) that the zone cannot take as it is: a CNAME
 * sharing its name with other data (RFC 1034 3.6.2), a TXT value beyond the name's
 * `MAX_TXT_PER_NAME`, a CNAME whose chain inside the zone leads back to the name (loop). Give it
 * the rows as the write sees them (`ZoneView` inside `DnsRecords.put`), never the DNS answers'
 * look-up cache: a node's cache a second old let a CNAME in beside another node's fresh A record.
 */
export async function checkRecordFits(records: Pick<ZoneView, 'atName'>, zone: string, name: string, type: RecordType, value: string): Promise<void> {
  const existing = await records.atName(name);
  if (type === 'CNAME' ? existing.some((r) => r.type !== 'CNAME') : existing.some((r) => r.type === 'CNAME')) {
    throw invalid('A CNAME cannot share its name with other records; delete them first.', 'cname_conflict');
  }
  if (type === 'TXT') {
    const txt = existing.filter((r) => r.type === 'TXT' && r.value !== value);
    if (txt.length >= MAX_TXT_PER_NAME) throw invalid(`A name holds at most ${MAX_TXT_PER_NAME} TXT values.`, 'too_many_records');
  }
  if (type === 'CNAME') {
    // Follow the chain inside the zone: if it comes back to `name`, the new record would loop.
    let current = value;
    for (let hops = 0; inZone(current, zone); hops++) {
      const next = (await records.atName(current)).find((r) => r.type === 'CNAME');
      if (!next) break;
      // Still inside the zone after MAX_CHAIN names: a loop longer than that, or a chain no resolver follows.
      if (hops === MAX_CHAIN) throw invalid(`This CNAME would lead through more than ${MAX_CHAIN} CNAMEs inside the zone (or round a loop through them): point it nearer the end of the chain.`, 'cname_chain_too_long');
      current = normaliseName(next.value);
      if (current === name) throw invalid('This CNAME would make a loop.', 'cname_loop');
    }
  }
}
