import { describe, expect, it } from 'vitest';
import { SESSION_ID_PATTERN } from '../../../src/doors/support/schemas.js';
import { newSessionId } from '../../../src/doors/support/session-model.js';

describe('random session ids', () => {
  it('always fit the pattern the session routes check: never a leading - or _ (one base64url id in 32 had one)', () => {
    const pattern = new RegExp(SESSION_ID_PATTERN);
    const ids = Array.from({ length: 4000 }, () => newSessionId());
    expect(ids.filter((id) => !pattern.test(id))).toEqual([]);
    expect(ids.every((id) => id.length === 12)).toBe(true);
    expect(new Set(ids).size).toBe(ids.length);
  });
});
