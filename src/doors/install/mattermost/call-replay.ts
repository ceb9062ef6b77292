import { PairgateError } from '../../../core/errors.js';
import { hashToken } from '../../../core/ids.js';
import type { EphemeralStore } from '../../../store/ports.js';
import { CLOCK_TOLERANCE_SECONDS } from './call-jwt.js';

/** A state-changing call received a second time, meaning the same: 409, nothing done again. */
export class CallReplayedError extends PairgateError {
  constructor() {
    // Mostly met by a person who ran the same command twice within a second: the first one ran,
    // so running it again would only repeat it; status says where they stand.
    super('call_replayed', 409, 'This same call was already received and run once; it was not run a second time. /pairgate status says where you stand.');
  }
}

/**
 * What identifies one state-changing Mattermost call: what it means, never how its body is spelt.
 * Every field is one pairgate acts on, in the one form pairgate reads it in.
 */
export interface CallFingerprint {
  installationId: string;
  /** The call token as received (its signature's spelling is made canonical here). */
  jwt: string;
  /** The call's name (`link`, `unlink`): the route, whatever spelling of its URL reached it. */
  call: string;
  /** Who acts: the token's `acting_user_id`, checked equal to the body's before this. */
  actingUserId: string;
  /**
   * What the call acts on beyond its user, in canonical form: a link's token as pairgate reads it
   * (`readLinkToken`'s code: case, dashes, spaces, quotes and look-alikes folded away); nothing
   * (`''`) for an unlink, which acts on its user alone.
   */
  target: string;
  /** When the call token expires (ms): after that (and the clock leeway) it is refused anyway. */
  expiresAt: number;
}

/**
 * Refuses a state-changing call (link, unlink) already received: its fingerprint (installation,
 * call token, call name, acting user, what it acts on) is counted once in the ephemeral store,
 * atomically and shared by every node, and remembered until the token can no longer pass its `exp`
 * check.
 *
 * Why the meaning and not the body's bytes: the call token does not cover the body, so whoever
 * captured a call can change any byte pairgate does not act on (JSON whitespace, key order, an
 * added field, a field it does not read, a link token in another spelling it accepts) and, were
 * the bytes the key, send it as a new call for 15 minutes: a captured unlink would unlink its user
 * again after they linked again. Keyed on what pairgate does with the call, every such variant is
 * the call already run.
 *
 * Why these fields: Mattermost's call token carries only `acting_user_id` and `exp` (now + 15 min,
 * in seconds), no `jti` and nothing of the body, so two genuine calls by one user in the same
 * second carry the same token; only the route and what the call acts on tell them apart (a link
 * with one token, then with another, both run). Two that mean the same under one token are a
 * replay, or a person running the same command twice within a second, which changes nothing the
 * first run did not (an unlink, linking again and unlinking again in one second is no one's
 * typing). Calls Mattermost may legitimately repeat identically (bindings, install, ping) and those
 * that change nothing (status, help) are not checked.
 *
 * The caller takes the claim only after every check that can refuse the call without running it
 * (signature, acting user, state, body): keyed on meaning, a refused call claimed first would
 * spend the claim of the good call with the same meaning sent after it.
 *
 * The count is the claim: of two such calls at once, exactly one gets 1 and runs. Returns how to
 * give the claim back, for a command refused having changed nothing (`runClaimed`).
 */
export async function refuseReplayedCall(ephemeral: EphemeralStore, fingerprint: CallFingerprint, now: number): Promise<() => Promise<void>> {
  // jose accepts a token until `exp` plus the leeway; the entry outlives that by a second, so no
  // rounding of either clock to whole seconds can leave a gap.
  const ttlMs = Math.max(1000, fingerprint.expiresAt + (CLOCK_TOLERANCE_SECONDS + 1) * 1000 - now);
  // A JSON list, so no value can pass for a separator and shift the others.
  const meaning = JSON.stringify([canonicalToken(fingerprint.jwt), fingerprint.call, fingerprint.actingUserId, fingerprint.target]);
  const key = `mattermost-seen:${fingerprint.installationId}:${hashToken(meaning)}`;
  const seen = await ephemeral.increment(key, ttlMs, now);
  if (seen.count > 1) throw new CallReplayedError();
  return () => ephemeral.delete(key);
}

/**
 * The call token with its signature spelt one way: base64url leaves the last character's lowest
 * bits unused, and jose passes every spelling of them, so a captured token with that character
 * changed was a new call to a byte-for-byte memory. The header and payload need no such care: they
 * are what is signed, so another spelling of them fails the signature check.
 */
function canonicalToken(jwt: string): string {
  const signatureAt = jwt.lastIndexOf('.') + 1;
  return jwt.slice(0, signatureAt) + Buffer.from(jwt.slice(signatureAt), 'base64url').toString('base64url');
}
