import { PairgateError } from '../../core/errors.js';
import type { ErrorShape } from '../../server/error-shapes.js';

/**
 * An OAuth error (RFC 6749 §5.2, RFC 8628 §3.5): its `code` is the OAuth `error` value itself,
 * so the machine code a client reads is the one the standards name.
 */
export class OAuthError extends PairgateError {
  constructor(error: string, description: string, status = 400, details?: Record<string, unknown>) {
    super(error, status, description, details);
  }
}

/** Machine codes that already are OAuth `error` values and go out unchanged. */
const OAUTH_CODES = new Set([
  'invalid_request', 'invalid_client', 'invalid_grant', 'unauthorized_client', 'unsupported_grant_type', 'invalid_scope',
  'authorization_pending', 'slow_down', 'access_denied', 'expired_token', 'unsupported_token_type', 'invalid_token',
]);

/**
 * `text` in the characters RFC 6749 §5.2 allows in an `error_description` ("MUST NOT include
 * characters outside the set %x20-21 / %x23-5B / %x5D-7E": printable ASCII without the double
 * quote and the backslash). pairgate's messages cite "§3.1", quote values and name parameters as
 * sent (any character at all), and a client library that checks the rule may take the whole
 * answer for malformed.
 * The section sign is spelt out, double quotes become single ones, accents are dropped, line
 * breaks and other spaces become a space, and whatever else is left outside the set becomes "?".
 */
function oauthDescription(text: string): string {
  return text
    .normalize('NFKD')
    .replace(/\p{M}/gu, '')
    .replace(/§\s*/g, 'section ')
    .replace(/["\u201C\u201D\u2018\u2019]/g, '\'')
    .replace(/\\/g, '/')
    .replace(/[\u2010-\u2015]/g, '-')
    .replace(/\s/g, ' ')
    .replace(/[^\x20-\x21\x23-\x5B\x5D-\x7E]/gu, '?');
}

/**
 * pairgate's errors in the OAuth shape `{error, error_description}` that stock clients parse.
 * Errors raised outside the door's own code (a field missing or of the wrong type, a body too
 * large or not a form, an unknown route) become `invalid_request`, as RFC 6749 asks for a
 * malformed request; a 401 (the introspection secret missing or wrong) is `invalid_client`; 429
 * stays `rate_limited` with Retry-After, 503 is `temporarily_unavailable` and 5xx `server_error`
 * (RFC 6749 §4.1.2.1). The original code rides along in `pairgate_error`; the message, in the
 * characters RFC 6749 allows (`oauthDescription`), in `error_description`.
 */
export const oauthErrorShape: ErrorShape = Object.assign((error: PairgateError) => {
  let code: string;
  if (OAUTH_CODES.has(error.code)) code = error.code;
  // RFC 6749 §5.2: a 401 is the client (here: a resource server) failing to authenticate.
  else if (error.status === 401) code = 'invalid_client';
  else if (error.status === 429) code = 'rate_limited';
  else if (error.status === 503) code = 'temporarily_unavailable';
  else if (error.status >= 500) code = 'server_error';
  else code = 'invalid_request';
  return {
    error: code,
    error_description: oauthDescription(error.message),
    ...(code !== error.code ? { pairgate_error: error.code } : {}),
    ...(typeof error.details?.interval === 'number' ? { interval: error.details.interval } : {}),
  };
}, {
  documented: (description: string, example: PairgateError): string => {
    const outward = (oauthErrorShape(example) as { error: string }).error;
    return outward === example.code ? description : `${description} In this OAuth answer \`error\` is \`${outward}\`, and the code named here is in \`pairgate_error\`.`;
  },
});
