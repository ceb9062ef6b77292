import { PairgateError } from '../../core/errors.js';
import { IllegalTransitionError } from '../../core/grant-machine.js';

/**
 * The generic grant API's words for the engine's refusals. The state machine says them for every
 * door alike ("This request is redeemed and cannot be redeemed."), which names the state but not
 * what the caller should do next; here each says it, with the same machine code, status and
 * details, so programs that branch on the code see no change.
 */

const REDEEM_WORDS: Partial<Record<string, string>> = {
  pending: 'Nobody has decided on this request yet, so it cannot be redeemed. Wait for the decision (GET /api/v1/grants/<id>?wait=60, or its events), then redeem it.',
  refused: 'The person refused this request, so it cannot be redeemed. Create a new grant to ask again.',
  redeemed: 'This request was already redeemed: a grant is redeemed once. Create a new grant to ask again.',
};

const DECISION_WORDS: Partial<Record<string, string>> = {
  approved: 'Someone already approved this request: a code is decided once.',
  refused: 'Someone already refused this request: a code is decided once.',
  redeemed: 'Someone already approved this request, and it was redeemed: a code is decided once.',
};

function reworded(error: unknown, words: Partial<Record<string, string>>, extra: Record<string, unknown> = {}): unknown {
  if (!(error instanceof IllegalTransitionError)) return error;
  const message = words[error.state];
  if (!message) return error;
  return new PairgateError(error.code, error.status, message, { ...error.details, ...extra });
}

/**
 * What to throw for a failed redeem: the engine's refusal said for the creator. A refused grant's
 * answer carries the refuser's note (`note`, null without one): only the secret's holder gets
 * this far, and the note is meant for them (`pairgate grant refuse --note`).
 */
export function redeemRefusal(error: unknown, refusalNote: string | null): unknown {
  const extra = error instanceof IllegalTransitionError && error.state === 'refused' ? { note: refusalNote } : {};
  return reworded(error, REDEEM_WORDS, extra);
}

/** What to throw for a failed decision: two people deciding on one code at the same moment. */
export function decisionRefusal(error: unknown): unknown {
  return reworded(error, DECISION_WORDS);
}
