import { createHmac } from 'node:crypto';
import { PairgateError } from '../../../core/errors.js';
import { constantTimeEqual } from '../../../core/ids.js';

/** Header with the Unix time (seconds) the caller signed at. */
export const TIMESTAMP_HEADER = 'x-pairgate-timestamp';
/** Header with `v1=<hex HMAC-SHA256>`. */
export const SIGNATURE_HEADER = 'x-pairgate-signature';
/** How far a signature's time may be from ours: replays older than this are refused. */
export const MAX_SKEW_SECONDS = 300;

/**
 * How long a signature received at `now` with `timestamp` is remembered, so the same call cannot be
 * played twice: as long as that timestamp can pass the skew check, and a second more. The check
 * compares whole seconds (`now` rounded down), so a timestamp passes until the end of the second
 * MAX_SKEW_SECONDS after it, up to a second later than `timestamp + MAX_SKEW_SECONDS` exactly: a
 * memory of a fixed 2 x MAX_SKEW_SECONDS from receipt ended up to a second before the signature
 * stopped passing, and the same call went through again in that second. The extra second covers
 * a node whose clock is a little behind the one that remembered it, as the Mattermost replay
 * memory does. At most (2 x MAX_SKEW_SECONDS + 2) s.
 */
export function seenSignatureTtlMs(timestamp: string, now: number): number {
  return Math.max(1000, (Number(timestamp) + MAX_SKEW_SECONDS + 2) * 1000 - now);
}

/**
 * A call whose exact signature was already received and accepted: 409, nothing done a second time.
 * One refused before it was accepted (not installed yet, a bad body) does not spend its signature.
 */
export class ReplayedCallError extends PairgateError {
  constructor() {
    super('signature_replayed', 409, 'This signed call was already received and accepted; it was not run a second time. Sign every call afresh (a new timestamp).');
  }
}

/** A refused signature: 401 with a code that says why. */
export class SignatureError extends PairgateError {
  constructor(code: string, message: string) {
    super(code, 401, message);
  }
}

/** The signature of `body` sent at `timestamp`: hex HMAC-SHA256 over `v1:<timestamp>:<body>`. */
export function signWebhook(secret: string, timestamp: string, body: string): string {
  return `v1=${createHmac('sha256', secret).update(`v1:${timestamp}:${body}`).digest('hex')}`;
}

/**
 * Checks a signed webhook call: the timestamp within MAX_SKEW_SECONDS of `now` (so a captured call
 * cannot be replayed later), then the HMAC over the exact bytes received, compared in constant time.
 */
export function verifyWebhookSignature(secret: string, headers: Record<string, unknown>, rawBody: string, now: number): void {
  const timestamp = headers[TIMESTAMP_HEADER];
  const signature = headers[SIGNATURE_HEADER];
  if (typeof timestamp !== 'string' || typeof signature !== 'string') throw new SignatureError('signature_missing', `Sign the call: ${TIMESTAMP_HEADER} and ${SIGNATURE_HEADER} headers.`);
  if (!/^\d{1,12}$/.test(timestamp)) throw new SignatureError('signature_malformed', `${TIMESTAMP_HEADER} must be Unix seconds.`);
  if (Math.abs(Number(timestamp) - Math.floor(now / 1000)) > MAX_SKEW_SECONDS) throw new SignatureError('signature_expired', 'The signature is too old or from the future.');
  if (!constantTimeEqual(signature, signWebhook(secret, timestamp, rawBody))) throw new SignatureError('signature_invalid', 'The signature does not match this installation\'s secret.');
}
