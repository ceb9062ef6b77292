import { Type } from 'typebox';
import { INVISIBLE_CLASS, STACKED_MARKS_SOURCE, UNSHOWABLE_CLASS, unshowableRule } from '../shared/shown-text.js';

/**
 * What a device client's registration may hold, wherever it comes from: PAIRGATE_DEVICE_CLIENTS
 * (checked by the configuration parser at start-up) and the admin API (checked by the TypeBox
 * schemas below, which also document it in /docs). One set of rules for both, so a client the API
 * accepts could be moved into the configuration unchanged, and the reverse.
 */

/** client_id: printable ASCII without spaces or quotes, so it is safe in logs, forms and URLs. */
export const CLIENT_ID_PATTERN = '^[A-Za-z0-9._~:@/+-]{1,100}$';
/** What a client_id may be, said to people (configuration errors, the API's documentation). */
export const CLIENT_ID_RULE = '1 to 100 characters of A-Z a-z 0-9 . _ ~ : @ / + -';

/** The longest scope token, in characters. */
export const SCOPE_TOKEN_MAX = 100;
/** One scope token (RFC 6749 §3.3: NQCHAR = %x21 / %x23-5B / %x5D-7E), bounded in length. */
export const SCOPE_TOKEN_PATTERN = `^[\\x21\\x23-\\x5B\\x5D-\\x7E]{1,${SCOPE_TOKEN_MAX}}$`;
/**
 * The most scope tokens one client may be registered with, and the most one request may ask for:
 * the same figure, so a client can always ask for everything it is registered with.
 */
export const MAX_CLIENT_SCOPES = 100;
/**
 * The longest `scope` parameter a request may send: every scope of the largest registration at the
 * longest, space-separated (so the schema never refuses what the scope rules accept).
 */
export const MAX_SCOPE_PARAMETER_LENGTH = MAX_CLIENT_SCOPES * (SCOPE_TOKEN_MAX + 1);

/** The longest display name, in characters (code points, as JSON Schema counts them). */
export const CLIENT_NAME_MAX = 100;
/**
 * A display name has something besides spaces (it is trimmed when stored), and none of the
 * characters the access door refuses in an app id (`shared/shown-text.ts`): the consent sentence
 * says "<name> asks to use your account", and an unclosed U+202E, a control character or an
 * invisible one in the name would make it name a client that is not the one asking.
 */
const CLIENT_NAME_PATTERN = `^(?=[\\s\\S]*\\S)(?![\\s\\S]*${STACKED_MARKS_SOURCE})[^${UNSHOWABLE_CLASS}${INVISIBLE_CLASS}]*$`;
/** What a display name may be, said to people (configuration errors, the API's refusals). */
export const CLIENT_NAME_RULE = `1 to ${CLIENT_NAME_MAX} characters, not only spaces, without ${unshowableRule(true)}`;

const clientIdRegExp = new RegExp(CLIENT_ID_PATTERN, 'u');
const scopeTokenRegExp = new RegExp(SCOPE_TOKEN_PATTERN, 'u');
const clientNameRegExp = new RegExp(CLIENT_NAME_PATTERN, 'u');

/** Whether `id` is a well-formed client_id. */
export function isClientId(id: string): boolean {
  return clientIdRegExp.test(id);
}

/** Whether `token` is a well-formed scope token. */
export function isScopeToken(token: string): boolean {
  return scopeTokenRegExp.test(token);
}

/** Whether `name` is a usable display name (before trimming): `CLIENT_NAME_RULE`. */
export function isClientName(name: string): boolean {
  return clientNameRegExp.test(name) && [...name].length <= CLIENT_NAME_MAX;
}

/** Whether `scopes` is a usable list of scope tokens (duplicates are allowed and dropped). */
export function isScopeList(scopes: readonly unknown[]): boolean {
  return scopes.length <= MAX_CLIENT_SCOPES && scopes.every((scope) => typeof scope === 'string' && isScopeToken(scope));
}

/** The same rules as request schemas. */
export const ClientIdSchema = Type.String({ pattern: CLIENT_ID_PATTERN, description: `The client_id: ${CLIENT_ID_RULE}.` });
export const ClientNameSchema = Type.String({ minLength: 1, maxLength: CLIENT_NAME_MAX, pattern: CLIENT_NAME_PATTERN, description: `What the person is shown on the consent screen (trimmed): ${CLIENT_NAME_RULE}.` });
export const ScopeTokenSchema = Type.String({ pattern: SCOPE_TOKEN_PATTERN });
export const ScopeListSchema = Type.Array(ScopeTokenSchema, {
  maxItems: MAX_CLIENT_SCOPES,
  description: 'The scopes the client may ask for (and gets all of, when it asks for none). Absent: any scope, as asked.',
});
