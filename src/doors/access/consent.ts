import { IllegalTransitionError } from '../../core/grant-machine.js';
import type { DoorContext } from '../door.js';
import type { User } from '../accounts/users.js';
import type { AccessKey } from './access-key.js';
import { requestUrls, type AcceptedOutcome, type AccessGrant, type AccessOutcome, type AccessRequest, type AccessResult } from './access-request.js';
import type { AppAccess, AppAccesses } from './app-accesses.js';
import { checkPermissions, samePermissions, type Permission } from './permissions.js';
import { appendReturnParams, returnTarget } from './return-url.js';
import { sealOutcome } from './sealed-result.js';

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

/** A decided request, and its outcome in clear (for the page and the redirect; the grant holds it sealed). */
export interface Decided {
  grant: AccessGrant;
  outcome: AccessOutcome;
}

/**
 * Accepts: a token on the matching access (its end moved to the request's `expireAfter` when the
 * request names one, as the screen says), or the mismatching access updated in place, or a new
 * access; then the grant moves to ACCEPTED with username, token and apiEndpoint, sealed under the
 * secret of `key` (the key the user's page carries), so the grant never holds the token in clear.
 * The grant is re-checked by the engine's compare-and-set, so a refused or expired request cannot
 * be accepted: the new token is withdrawn, an updated access gets its permissions back, and the
 * engine's error goes up. Over the per-user limit
 * the request ends in ERROR instead.
 */
export async function acceptAccess(deps: ConsentDeps, grant: AccessGrant, key: AccessKey, user: User, check: AccessCheck): Promise<Decided> {
  const { ctx, accesses } = deps;
  const request = grant.request;
  const now = ctx.clock.now();
  const expiresAt = request.expireAfter ? now + request.expireAfter * 1000 : null;
  let token: string;
  // The access changed in place by this accept, which a lost race must put back.
  let changed: AppAccess | undefined = check.mismatchingAccess;
  if (check.matchingAccess && expiresAt !== null) {
    // The screen said "This access ends <expireAfter> after you accept", so it does: a further
    // token alone left the access with its old end (most often none), and the person's answer to
    // an access for 2 hours became one forever.
    token = await accesses.update(check.matchingAccess.id, check.matchingAccess.permissions, expiresAt, now);
    changed = check.matchingAccess;
  } else if (check.matchingAccess) {
    token = await accesses.addToken(check.matchingAccess.id, now);
  } else if (check.mismatchingAccess) {
    token = await accesses.update(check.mismatchingAccess.id, check.checkedPermissions, expiresAt, now);
  } else {
    if ((await accesses.countForUser(user.id)) >= deps.maxPerUser) {
      const outcome = { status: 'ERROR', id: 'too_many_accesses', message: 'This account has reached its number of app accesses.', detail: 'Revoke an app access you no longer use, then try again.' } satisfies AccessResult;
      return { grant: (await ctx.engine.refuse(grant.id, outcome)) as AccessGrant, outcome };
    }
    token = (await accesses.create({ userId: user.id, appId: request.requestingAppId, deviceName: request.deviceName, permissions: check.checkedPermissions, expiresAt }, now)).token;
  }
  const outcome: AcceptedOutcome = { status: 'ACCEPTED', username: user.username, token, apiEndpoint: deps.apiEndpoint(user.username, token) };
  const stored: AccessResult = { status: 'ACCEPTED', sealed: sealOutcome(outcome, grant.id, key.secret) };
  try {
    return { grant: (await ctx.engine.approve(grant.id, stored)) as AccessGrant, outcome };
  } catch (error) {
    // Lost: this accept's own token goes. Refused or expired meanwhile, the access must also be as
    // if this accept never happened, or the app's existing tokens would keep the permissions of a
    // request the user did not grant. Accepted meanwhile (a second press, another tab), the winner
    // granted these very permissions and the app holds its token on this access: they stay.
    await accesses.dropToken(token);
    if (changed && !acceptedElsewhere(error)) await accesses.restore(changed, now);
    throw error;
  }
}

/** Whether an approval failed because another accept of the same request was recorded first. */
function acceptedElsewhere(error: unknown): boolean {
  return error instanceof IllegalTransitionError && (error.state === 'approved' || error.state === 'redeemed');
}

/** Refuses: the grant moves to REFUSED (Pryv's reason id for a person's refusal). */
export async function refuseAccess(deps: ConsentDeps, grant: AccessGrant): Promise<Decided> {
  const outcome = { status: 'REFUSED', reasonID: 'REFUSED_BY_USER', message: 'The user refused to give access.' } satisfies AccessResult;
  return { grant: (await deps.ctx.engine.refuse(grant.id, outcome)) as AccessGrant, outcome };
}

/**
 * Where to send the browser once the request is decided, or undefined when the app gave no
 * returnURL (the page then says it can be closed). OAuth mode (`oauthState` set) answers
 * `state`/`code`/`poll`; Pryv mode the `prYv*` parameters. Every value is URL-encoded. The key
 * and poll URL are the app's own (rebuilt from the key the page carried); the returnURL is the
 * one stored with the request, serialised as a browser reads it (`returnTarget`).
 */
export function returnRedirect({ grant, outcome }: Decided, key: AccessKey): string | undefined {
  const request = grant.request;
  if (!request.returnURL) return undefined;
  const returnURL = returnTarget(request.returnURL);
  const { poll } = requestUrls(request, key);
  if (request.oauthState !== null) {
    if (outcome.status === 'ACCEPTED') return appendReturnParams(returnURL, { state: request.oauthState, code: key.value, poll });
    return appendReturnParams(returnURL, { error: 'access_denied', state: request.oauthState, poll });
  }
  const common = { prYvkey: key.value, prYvstatus: outcome.status, prYvpoll: poll, prYvlang: request.lang };
  if (outcome.status === 'ACCEPTED') {
    return appendReturnParams(returnURL, { ...common, prYvusername: outcome.username, prYvtoken: outcome.token, prYvapiEndpoint: outcome.apiEndpoint });
  }
  if (outcome.status === 'REFUSED') return appendReturnParams(returnURL, { ...common, prYvreasonID: outcome.reasonID, prYvmessage: outcome.message });
  return appendReturnParams(returnURL, { ...common, prYvid: outcome.id, prYvmessage: outcome.message });
}
