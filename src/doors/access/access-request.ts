import type { Grant, GrantState } from '../../core/grant.js';
import type { AccessKey } from './access-key.js';
import type { Permission } from './permissions.js';
import { openOutcome } from './sealed-result.js';

/** The grant kind of auth requests. */
export const ACCESS_KIND = 'access';

/**
 * What an app asked for, as kept in the grant (the 201 body is rebuilt from it). The URLs that
 * hold the key (`url`, `authUrl`, `poll`) are not stored: the key's secret exists only with the
 * app (and the browser it sends to the auth page), so they are rebuilt from the key presented.
 */
export interface AccessRequest {
  requestingAppId: string;
  requestedPermissions: Permission[];
  lang: string;
  /**
   * False when the app named no `languageCode` (`lang` is then Pryv's default, `en`): the auth page
   * follows the person's browser rather than English. Absent in requests made before it existed,
   * which follow `lang`.
   */
  languageAsked?: boolean;
  returnURL: string | null;
  oauthState: string | null;
  clientData: Record<string, unknown> | null;
  serviceInfo: Record<string, unknown>;
  deviceName: string | null;
  referer: string | null;
  expireAfter: number | null;
  /** The auth page the app's `url` and `authUrl` lead to (pairgate's own, or a trusted one). */
  authBase: string;
  /** `<public URL>/access/`: the poll URL is this plus the key. */
  pollBase: string;
  /** The public URL's host (`domain` of Pryv's `url`). */
  domain: string;
  pollRateMs: number;
  /**
   * The app's returnURL origins are pinned (PAIRGATE_ACCESS_RETURN_ORIGINS): its token goes only to
   * them. The key alone (the poll, the event stream) does not open it, since whoever starts a request
   * holds the key, not only the app: an accepted result is sealed under the key's secret and a
   * delivery code (`deliverySecret`) that only the redirect to the returnURL carries.
   */
  pinned?: boolean;
}

/** The secret an accepted result of `request` is sealed under: the key's, and for a pinned app the delivery code's too. */
export function deliverySecret(request: AccessRequest, key: AccessKey, delivery: string | undefined): string | undefined {
  if (!request.pinned) return key.secret;
  return delivery ? `${key.secret}.${delivery}` : undefined;
}

/** The poll body of a pinned app's accepted request read without its delivery code: the decision, not the token. */
const ACCEPTED_ELSEWHERE = {
  status: 'ACCEPTED',
  message: 'The user accepted. This app\'s token goes only to its return address: the redirect there carries it, or the poll address it names (with its code).',
  code: 200,
} as const;

/** An accepted request, as the app reads it: the token in clear. */
export interface AcceptedOutcome {
  status: 'ACCEPTED';
  username: string;
  token: string;
  apiEndpoint: string;
}

/** What the user's decision produced, in clear: what the poll, the redirect and the page show. */
export type AccessOutcome =
  | AcceptedOutcome
  | { status: 'REFUSED'; reasonID: string; message: string }
  | { status: 'ERROR'; id: string; message: string; detail: string };

/**
 * What the grant stores of the decision: the outcome, except that an accepted one is sealed under
 * the key's secret (`sealed-result.ts`), so the token is never stored in clear.
 */
export type AccessResult =
  | {
    status: 'ACCEPTED';
    sealed: string;
    /**
     * The SHA-256 of the token issued (`hashToken`, as `app_access_tokens` keeps it), so that every
     * accepted answer, also a pinned app's read without its delivery code (no token opened), checks
     * the access still stands. It opens nothing: the token is 256-bit random. Absent in requests
     * accepted before it existed.
     */
    tokenHash?: string;
    /** A pinned app's delivery code, sealed for the browser session that accepted (`sealDelivery`). */
    redelivery?: string;
  }
  | Exclude<AccessOutcome, AcceptedOutcome>;

/** An auth request grant. */
export type AccessGrant = Grant<AccessRequest, AccessResult>;

