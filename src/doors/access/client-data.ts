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

/** Throws a 400 `code` naming `field` when `value` is nested deeper than MAX_CLIENT_DATA_DEPTH or larger than MAX_CLIENT_DATA as JSON. */
function checkJsonObject(value: Record<string, unknown> | null | undefined, field: string, code: string): void {
  if (!value) return;
  if (depthOver(value, MAX_CLIENT_DATA_DEPTH)) {
    throw new InvalidRequestError(`${field} must be nested at most ${MAX_CLIENT_DATA_DEPTH} levels deep.`, { field }, code);
  }
  if (JSON.stringify(value).length > MAX_CLIENT_DATA) {
    throw new InvalidRequestError(`${field} must be at most ${MAX_CLIENT_DATA} bytes of JSON.`, { field }, code);
  }
}

/**
 * Checks an auth request's clientData: at most MAX_CLIENT_DATA_DEPTH levels of nesting, then at
 * most MAX_CLIENT_DATA bytes as JSON; a 400 `invalid_client_data` that says which, otherwise.
 */
export function checkClientData(clientData: Record<string, unknown> | null | undefined): void {
  checkJsonObject(clientData, 'clientData', 'invalid_client_data');
}

/**
 * Checks an auth request's serviceInfo by the same bounds as clientData: it is stored with the
 * request and answered back in every poll, and its schema bounds only its `name`. Unchecked, a
 * serviceInfo of 5000 nested brackets overflowed the recursive JSON.stringify of the store (a
 * 500), and one of the whole body's size was kept for every waiting request. A 400
 * `validation_failed` naming the field: Pryv's own service info is a few flat links.
 */
export function checkServiceInfo(serviceInfo: Record<string, unknown> | null | undefined): void {
  checkJsonObject(serviceInfo, 'serviceInfo', 'validation_failed');
}
