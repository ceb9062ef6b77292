import { decodeProtectedHeader, errors, jwtVerify, type JWTPayload } from 'jose';
import { PairgateError } from '../../../core/errors.js';

/** Leeway for clocks that disagree a little (seconds). */
export const CLOCK_TOLERANCE_SECONDS = 30;

/** A call token that was refused: 401 with a code that says why. */
export class CallAuthError extends PairgateError {
  constructor(code: string, message: string) {
    super(code, 401, message);
  }
}

/**
 * The refusal of a call signed with another secret. Whoever reads it in Mattermost can do nothing;
 * the admin who pasted the secret at the install can: so it says what went wrong there.
 */
export const WRONG_SECRET_TEXT = 'The call token is not signed with this installation\'s secret: the JWT secret the app was installed with in Mattermost is not the one pairgate showed for this setup. A system admin installs the app again with that secret, or sets up again in pairgate for a new one.';

/**
 * Added to the refusals of a token outside its time limits. Mattermost signs each call the moment
 * it sends it: a fresh token that looks expired or early means the two servers' clocks disagree.
 */
const CLOCKS = 'If Mattermost just sent it, the clocks of the Mattermost server and of pairgate disagree: set both by NTP.';

/** The header Mattermost signs its calls in. */
export const MATTERMOST_AUTH_HEADER = 'mattermost-app-authorization';

/** The bearer token of a `Mattermost-App-Authorization` header; 401 when absent or malformed. */
export function bearerOf(header: unknown): string {
  if (typeof header !== 'string') throw new CallAuthError('jwt_missing', 'The Mattermost-App-Authorization header is missing.');
  const match = /^Bearer ([A-Za-z0-9_-]+\.[A-Za-z0-9_-]*\.[A-Za-z0-9_-]*)$/i.exec(header.trim());
  if (!match || header.length > 8192) throw new CallAuthError('jwt_malformed', 'The Mattermost-App-Authorization header must be "Bearer <JWT>".');
  return match[1]!;
}

/**
 * Verifies a Mattermost call token: HS256 with the installation's secret and nothing else (`none`,
 * RS256 and any other algorithm are refused before the signature, so a public key or an unsigned
 * token cannot pass), `exp` required and in the future, `nbf` past, `iat` (when given) not in the
 * future nor older than `maxAgeSeconds`, no lifetime longer than `maxAgeSeconds` (Mattermost
 * signs for 15 minutes; a token made to live for a year is not its), and an `aud` (when given)
 * naming one of `audiences`. `acting_user_id` is returned for the caller to compare with the body,
 * and `exp` (as `expiresAt`, ms) for the replay memory.
 */
export async function verifyCallJwt(token: string, secret: string, now: number, maxAgeSeconds: number, audiences: readonly string[]): Promise<{ actingUserId: string | undefined; expiresAt: number; payload: JWTPayload }> {
  let payload: JWTPayload;
  try {
    ({ payload } = await jwtVerify(token, new TextEncoder().encode(secret), {
      algorithms: ['HS256'],
      currentDate: new Date(now),
      clockTolerance: CLOCK_TOLERANCE_SECONDS,
      requiredClaims: ['exp'],
    }));
  } catch (error) {
    throw mapJoseError(error, token);
  }
  const nowSeconds = Math.floor(now / 1000);
  if (typeof payload.iat === 'number') {
    if (payload.iat > nowSeconds + CLOCK_TOLERANCE_SECONDS) throw new CallAuthError('jwt_not_yet_valid', `The call token is issued in the future. ${CLOCKS}`);
    if (nowSeconds - payload.iat > maxAgeSeconds + CLOCK_TOLERANCE_SECONDS) throw new CallAuthError('jwt_too_old', `The call token was issued too long ago. ${CLOCKS}`);
  }
  if (typeof payload.exp === 'number' && payload.exp - nowSeconds > maxAgeSeconds + CLOCK_TOLERANCE_SECONDS) {
    throw new CallAuthError('jwt_lifetime_too_long', 'The call token lives longer than a Mattermost call token does.');
  }
  // Mattermost sends no `aud`; a token that names a recipient other than pairgate was made for
  // that one, and RFC 7519 (4.1.3) says its other recipients must refuse it.
  if (payload.aud !== undefined && !namesAudience(payload.aud, audiences)) {
    throw new CallAuthError('jwt_audience_invalid', `The call token is meant for another recipient (aud); pairgate accepts none, or one of: ${audiences.join(', ')}.`);
  }
  const acting = payload.acting_user_id;
  if (acting !== undefined && typeof acting !== 'string') throw new CallAuthError('jwt_invalid', 'acting_user_id must be a string.');
  // `exp` is required, and jose has checked that it is a number.
  return { actingUserId: acting, expiresAt: (payload.exp as number) * 1000, payload };
}

/** Whether a token's `aud` (a string or a list, as jose has checked) names one of `audiences`. */
function namesAudience(aud: string | string[], audiences: readonly string[]): boolean {
  return (Array.isArray(aud) ? aud : [aud]).some((named) => audiences.includes(named));
}

/** jose's reasons, as pairgate machine codes (all 401; never a 5xx for a bad token). */
function mapJoseError(error: unknown, token: string): CallAuthError {
  if (error instanceof errors.JWTExpired) return new CallAuthError('jwt_expired', `The call token has expired. ${CLOCKS}`);
  if (error instanceof errors.JOSEAlgNotAllowed) return new CallAuthError('jwt_algorithm_not_allowed', 'Call tokens must be signed with HS256.');
  if (error instanceof errors.JWSSignatureVerificationFailed) return new CallAuthError('jwt_signature_invalid', WRONG_SECRET_TEXT);
  if (error instanceof errors.JWTClaimValidationFailed) {
    if (error.claim === 'nbf') return new CallAuthError('jwt_not_yet_valid', `The call token is not valid yet. ${CLOCKS}`);
    if (error.reason === 'missing') return new CallAuthError('jwt_invalid', `The call token has no ${error.claim} claim (Mattermost sets one on every call).`);
    return new CallAuthError('jwt_invalid', `The call token's ${error.claim} claim is not acceptable.`);
  }
  // jose says "not supported" both of an algorithm and of a critical header extension (`crit`):
  // an HS256 token refused for its `crit` must not be told to use HS256.
  if (error instanceof errors.JOSENotSupported) {
    if (headerAlgorithm(token) !== 'HS256') return new CallAuthError('jwt_algorithm_not_allowed', 'Call tokens must be signed with HS256.');
    return new CallAuthError('jwt_invalid', 'The call token names a critical header extension (crit) that pairgate does not support; Mattermost sends none.');
  }
  return new CallAuthError('jwt_invalid', 'The call token is not a valid JWT.');
}

/** The `alg` of a token's protected header, or undefined when the header cannot be read. */
function headerAlgorithm(token: string): unknown {
  try {
    return decodeProtectedHeader(token).alg;
  } catch {
    return undefined;
  }
}
