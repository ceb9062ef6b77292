import type { FastifySchemaValidationError } from 'fastify';
import { wordedSchemaErrors } from '../../server/error-handler.js';
import { CLIENT_ID_RULE, CLIENT_NAME_RULE, MAX_CLIENT_SCOPES, SCOPE_TOKEN_MAX } from './client-rules.js';

/** What a scope token may be, said to people. */
const SCOPE_RULE = `1 to ${SCOPE_TOKEN_MAX} characters, without spaces, double quotes or backslashes (RFC 6749)`;

/**
 * The rule a refused field breaks, in words, for the fields whose schema says it with a regular
 * expression (the generic message, "must match pattern "^[A-Za-z0-9._~:@/+-]{1,100}$"", tells an
 * admin nothing) or a bound; undefined for the rest, which the generic message says well ("body:
 * "name" is required.", "... is not an accepted field").
 */
function ruleBroken(error: FastifySchemaValidationError, where: string): string | undefined {
  const path = error.instancePath;
  if (where === 'params' && path === '/clientId') return `client_id (in the path) must be ${CLIENT_ID_RULE}.`;
  if (where !== 'body') return undefined;
  if (path === '/name' && error.keyword !== 'type') return `name must be ${CLIENT_NAME_RULE}: the consent screen shows it to the person as written.`;
  if (path === '/scopes' && error.keyword === 'maxItems') return `scopes may hold at most ${MAX_CLIENT_SCOPES} scope tokens.`;
  const scope = /^\/scopes\/(\d+)$/.exec(path);
  if (scope && error.keyword !== 'type') return `scopes[${scope[1]!}] must be a scope token: ${SCOPE_RULE}.`;
  return undefined;
}

/**
 * The admin API routes' `schemaErrorFormatter`: a 400 `validation_failed` that says the rule in
 * words where the schema's own message would quote a regular expression; otherwise the server's own.
 */
export const adminValidationError = wordedSchemaErrors(ruleBroken);
