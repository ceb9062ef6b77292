import { describe, expect, it } from 'vitest';
import { PairgateError } from '../../../src/core/errors.js';
import { IllegalTransitionError } from '../../../src/core/grant-machine.js';
import { decisionRefusal, redeemRefusal } from '../../../src/doors/grants/refusals.js';

describe("the generic grant API's words for the engine's refusals", () => {
  it('says a decision lost to another one (two approvers at the same moment) in words, with the same code and status', () => {
    // The race cannot be timed from outside: the loser passed the code look-up before the winner spent it.
    for (const [state, message] of [
      ['approved', 'Someone already approved this request: a code is decided once.'],
      ['refused', 'Someone already refused this request: a code is decided once.'],
      ['redeemed', 'Someone already approved this request, and it was redeemed: a code is decided once.'],
    ] as const) {
      const said = decisionRefusal(new IllegalTransitionError('approve', state)) as PairgateError;
      expect(said).toBeInstanceOf(PairgateError);
      expect({ code: said.code, status: said.status, message: said.message, details: said.details }).toEqual({ code: `grant_${state}`, status: 409, message, details: { state } });
    }
  });

  it('leaves any other error as it is', () => {
    const other = new Error('disk full');
    expect(decisionRefusal(other)).toBe(other);
    expect(redeemRefusal(other, 'note')).toBe(other);
    const pending = new IllegalTransitionError('approve', 'pending');
    expect(decisionRefusal(pending)).toBe(pending);
  });
});
