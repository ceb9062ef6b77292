import { InvalidRequestError } from '../../core/errors.js';

/** Largest clientData, serialised: it is shown on the consent page and stored with the request. */
export const MAX_CLIENT_DATA = 16 * 1024;

/**
 * Deepest nesting of objects and arrays in clientData. Pryv apps put a few flat entries there
 * (`app-web-auth:description`); the bound only has to stop a body of nested brackets, which
 * JSON.parse reads but the recursive JSON.stringify (the size check, the store, the 201 answer)
 * overflows the stack on: 20000 `[` inside a 64 KiB body made the request a 500.
 */
export const MAX_CLIENT_DATA_DEPTH = 32;

/** The nesting depth of `value`, counted without recursion, stopping once it passes `limit`. */
function depthOver(value: unknown, limit: number): boolean {
  const stack: Array<{ value: unknown; depth: number }> = [{ value, depth: 0 }];
  while (stack.length > 0) {
    const { value: current, depth } = stack.pop()!;
    if (current === null || typeof current !== 'object') continue;
    if (depth + 1 > limit) return true;
    for (const child of Object.values(current as Record<string, unknown>)) stack.push({ value: child, depth: depth + 1 });
  }
  return false;
}

/**
 * Checks an auth request's clientData: at most MAX_CLIENT_DATA_DEPTH levels of nesting, then at
 * most MAX_CLIENT_DATA bytes as JSON; a 400 `invalid_client_data` that says which, otherwise.
 */
export function checkClientData(clientData: Record<string, unknown> | null | undefined): void {
  if (!clientData) return;
  if (depthOver(clientData, MAX_CLIENT_DATA_DEPTH)) {
    throw new InvalidRequestError(`clientData must be nested at most ${MAX_CLIENT_DATA_DEPTH} levels deep.`, { field: 'clientData' }, 'invalid_client_data');
  }
  if (JSON.stringify(clientData).length > MAX_CLIENT_DATA) {
    throw new InvalidRequestError(`clientData must be at most ${MAX_CLIENT_DATA} bytes of JSON.`, { field: 'clientData' }, 'invalid_client_data');
  }
}
