import type { FastifySchemaValidationError } from 'fastify';
import { wordedSchemaErrors } from '../../server/error-handler.js';

/** Longest query parameter name repeated in a refusal (the name is the sender's). */
const MAX_NAME = 60;

/**
 * What a refused request of the update API breaks, in words, where the generic message would say
 * too little: a query parameter the route does not read. DELETE without its `type` or `value`
 * removes every record at the name, so a misspelled filter (`?Type=TXT`) ignored deleted the A
 * record too; every route refuses the parameters it does not know rather than ignore them.
 */
function ruleBroken(error: FastifySchemaValidationError, where: string): string | undefined {
  if (where !== 'querystring' || error.keyword !== 'additionalProperties') return undefined;
  const name = String((error.params as { additionalProperty?: unknown }).additionalProperty ?? '');
  const shown = JSON.stringify(name.length > MAX_NAME ? `${name.slice(0, MAX_NAME)}...` : name);
  return `The query parameter ${shown} is not one the update API reads: DELETE takes type and value (lower case), GET and POST none. An unknown parameter is refused rather than ignored, since a DELETE without its filter removes every record at the name.`;
}

/** The update API routes' `schemaErrorFormatter`: a 400 `validation_failed` naming an unknown query parameter. */
export const updateValidationError = wordedSchemaErrors(ruleBroken);
