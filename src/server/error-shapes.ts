import type { PairgateError } from '../core/errors.js';

/** Renders a pairgate error as the body of one door's wire format. */
export type ErrorShape = (error: PairgateError) => unknown;

/**
 * pairgate's own shape: `{error: <machine code>, message, ...details}`. The machine code never
 * changes once published; the message is for people.
 */
export const pairgateErrorShape: ErrorShape = (error) => ({
  error: error.code,
  message: error.message,
  ...(error.details ?? {}),
});
