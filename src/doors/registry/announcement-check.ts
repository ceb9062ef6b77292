import { Value } from 'typebox/value';
import { InvalidRequestError } from '../../core/errors.js';
import { hasUnshowableText, unshowableRule } from '../shared/shown-text.js';
import { MozillaRegisterBody, StructuredRegisterBody } from './schemas.js';

/** A value as quoted in a message: JSON, cut short. */
function quoted(value: unknown): string {
  const text = JSON.stringify(value) ?? String(value);
  return text.length > 80 ? `${text.slice(0, 77)}...` : text;
}

const FIELD_RULES: Readonly<Record<string, string>> = {
  client: 'is not a box fingerprint: 52 characters a-z and 2-7 (what `pairgate box id` prints), or 40 hex digits (the legacy form)',
  fingerprint: 'is not a box fingerprint: 52 characters a-z and 2-7 (what `pairgate box id` prints), or 40 hex digits (the legacy form)',
  local_origin: 'is not an http:// or https:// URL (e.g. https://192.168.1.20:4443)',
  tunnel_origin: 'is not an http:// or https:// URL, or null',
};

/** What each string field of the two forms takes, said when it is given something else (a number, null, an object). */
const NOT_A_STRING: Readonly<Record<string, string>> = {
  client: 'must be a string: the box fingerprint (what `pairgate box id` prints)',
  fingerprint: 'must be a string: the box fingerprint (what `pairgate box id` prints)',
  message: 'must be a string (usually JSON text, such as {"local_origin": "https://192.168.1.20:4443"})',
  local_origin: 'must be a string: an http:// or https:// URL (e.g. https://192.168.1.20:4443)',
  tunnel_origin: 'must be a string: an http:// or https:// URL, or null',
  name: 'must be a string (a name people recognise), or left out',
};

/**
 * Why an announcement body is refused, in words, or undefined when it is not (or when the schema's
 * own words do). The body is one of two forms (`RegisterBody`, an anyOf): the schema check reports
 * the first form's failures, so a structured announcement with a bad `local_origin` was refused as
 * `body: "client" is required`, about a field it had no reason to send. Here the form is chosen by
 * its key (`client` or not) and that form's first failure is told, naming the field and what it
 * takes.
 */
export function announcementBodyProblem(body: unknown): string | undefined {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) return undefined;
  const fields = body as Record<string, unknown>;
  if (!('client' in fields) && !('fingerprint' in fields)) {
    return 'body: give "client" and "message" (Project Link\'s form) or "fingerprint" and "local_origin" (the structured one).';
  }
  const [first] = Value.Errors('client' in fields ? MozillaRegisterBody : StructuredRegisterBody, body);
  if (!first) return 'client' in fields ? messageNameProblem(fields.message) : structuredFieldProblem(fields);
  if (first.keyword === 'required') return `body: "${String((first.params as { requiredProperties?: string[] }).requiredProperties?.[0])}" is required.`;
  if (first.keyword === 'additionalProperties' || first.keyword === 'boolean') {
    const extra = first.keyword === 'boolean' ? first.instancePath.slice(1) : String((first.params as { additionalProperties?: string[] }).additionalProperties?.[0]);
    return `body: "${extra}" is not an accepted field${'client' in fields ? ' of the form {client, message}' : ' of the form {fingerprint, local_origin, tunnel_origin, name}'}.`;
  }
  const field = first.instancePath.split('/')[1] ?? '';
  const value = fields[field];
  // Told here, in this form's words: left to the schema check, a field of the structured form with
  // no rule above (a name of 101 characters, a name or an origin that is no string) was refused as
  // the other form's first failure, `body: "client" is required`; and an origin too long was told
  // it is no URL.
  if (first.keyword === 'maxLength' && typeof value === 'string') {
    return `body.${field} is longer than ${String((first.params as { limit?: unknown }).limit)} characters (it has ${[...value].length}).`;
  }
  const rule = FIELD_RULES[field];
  if (rule && typeof value === 'string') return `body.${field}: ${quoted(value)} ${rule}.`;
  if (typeof value !== 'string' && Object.hasOwn(NOT_A_STRING, field)) return `body.${field} ${NOT_A_STRING[field]}.`;
  return undefined;
}

/**
 * Why a box's name is refused, or undefined: the name is shown on the boxes page beside the box's
 * fingerprint to people deciding which box to trust, so it is held to the strict rule of names
 * that say who asks (`hasUnshowableText(name, true)`): besides control and text-direction
 * characters, invisible ones (U+200B, soft hyphen, variation selectors...), with which
 * "Kitchen" and "Kitc\u200bhen" look alike but are two boxes, and piles of accents. Letters of any
 * script, accents included, pass.
 */
function nameProblem(name: string, field: string): string | undefined {
  if (!hasUnshowableText(name, true)) return undefined;
  return `${field} must not contain ${unshowableRule(true)}: it is shown to people beside the box's fingerprint. Name the box with visible characters only.`;
}

/**
 * Mozilla's `message` is opaque, but when it is a JSON object with a string `name` (what pairgate
 * boxes send, and what the boxes page shows as the box's name), that name is held to the same rule
 * as the structured form's. Any other message (not JSON, no name) is kept as sent.
 */
function messageNameProblem(message: unknown): string | undefined {
  if (typeof message !== 'string') return undefined;
  let parsed: unknown;
  try {
    parsed = JSON.parse(message);
  } catch {
    return undefined;
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) return undefined;
  const name = (parsed as Record<string, unknown>).name;
  return typeof name === 'string' ? nameProblem(name, 'body.message\'s "name"') : undefined;
}

/**
 * What the schema lets through and the structured form still refuses, since pairgate reads these
 * fields: a `name` the pages cannot show as written (`nameProblem`), and an origin holding such
 * characters too (an origin is an address, where an invisible character has no place either:
 * `https://kitc\u200bhen.example` goes to kitchen.example) or a user name or password
 * (`https://kitchen.local@evil.example`, which goes to evil.example).
 */
function structuredFieldProblem(fields: Record<string, unknown>): string | undefined {
  if (typeof fields.name === 'string') {
    const problem = nameProblem(fields.name, 'body.name');
    if (problem) return problem;
  }
  for (const field of ['local_origin', 'tunnel_origin'] as const) {
    const value = fields[field];
    if (typeof value !== 'string') continue;
    if (hasUnshowableText(value, true)) return `body.${field} must not contain ${unshowableRule(true)}.`;
    // The schema's pattern only looks at the scheme: a port past 65535, an IPv6 address with a
    // zone (`https://[fe80::1%25eth0]`) or unbalanced brackets passed it and were listed, an address
    // no browser or program reading /ping can open.
    if (!URL.canParse(value)) return `body.${field}: ${quoted(value)} ${FIELD_RULES[field]!}.`;
    const url = new URL(value);
    if (url.username !== '' || url.password !== '') return `body.${field} holds a user name or password (not repeated here); announce the address alone (e.g. https://192.168.1.20:4443).`;
  }
  return undefined;
}

/** A route's preValidation: refuses a body `announcementBodyProblem` explains (400 `validation_failed`). */
export async function checkAnnouncementBody(request: { body: unknown }): Promise<void> {
  const problem = announcementBodyProblem(request.body);
  if (problem) throw new InvalidRequestError(problem, undefined, 'validation_failed');
}
