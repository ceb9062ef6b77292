import { PairgateError } from '../../../core/errors.js';
import { hashToken } from '../../../core/ids.js';
import type { EphemeralStore } from '../../../store/ports.js';
import { CLOCK_TOLERANCE_SECONDS } from './call-jwt.js';

/** A state-changing call received a second time, identical: 409, nothing done again. */
export class CallReplayedError extends PairgateError {
  constructor() {
    // Mostly met by a person who ran the same command twice within a second: the first one ran,
    // so running it again would only repeat it; status says where they stand.
    super('call_replayed', 409, 'This same call was already received and run once; it was not run a second time. /pairgate status says where you stand.');
  }
}

/** What identifies one state-changing Mattermost call. */
export interface CallFingerprint {
  installationId: string;
  /** The call token exactly as received. */
  jwt: string;
  /** The call's name (`link`, `unlink`): the route, whatever spelling of its URL reached it. */
  call: string;
  /** The body's exact bytes. */
  rawBody: string;
  /** When the call token expires (ms): after that (and the clock leeway) it is refused anyway. */
  expiresAt: number;
}

/**
 * Refuses a state-changing call (link, unlink) already received: its fingerprint (installation,
 * call token, call name, exact body) is counted once in the ephemeral store, atomically and
 * shared by every node, and remembered until the token can no longer pass its `exp` check.
 *
 * Why all four: Mattermost's call token carries only `acting_user_id` and `exp` (now + 15 min, in
 * seconds), no `jti` and nothing of the body, so two genuine calls by one user in the same second
 * carry the same token; only the route and body tell them apart. The same route and body twice
 * under one token is a replay, or a person running the same command twice within a second, which
 * changes nothing the first run did not. Calls Mattermost may legitimately repeat identically
 * (bindings, install, ping) and those that change nothing (status, help) are not checked.
 *
 * The count is the claim: of two identical calls at once, exactly one gets 1 and runs. Returns
 * how to give the claim back, for a command refused having changed nothing (`runClaimed`).
 */
export async function refuseReplayedCall(ephemeral: EphemeralStore, fingerprint: CallFingerprint, now: number): Promise<() => Promise<void>> {
  // jose accepts a token until `exp` plus the leeway; the entry outlives that by a second, so no
  // rounding of either clock to whole seconds can leave a gap.
  const ttlMs = Math.max(1000, fingerprint.expiresAt + (CLOCK_TOLERANCE_SECONDS + 1) * 1000 - now);
  const digest = hashToken(`${canonicalToken(fingerprint.jwt)}\n${fingerprint.call}\n${fingerprint.rawBody}`);
  const key = `mattermost-seen:${fingerprint.installationId}:${digest}`;
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
