import type { FastifySchemaValidationError } from 'fastify';
import { wordedSchemaErrors } from '../../server/error-handler.js';

/**
 * What a refused field of the access API breaks, in words, where the schema's own message would
 * mislead: a key or an access id quoted as a regular expression, or a `requestedPermissions` sent as a single
 * value or a list of names, refused as "requestedPermissions must be array" or "requestedPermissions.0
 * must be object". Undefined for the rest, which the generic message says well.
 */
function ruleBroken(error: FastifySchemaValidationError, where: string): string | undefined {
  if (where === 'params' && error.instancePath === '/key') {
    return 'This is not an auth request key (10 to 200 characters of A-Z a-z 0-9 _ -): use the poll URL that POST /access answered, unchanged.';
  }
  if (where === 'params' && error.instancePath === '/id') return 'This is not an app access id: use the id of one of yours, from GET /api/v1/accesses.';
  if (where === 'body' && error.keyword === 'type' && /^\/requestedPermissions(\/\d+)?$/.test(error.instancePath)) {
    return 'requestedPermissions must be a list of permission objects, e.g. [{"streamId": "diary", "level": "read"}].';
  }
  return undefined;
}

/**
 * The access routes' `schemaErrorFormatter`: a 400 `validation_failed` in words where the generic
 * message would mislead (above); otherwise the server's own.
 */
export const accessValidationError = wordedSchemaErrors(ruleBroken);