/** The request's URLs that carry `key`: the auth page (`url`, `authUrl`) and the poll URL. */
export function requestUrls(request: AccessRequest, key: AccessKey): { url: string; authUrl: string; poll: string } {
  const poll = `${request.pollBase}${key.value}`;
  // An empty lang lets the auth page take the browser's language (Pryv's app-web-auth, on a trusted
  // authUrl, takes its default).
  const query = new URLSearchParams({ lang: request.languageAsked === false ? '' : request.lang, key: key.value, requestingAppId: request.requestingAppId, returnURL: request.returnURL ?? '', domain: request.domain, poll, oauthState: request.oauthState ?? '' });
  return {
    // Spaces as %20, as Pryv's register writes them (a literal + is %2B already).
    url: withQuery(request.authBase, query.toString().replace(/\+/g, '%20')),
    authUrl: withQuery(request.authBase, `poll=${encodeURIComponent(poll)}`),
    poll,
  };
}

/**
 * `base` with `parameters` (already URL-encoded) added to its query, as a URL, not as a string: a
 * string put after a fragment (`.../auth#frag?key=...`) lands in the fragment, where the auth page
 * never reads it. New requests cannot name an auth page with a fragment (`invalid_auth_url`); one
 * stored before that keeps it, after the query.
 */
function withQuery(base: string, parameters: string): string {
  const url = new URL(base);
  url.search = url.search ? `${url.search.slice(1)}&${parameters}` : parameters;
  return url.href;
}

/** The Pryv NEED_SIGNIN body: the request as the app sent it, with its key and URLs. */
export function needSigninView(grant: AccessGrant, key: AccessKey): Record<string, unknown> {
  const r = grant.request;
  const { url, authUrl, poll } = requestUrls(r, key);
  return {
    status: 'NEED_SIGNIN',
    code: 201,
    key: key.value,
    requestingAppId: r.requestingAppId,
    requestedPermissions: r.requestedPermissions,
    url,
    authUrl,
    poll,
    returnURL: r.returnURL,
    oauthState: r.oauthState,
    poll_rate_ms: r.pollRateMs,
    clientData: r.clientData,
    lang: r.lang,
    serviceInfo: r.serviceInfo,
    deviceName: r.deviceName,
    expireAfter: r.expireAfter,
    referer: r.referer,
  };
}

/**
 * The decision in clear, the accepted token opened with the key's secret. Undefined while pending;
 * an accepted result that does not open (it cannot, for a key whose secret was checked) reads as
 * an ERROR rather than leaking anything.
 */
export function outcomeOf(grant: AccessGrant, key: AccessKey, delivery?: string): AccessOutcome | undefined {
  const result = grant.result;
  if (!result) return undefined;
  if (result.status !== 'ACCEPTED') return result;
  const secret = deliverySecret(grant.request, key, delivery);
  return (secret === undefined ? undefined : openOutcome(result.sealed, grant.id, secret)) ?? { status: 'ERROR', id: 'internal_error', message: 'The access could not be read.', detail: 'Start the request again.' };
}

/** The poll answer for a grant in `state`: the HTTP status and the Pryv body (its `code` = the status). */
export function pollView(grant: AccessGrant, state: GrantState, key: AccessKey, delivery?: string): { status: number; body: Record<string, unknown> } {
  const outcome = state === 'approved' || state === 'refused' ? outcomeOf(grant, key, delivery) : undefined;
  // A pinned app's token opens only with the delivery code of its redirect; without it, the decision alone.
  if (state === 'approved' && grant.request.pinned && grant.result?.status === 'ACCEPTED' && outcome?.status !== 'ACCEPTED') {
    return { status: 200, body: { ...ACCEPTED_ELSEWHERE } };
  }
  if (state === 'approved' && outcome?.status === 'ACCEPTED') {
    return { status: 200, body: { status: 'ACCEPTED', username: outcome.username, token: outcome.token, apiEndpoint: outcome.apiEndpoint, code: 200 } };
  }
  if (outcome?.status === 'ERROR') {
    return { status: 403, body: { status: 'ERROR', id: outcome.id, message: outcome.message, detail: outcome.detail, code: 403 } };
  }
  if (state === 'refused') {
    const refused = outcome?.status === 'REFUSED' ? outcome : undefined;
    return { status: 403, body: { status: 'REFUSED', reasonID: refused?.reasonID ?? 'REASON_UNDEFINED', message: refused?.message ?? 'The request was refused.', code: 403 } };
  }
  return { status: 201, body: needSigninView(grant, key) };
}
