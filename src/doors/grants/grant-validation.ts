import type { FastifySchemaValidationError } from 'fastify';
import { wordedSchemaErrors } from '../../server/error-handler.js';

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
