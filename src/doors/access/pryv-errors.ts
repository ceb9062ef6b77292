import type { ErrorShape } from '../../server/error-shapes.js';

/**
 * Errors of the /access API in the shape of Pryv's service-register: `{id, message, detail?}` at
 * the top, plus `error: {id, message}`, which the `pryv` library reads into its PryvError. `id`
 * is pairgate's stable machine code.
 */
export const pryvRegisterErrorShape: ErrorShape = (error) => ({
  id: error.code,
  message: error.message,
  ...(error.details ? { detail: error.details } : {}),
  error: { id: error.code, message: error.message },
});

/**
 * Errors of the user API (`/<username>/...`) in Pryv's core shape: `{error: {id, message}, meta}`;
 * the library insists on `meta.serverTime` even in errors.
 */
export function pryvApiErrorShape(meta: () => Record<string, unknown>): ErrorShape {
  return (error) => ({ error: { id: error.code, message: error.message }, meta: meta() });
}
