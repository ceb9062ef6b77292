import { CodeHasher } from '../../src/core/codes.js';

/**
 * One code key for engines and store tests that share grants (two engines on one store must hash
 * alike, as nodes sharing a key do): a fixed key, as tests need no secrecy.
 */
export const testCodes = new CodeHasher(Buffer.alloc(32, 7));

/** A code's stored hash under `testCodes`. */
export const hashCode = (kind: string, code: string): string => testCodes.hash(kind, code);
