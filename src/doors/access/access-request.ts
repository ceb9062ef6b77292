import type { Grant, GrantState } from '../../core/grant.js';
import type { Permission } from './permissions.js';

/** The grant kind of auth requests. */
export const ACCESS_KIND = 'access';

/** What an app asked for, as kept in the grant (the 201 body is rebuilt from it). */
export interface AccessRequest {
  requestingAppId: string;
  requestedPermissions: Permission[];
  lang: string;
  returnURL: string | null;
  oauthState: string | null;
  clientData: Record<string, unknown> | null;
  serviceInfo: Record<string, unknown>;
  deviceName: string | null;
  referer: string | null;
  expireAfter: number | null;
  url: string;
  authUrl: string;
  poll: string;
  pollRateMs: number;
}

/** What the user's decision produced. */
export type AccessResult =
  | { status: 'ACCEPTED'; username: string; token: string; apiEndpoint: string }
  | { status: 'REFUSED'; reasonID: string; message: string }
  | { status: 'ERROR'; id: string; message: string; detail: string };

/** An auth request grant. */
export type AccessGrant = Grant<AccessRequest, AccessResult>;

/** The Pryv NEED_SIGNIN body: the request as the app sent it, with its key and URLs. */
export function needSigninView(grant: AccessGrant): Record<string, unknown> {
  const r = grant.request;
  return {
    status: 'NEED_SIGNIN',
    code: 201,
    key: grant.id,
    requestingAppId: r.requestingAppId,
    requestedPermissions: r.requestedPermissions,
    url: r.url,
    authUrl: r.authUrl,
    poll: r.poll,
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

/** The poll answer for a grant in `state`: the HTTP status and the Pryv body (its `code` = the status). */
export function pollView(grant: AccessGrant, state: GrantState): { status: number; body: Record<string, unknown> } {
  const result = grant.result;
  if (state === 'approved' && result?.status === 'ACCEPTED') {
    return { status: 200, body: { status: 'ACCEPTED', username: result.username, token: result.token, apiEndpoint: result.apiEndpoint, code: 200 } };
  }
  if (state === 'refused' && result?.status === 'ERROR') {
    return { status: 403, body: { status: 'ERROR', id: result.id, message: result.message, detail: result.detail, code: 403 } };
  }
  if (state === 'refused') {
    const refused = result?.status === 'REFUSED' ? result : undefined;
    return { status: 403, body: { status: 'REFUSED', reasonID: refused?.reasonID ?? 'REASON_UNDEFINED', message: refused?.message ?? 'The request was refused.', code: 403 } };
  }
  return { status: 201, body: needSigninView(grant) };
}
