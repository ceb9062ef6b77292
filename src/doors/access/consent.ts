import type { DoorContext } from '../door.js';
import type { User } from '../accounts/users.js';
import type { AccessGrant, AccessRequest, AccessResult } from './access-request.js';
import type { AppAccess, AppAccesses } from './app-accesses.js';
import { checkPermissions, samePermissions, type Permission } from './permissions.js';
import { appendReturnParams } from './return-url.js';

/** What the consent flow needs. */
export interface ConsentDeps {
  ctx: DoorContext;
  accesses: AppAccesses;
  maxPerUser: number;
  /** The Pryv apiEndpoint of a user with a token in it. */
  apiEndpoint(username: string, token: string): string;
}

/** The seed's checkAccess: corrected permissions, and an existing access that matches or not. */
export interface AccessCheck {
  checkedPermissions: Permission[];
  matchingAccess?: AppAccess;
  mismatchingAccess?: AppAccess;
}

/** Compares the request with the user's existing access of the same app (and device). */
export async function checkAccess(deps: ConsentDeps, user: User, request: AccessRequest): Promise<AccessCheck> {
  const checkedPermissions = checkPermissions(request.requestedPermissions);
  const existing = await deps.accesses.findForApp(user.id, request.requestingAppId, request.deviceName);
  if (!existing) return { checkedPermissions };
  return samePermissions(existing.permissions, checkedPermissions) ? { checkedPermissions, matchingAccess: existing } : { checkedPermissions, mismatchingAccess: existing };
}

/**
 * Accepts: a token on the matching access, or the mismatching access updated in place, or a new
 * access; then the grant moves to ACCEPTED with username, token and apiEndpoint. The grant is
 * re-checked by the engine's compare-and-set, so a refused or expired request cannot be accepted:
 * the new token is withdrawn and the engine's error goes up. Over the per-user limit the request
 * ends in ERROR instead.
 */
export async function acceptAccess(deps: ConsentDeps, grant: AccessGrant, user: User, check: AccessCheck): Promise<AccessGrant> {
  const { ctx, accesses } = deps;
  const request = grant.request;
  const now = ctx.clock.now();
  const expiresAt = request.expireAfter ? now + request.expireAfter * 1000 : null;
  let token: string;
  if (check.matchingAccess) {
    token = await accesses.addToken(check.matchingAccess.id, now);
  } else if (check.mismatchingAccess) {
    token = await accesses.update(check.mismatchingAccess.id, check.checkedPermissions, expiresAt, now);
  } else {
    if ((await accesses.countForUser(user.id)) >= deps.maxPerUser) {
      const result: AccessResult = { status: 'ERROR', id: 'too_many_accesses', message: 'This account has reached its number of app accesses.', detail: 'Revoke an app access you no longer use, then try again.' };
      return (await ctx.engine.refuse(grant.id, result)) as AccessGrant;
    }
    token = (await accesses.create({ userId: user.id, appId: request.requestingAppId, deviceName: request.deviceName, permissions: check.checkedPermissions, expiresAt }, now)).token;
  }
  const result: AccessResult = { status: 'ACCEPTED', username: user.username, token, apiEndpoint: deps.apiEndpoint(user.username, token) };
  try {
    return (await ctx.engine.approve(grant.id, result)) as AccessGrant;
  } catch (error) {
    await accesses.dropToken(token);
    throw error;
  }
}

/** Refuses: the grant moves to REFUSED (Pryv's reason id for a person's refusal). */
export async function refuseAccess(deps: ConsentDeps, grant: AccessGrant): Promise<AccessGrant> {
  const result: AccessResult = { status: 'REFUSED', reasonID: 'REFUSED_BY_USER', message: 'The user refused to give access.' };
  return (await deps.ctx.engine.refuse(grant.id, result)) as AccessGrant;
}

/**
 * Where to send the browser once the request is decided, or undefined when the app gave no
 * returnURL (the page then says it can be closed). OAuth mode (`oauthState` set) answers
 * `state`/`code`/`poll`; Pryv mode the `prYv*` parameters. Every value is URL-encoded.
 */
export function returnRedirect(grant: AccessGrant): string | undefined {
  const request = grant.request;
  const result = grant.result;
  if (!request.returnURL || !result) return undefined;
  if (request.oauthState !== null) {
    if (result.status === 'ACCEPTED') return appendReturnParams(request.returnURL, { state: request.oauthState, code: grant.id, poll: request.poll });
    return appendReturnParams(request.returnURL, { error: 'access_denied', state: request.oauthState, poll: request.poll });
  }
  const common = { prYvkey: grant.id, prYvstatus: result.status, prYvpoll: request.poll, prYvlang: request.lang };
  if (result.status === 'ACCEPTED') {
    return appendReturnParams(request.returnURL, { ...common, prYvusername: result.username, prYvtoken: result.token, prYvapiEndpoint: result.apiEndpoint });
  }
  if (result.status === 'REFUSED') return appendReturnParams(request.returnURL, { ...common, prYvreasonID: result.reasonID, prYvmessage: result.message });
  return appendReturnParams(request.returnURL, { ...common, prYvid: result.id, prYvmessage: result.message });
}
