import { isPairgateError } from '../core/errors.js';
import { PairgateApiError } from '../sdk/errors.js';

/**
 * Prints an error for a person: the message and, for pairgate errors, the machine code. Returns
 * the exit code: 2 for bad input or configuration, 1 otherwise.
 */
export function reportCliError(error: unknown): number {
  if (isPairgateError(error)) {
    console.error(`pairgate: ${error.message} [${error.code}]`);
    return error.status >= 400 && error.status < 500 ? 2 : error.code === 'config_invalid' ? 2 : 1;
  }
  if (error instanceof PairgateApiError) {
    console.error(`pairgate: ${error.message}${error.code !== 'network_error' ? ` [${error.code}]` : ''}`);
    return error.status >= 400 && error.status < 500 ? 2 : 1;
  }
  const message = error instanceof Error ? error.message : String(error);
  console.error(`pairgate: ${message}`);
  return 1;
}
