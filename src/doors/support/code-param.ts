import type { FastifyRequest } from 'fastify';
import { InvalidRequestError } from '../../core/errors.js';
import { prefersHtml } from '../../web/error-page.js';

/**
 * The longest text taken as a code, in a path (the schemas' `maxLength`) or typed in the relay's
 * form (a code has 6 symbols; room for spaces and dashes).
 */
export const MAX_TYPED_CODE = 64;

/** The words of a text of `length` characters, too long to be a code. */
export function tooLongForACode(length: number): string {
  return `This is not a support code: it has ${length} characters, and a code has 6 letters and digits. Type the code your supporter gave you on the phone.`;
}

/**
 * A `preValidation` hook of the routes with a `:code` in their path (the relay's redirect, the
 * origin's pairing info and confirmation): a program (Accept without text/html) sending a code
 * longer than MAX_TYPED_CODE gets a 400 `code_invalid` in words, in the route's error shape, as
 * any malformed code gets its own `code_*` machine code; the schema's own refusal would be
 * `validation_failed` speaking of `params.code`. A browser still reaches that refusal, which the
 * error page words for a person ("This link does not work"), in the page's language.
 */
export async function refuseOverlongCode(request: FastifyRequest): Promise<void> {
  const code = (request.params as { code?: unknown } | undefined)?.code;
  if (typeof code === 'string' && code.length > MAX_TYPED_CODE && !prefersHtml(request)) {
    throw new InvalidRequestError(tooLongForACode(code.length), undefined, 'code_invalid');
  }
}
