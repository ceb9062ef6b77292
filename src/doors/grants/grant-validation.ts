import type { FastifySchemaValidationError } from 'fastify';
import { InvalidRequestError } from '../../core/errors.js';
import { wordedSchemaErrors } from '../../server/error-handler.js';
import { hasUnshowableText, unshowableRule } from '../shared/shown-text.js';

/**
 * What a refused field of the generic grant API breaks, in words, where the schema's own message
 * would mislead: a blank label (empty, or only spaces), which the schema refuses as "must match
 * pattern \S". Undefined for the rest, which the generic message says well.
 */
function ruleBroken(error: FastifySchemaValidationError, where: string): string | undefined {
  if (where === 'body' && error.instancePath === '/label' && (error.keyword === 'pattern' || error.keyword === 'minLength')) {
    return 'The label is blank: give it a few words that tell the approver what they are approving (1 to 200 characters, not only spaces).';
  }
  return undefined;
}

/** The grant routes' `schemaErrorFormatter`: a 400 `validation_failed` in words where the generic message would mislead. */
export const grantValidationError = wordedSchemaErrors(ruleBroken);

/**
 * Refuses a label or data fact holding a character no one can be shown as written (a control or
 * text-direction character: `shared/shown-text.ts`, the rule the access and device doors follow):
 * the approver decides on what these say, and a U+202E turns the rest of a line around wherever it
 * is shown (the CLI neutralises them; a program's own page may not). A 400 `validation_failed`
 * naming the field.
 */
export function checkShownFields(body: { label: string; data?: Record<string, string> }): void {
  const refuse = (field: string): never => {
    throw new InvalidRequestError(`${field} must not contain ${unshowableRule()}: the approver is shown it as written.`, { field }, 'validation_failed');
  };
  if (hasUnshowableText(body.label)) refuse('label');
  for (const [name, value] of Object.entries(body.data ?? {})) {
    if (hasUnshowableText(name)) refuse('a data name');
    if (hasUnshowableText(value)) refuse(`data.${name}`);
  }
}

/**
 * Refuses a decision's note holding such a character (`checkShownFields`' rule), line breaks and
 * tabs excepted (a note may take a few lines, which the CLI prints on one): the creator is handed
 * it with the result (the redeem's answer, a refusal's 409) and shows it to its own user.
 */
export function checkShownNote(note: string | undefined): void {
  if (note !== undefined && hasUnshowableText(note.replace(/\r\n|[\n\t]/g, ' '))) {
    throw new InvalidRequestError(`note must not contain ${unshowableRule()} other than line breaks and tabs: the requester is shown it as written.`, { field: 'note' }, 'validation_failed');
  }
}
