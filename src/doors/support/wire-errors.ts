import { STATUS_CODES } from 'node:http';
import type { ErrorShape } from '../../server/error-shapes.js';

/**
 * The two wire shapes of the support door's errors. The origin speaks Plexus
 * (`{Error: <HTTP status text>, Description}`), the relay speaks the pairing directory's
 * (`{success: false, error}` and, for 429, `{success: false, message, wait_seconds}`). Both add the
 * stable machine code (`Code` / `code`) so programs can branch on it; clients of the original
 * ignore the extra key.
 */

/** Origin errors: `{"Error": "Not Found", "Description": "Code not found", "Code": "code_not_found"}`. */
export const plexusErrorShape: ErrorShape = (error) => ({
  Error: STATUS_CODES[error.status] ?? 'Error',
  Description: error.message,
  Code: error.code,
});

/** Relay errors: `{"success": false, "error": "..."}`; 429 `{"success": false, "message", "wait_seconds"}`. */
export const relayErrorShape: ErrorShape = (error) => {
  if (error.status === 429) {
    const wait = Number(error.details?.retryAfterSeconds ?? 5);
    return { success: false, message: error.message, wait_seconds: wait, code: error.code };
  }
  return { success: false, error: error.message, code: error.code };
};
