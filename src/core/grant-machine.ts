import { ConflictError, ExpiredError } from './errors.js';
import type { Grant, GrantPatch, GrantState } from './grant.js';

/**
 * The grant state machine as pure functions. Each returns the patch to apply (with the store's
 * compare-and-set on `version`) or throws a typed error for an illegal move; none does I/O.
 *
 *   pending --approve--> approved --redeem--> redeemed
 *   pending --refuse---> refused
 *   pending|approved --(ttl)--> expired
 */

/** Events that move a grant. */
export type GrantEvent = 'approve' | 'refuse' | 'redeem';

const MOVES: Record<GrantEvent, { from: GrantState; to: GrantState }> = {
  approve: { from: 'pending', to: 'approved' },
  refuse: { from: 'pending', to: 'refused' },
  redeem: { from: 'approved', to: 'redeemed' },
};

/** The state a grant is in at `now`, with expiry applied. */
export function effectiveState(grant: Pick<Grant, 'state' | 'expiresAt'>, now: number): GrantState {
  if (grant.expiresAt <= now && (grant.state === 'pending' || grant.state === 'approved')) return 'expired';
  return grant.state;
}

/** True once a grant can no longer change. */
export function isFinal(state: GrantState): boolean {
  return state === 'refused' || state === 'redeemed' || state === 'expired';
}

/** Error raised for a move the state machine forbids; `code` names the state the grant is in. */
export class IllegalTransitionError extends ConflictError {
  constructor(readonly event: GrantEvent, readonly state: GrantState) {
    super(`This request is ${state} and cannot be ${pastTense(event)}.`, `grant_${state}`, { state });
  }
}

function pastTense(event: GrantEvent): string {
  return event === 'approve' ? 'approved' : event === 'refuse' ? 'refused' : 'redeemed';
}

/**
 * The patch for `event` on `grant` at `now`, or a typed error. Approving spends the code: once a
 * person has decided, the code can no longer be looked up.
 */
export function transition<Result>(
  grant: Pick<Grant, 'state' | 'expiresAt'>,
  event: GrantEvent,
  now: number,
  result?: Result,
): GrantPatch<never, Result> {
  const state = effectiveState(grant, now);
  if (state === 'expired') throw new ExpiredError('This request has expired.', 'grant_expired');
  const move = MOVES[event];
  if (state !== move.from) throw new IllegalTransitionError(event, state);
  const patch: GrantPatch<never, Result> = { state: move.to };
  if (result !== undefined) patch.result = result;
  if (event !== 'redeem') patch.codeHash = null;
  return patch;
}
