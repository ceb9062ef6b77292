import type { PairgateError } from '../core/errors.js';

/**
 * Renders a pairgate error as the body of one door's wire format. A shape whose machine codes are
 * not pairgate's (OAuth's `invalid_request` for most refusals) says how, with `documented`: the
 * OpenAPI document's shared answers (openapi-responses.ts) name pairgate's codes, and it adds what
 * a client of that shape reads instead.
 */
export type ErrorShape = ((error: PairgateError) => unknown) & {
  documented?: (description: string, example: PairgateError) => string;
};

/**
 * pairgate's own shape: `{error: <machine code>, message, ...details}`. The machine code never
 * changes once published; the message is for people.
 */
export const pairgateErrorShape: ErrorShape = (error) => ({
  error: error.code,
  message: error.message,
  ...(error.details ?? {}),
});
