import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { GrantState } from '../../src/core/grant.js';
import { effectiveState, IllegalTransitionError, isFinal, transition, type GrantEvent } from '../../src/core/grant-machine.js';
import { ExpiredError } from '../../src/core/errors.js';

const LEGAL: Record<string, GrantState> = { 'pending:approve': 'approved', 'pending:refuse': 'refused', 'approved:redeem': 'redeemed' };

describe('grant state machine', () => {
  it('allows exactly the legal moves, for any state and event', () => {
    fc.assert(
      fc.property(
        fc.constantFrom<GrantState>('pending', 'approved', 'refused', 'redeemed'),
        fc.constantFrom<GrantEvent>('approve', 'refuse', 'redeem'),
        (state, event) => {
          const legal = LEGAL[`${state}:${event}`];
          if (legal) {
            expect(transition({ state, expiresAt: 2000 }, event, 1000).state).toBe(legal);
          } else {
            expect(() => transition({ state, expiresAt: 2000 }, event, 1000)).toThrow(IllegalTransitionError);
          }
        },
      ),
    );
  });

  it('refuses any move once expired, with a typed error', () => {
    for (const event of ['approve', 'refuse', 'redeem'] as const) {
      for (const state of ['pending', 'approved'] as const) {
        expect(() => transition({ state, expiresAt: 1000 }, event, 1000)).toThrow(ExpiredError);
      }
    }
  });

  it('spends the code on a decision, not on redemption', () => {
    expect(transition({ state: 'pending', expiresAt: 9 }, 'approve', 1, { t: 1 })).toEqual({ state: 'approved', result: { t: 1 }, codeHash: null });
    expect(transition({ state: 'approved', expiresAt: 9 }, 'redeem', 1)).toEqual({ state: 'redeemed' });
  });

  it('derives expiry from the clock and keeps final states final', () => {
    expect(effectiveState({ state: 'pending', expiresAt: 10 }, 10)).toBe('expired');
    expect(effectiveState({ state: 'approved', expiresAt: 10 }, 11)).toBe('expired');
    expect(effectiveState({ state: 'redeemed', expiresAt: 10 }, 11)).toBe('redeemed');
    expect(isFinal('refused') && isFinal('redeemed') && isFinal('expired')).toBe(true);
    expect(isFinal('pending') || isFinal('approved')).toBe(false);
  });

  it('names the state in the error code and message', () => {
    try {
      transition({ state: 'refused', expiresAt: 9 }, 'approve', 1);
      expect.unreachable();
    } catch (error) {
      expect(error).toMatchObject({ code: 'grant_refused', status: 409, message: 'This request is refused and cannot be approved.' });
    }
  });
});
