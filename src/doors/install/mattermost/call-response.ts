import { Type } from 'typebox';
import type { ErrorShape } from '../../../server/error-shapes.js';
import { CallCodes } from '../error-descriptions.js';

/** The fields of a Mattermost Apps call response. */
const CALL_RESPONSE_FIELDS = {
  type: Type.Union([Type.Literal('ok'), Type.Literal('error'), Type.Literal('form')]),
  text: Type.Optional(Type.String()),
  data: Type.Optional(Type.Unknown()),
  form: Type.Optional(Type.Unknown()),
};

/** A Mattermost Apps call response (`ok`, `error` or `form`). */
export const CallResponseSchema = Type.Object(CALL_RESPONSE_FIELDS, { additionalProperties: true });

/**
 * `CallResponseSchema` described for one status of one route: the document takes a response's
 * description from its schema, and one schema shared by every status could say only one thing.
 */
export function callResponse(description: string) {
  return Type.Object(CALL_RESPONSE_FIELDS, { additionalProperties: true, description });
}

/** An error call response (`mattermostErrorShape`) whose `data.error` is one of the codes `codes` names. */
function callError(codes: string) {
  return callResponse(`\`{type: "error", text}\`, the code in \`data.error\`: ${codes}.`);
}

/** `{type: "ok", text, data}`. */
export function ok(text: string, data?: unknown): { type: 'ok'; text: string; data?: unknown } {
  return data === undefined ? { type: 'ok', text } : { type: 'ok', text, data };
}

/**
 * Errors of the Mattermost routes as call responses: `{type: "error", text, data: {error: <code>}}`
 * with the error's own HTTP status, so Mattermost shows the text and programs read the code.
 */
export const mattermostErrorShape: ErrorShape = (error) => ({
  type: 'error',
  text: error.message,
  data: { error: error.code, ...(typeof error.details?.retryAfterSeconds === 'number' ? { retry_after_seconds: error.details.retryAfterSeconds } : {}) },
});

// Every signed call checks its token before anything else it answers (`verifyCallJwt`, `bearerOf`).
const TOKEN_REFUSED = '`jwt_missing` or `jwt_malformed`: no `Mattermost-App-Authorization: Bearer <JWT>` header, or not one; '
  + '`jwt_signature_invalid`: not signed with this installation\'s secret; `jwt_algorithm_not_allowed`: not HS256; '
  + '`jwt_expired`, `jwt_not_yet_valid`, `jwt_too_old` or `jwt_lifetime_too_long`: outside the time limits of a Mattermost call token (or the two servers\' clocks disagree); '
  + '`jwt_audience_invalid`: its `aud` names another recipient; `jwt_invalid`: a claim missing or unacceptable; '
  + '`acting_user_mismatch`: the token\'s `acting_user_id` and the body\'s acting user differ';
const REPLAYED = '`call_replayed`: this same call (token, route, acting user and link token, however the body is spelt) was received and run once already';

/** The documented error answers of the Mattermost routes, by route and status. */
export const CallErrors = {
  token401: callError(TOKEN_REFUSED),
  notFound: callError(CallCodes.installationNotFound),
  notInstalled: callError(CallCodes.notInstalled),
  gone: callError(CallCodes.rotatedOrExpired),
  install404: callError(`${CallCodes.installationNotFound}; ${CallCodes.installGone}`),
  install409: callError(CallCodes.installConflicts),
  link403: callError(CallCodes.link403),
  link404: callError(`${CallCodes.installationNotFound}; ${CallCodes.link404}`),
  link409: callError(`${CallCodes.notInstalled}; ${REPLAYED}; ${CallCodes.link409}`),
  link410: callError(`${CallCodes.rotatedOrExpired}; ${CallCodes.link410}`),
  unlink409: callError(`${CallCodes.notInstalled}; ${REPLAYED}`),
};
