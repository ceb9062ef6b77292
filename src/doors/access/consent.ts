import { UnauthorizedError } from '../../core/errors.js';
import { IllegalTransitionError } from '../../core/grant-machine.js';
import { hashToken, randomToken } from '../../core/ids.js';
import type { DoorContext } from '../door.js';
import type { User } from '../accounts/users.js';
import type { AccessKey } from './access-key.js';
import { deliverySecret, requestUrls, type AcceptedOutcome, type AccessGrant, type AccessOutcome, type AccessRequest, type AccessResult } from './access-request.js';
import type { AppAccess, AppAccesses } from './app-accesses.js';
import { checkPermissions, samePermissions, type Permission } from './permissions.js';
import { appendReturnParams, returnTarget } from './return-url.js';
import { openDelivery, openOutcome, sealDelivery, sealOutcome } from './sealed-result.js';

/** What the consent flow needs. */
export interface ConsentDeps {
  ctx: DoorContext;
  accesses: AppAccesses;
  maxPerUser: number;
  /** The Pryv apiEndpoint of a user with a token in it. */
  apiEndpoint(username: string, token: string): string;
}

/**
 * The seed's checkAccess: corrected permissions, and an existing access that matches or not. An
 * access that has ended (its `expireAfter` passed) is neither: it opens nothing, so it is
 * `endedAccess`, for which the person sees the whole consent screen and Accept grants it afresh.
 */
export interface AccessCheck {
  checkedPermissions: Permission[];
  matchingAccess?: AppAccess;
  mismatchingAccess?: AppAccess;
  endedAccess?: AppAccess;
}

/** Compares the request with the user's existing access of the same app (and device), at `now`. */
export async function checkAccess(deps: ConsentDeps, user: User, request: AccessRequest): Promise<AccessCheck> {
  const checkedPermissions = checkPermissions(request.requestedPermissions);
  const existing = await deps.accesses.findForApp(user.id, request.requestingAppId, request.deviceName);
  if (!existing) return { checkedPermissions };
  // Matched as it was before it ended, the compact screen said "asks again for the access it
  // already has", and Accept added a token to an access that opens nothing: the app got a token
  // that was refused at once, and the unique index kept a live access from ever being made.
  if (existing.expiresAt !== null && existing.expiresAt <= deps.ctx.clock.now()) return { checkedPermissions, endedAccess: existing };
  return samePermissions(existing.permissions, checkedPermissions) ? { checkedPermissions, matchingAccess: existing } : { checkedPermissions, mismatchingAccess: existing };
}

/** A decided request, and its outcome in clear (for the page and the redirect; the grant holds it sealed). */
export interface Decided {
  grant: AccessGrant;
  outcome: AccessOutcome;
  /** A pinned app's delivery code, which the redirect carries in its poll address (`deliverySecret`). */
  delivery?: string;
}

/** The token an accept issues, and what it did to the user's accesses (which a lost race undoes). */
interface Issued {
  token: string;
  /** The access the token opens, where it is settled once the accept wins (`AppAccesses.settle`). */
  accessId: string;
  /** The access as it was before this accept changed it in place. */
  changed?: AppAccess;
  /** The access this accept created. */
  created?: AppAccess;
}

/**
 * The sign-in an accept is made under. `session`: the token of the browser's session
 * (`sessionToken`), under which a pinned app's delivery code is kept (`acceptedAgain`).
 * `stillSignedIn`: whether that sign-in still stands, asked once the accept's token is written:
 * the session still live and the account's password still the one it had when the accept started
 * (read on PostgreSQL behind a password change in progress). A new password revokes the account's
 * accesses in the transaction that writes it, and ends its sessions just after; an accept that had
 * passed its session check before could write its token after the revocation, and the app kept
 * that token whatever the new password. Asked after the write, a change either deleted the token
 * or is seen.
 */
export interface AcceptingSignIn {
  session?: string | undefined;
  stillSignedIn(): Promise<boolean>;
}

/**
 * An accept whose sign-in ended while it ran (`AcceptingSignIn.stillSignedIn`: a new password, the
 * session ended): nothing of it was kept, and the request is still pending, as if the session had
 * ended before the person pressed Accept. 401 `session_ended`.
 */
export class SignInEndedError extends UnauthorizedError {
  constructor() {
    super('Your session has ended: sign in again.', 'session_ended');
  }
}

/** How often an accept looks at the app's access again when a renewal finds it renewed meanwhile. */
const ISSUE_ROUNDS = 3;

/**
 * Issues the token of an accept on the user's accesses: on the matching access (its end moved to
 * the request's `expireAfter` when the request names one, as the screen says), or the mismatching
 * access updated in place, or an ended access granted afresh, or a new access. Undefined when the
 * user is at the limit of accesses and this one would add a live one (counted in the transaction
 * that adds it, so accepts at once, on any node, never pass the limit). A creation or renewal that
 * finds the access made or renewed meanwhile (another tab, a second press) looks again, as that
 * access is live now.
 */
async function issueToken(deps: ConsentDeps, user: User, request: AccessRequest, first: AccessCheck, expiresAt: number | null, now: number): Promise<Issued | undefined> {
  const { accesses } = deps;
  let check = first;
  for (let round = 0; round < ISSUE_ROUNDS; round++) {
    const onLive = await issueOnLive(accesses, check, expiresAt, now);
    if (onLive === 'ended') {
      check = await checkAccess(deps, user, request);
      continue;
    }
    if (onLive) return onLive;
    // An ended access does not count toward the limit, so granting it afresh adds one, as a new one
    // does: both count the user's live accesses in the transaction that writes (`LiveBound`).
    const bound = { maxLive: deps.maxPerUser };
    if (!check.endedAccess) {
      const made = await accesses.create({ userId: user.id, appId: request.requestingAppId, deviceName: request.deviceName, permissions: check.checkedPermissions, expiresAt }, now, bound);
      if (made === 'at_limit') return undefined;
      if (made !== 'exists') return { token: made.token, accessId: made.access.id, created: made.access };
    } else {
      const renewed = await accesses.renew(check.endedAccess, check.checkedPermissions, expiresAt, now, bound);
      if (renewed === 'at_limit') return undefined;
      if (renewed !== 'changed') return { token: renewed.token, accessId: check.endedAccess.id, changed: check.endedAccess };
    }
    // Made or renewed meanwhile by another accept: that access is the one to use.
    check = await checkAccess(deps, user, request);
  }
  throw new Error('the app\'s access kept changing while it was being granted');
}

/**
 * Issues the token on the live access `check` found (matching or mismatching); undefined when it
 * found none; `ended` when that access ended or was revoked since: the caller then looks again,
 * and an ended access is granted afresh, counted toward the limit, as any that has ended.
 */
async function issueOnLive(accesses: AppAccesses, check: AccessCheck, expiresAt: number | null, now: number): Promise<Issued | 'ended' | undefined> {
  const { matchingAccess, mismatchingAccess } = check;
  if (matchingAccess && expiresAt !== null) {
    // The screen said "This access ends <expireAfter> after you accept", so it does: a further
    // token alone left the access with its old end (most often none), and the person's answer to
    // an access for 2 hours became one forever.
    const token = await accesses.update(matchingAccess.id, matchingAccess.permissions, expiresAt, now);
    return token === 'ended' ? token : { token, accessId: matchingAccess.id, changed: matchingAccess };
  }
  if (matchingAccess) {
    const token = await accesses.addToken(matchingAccess.id, now);
    return token === 'ended' ? token : { token, accessId: matchingAccess.id };
  }
  if (mismatchingAccess) {
    const token = await accesses.update(mismatchingAccess.id, check.checkedPermissions, expiresAt, now);
    return token === 'ended' ? token : { token, accessId: mismatchingAccess.id, changed: mismatchingAccess };
  }
  return undefined;
}

/**
 * Accepts: issues a token on the user's accesses (`issueToken`); then the grant moves to ACCEPTED
 * with username, token and apiEndpoint, sealed under the secret of `key` (the key the user's page
 * carries), so the grant never holds the token in clear. The grant is re-checked by the engine's
 * compare-and-set, so a refused or expired request cannot be accepted: the new token is withdrawn,
 * an access changed in place gets its permissions and end back, an access created for it is
 * deleted, and the engine's error goes up. Only an accept that wins settles its token, which revokes
 * the access's oldest beyond its cap (`settleToken`). Over the per-user limit the request ends in
 * ERROR instead. Once the token is written, and before the decision is recorded, the sign-in is
 * asked whether it still stands (`AcceptingSignIn`): when it does not (a new password meanwhile),
 * the token and what it did to the accesses are withdrawn, as for an accept that lost, and
 * `SignInEndedError` goes up with the request still pending.
 * A pinned app's delivery code is also kept sealed for the accepting browser's session (its
 * sign-in token, `signIn.session`), so that the same form sent again finds it (`acceptedAgain`).
 */
export async function acceptAccess(deps: ConsentDeps, grant: AccessGrant, key: AccessKey, user: User, check: AccessCheck, signIn: AcceptingSignIn): Promise<Decided> {
  const { ctx, accesses } = deps;
  const request = grant.request;
  const now = ctx.clock.now();
  const expiresAt = request.expireAfter ? now + request.expireAfter * 1000 : null;
  const issued = await issuedUnlessSignedOut(signIn, () => issueToken(deps, user, request, check, expiresAt, now));
  if (!issued) {
    const outcome = { status: 'ERROR', id: 'too_many_accesses', message: 'This account has reached its number of app accesses.', detail: 'Revoke an app access you no longer use, then try again.' } satisfies AccessResult;
    return { grant: (await ctx.engine.refuse(grant.id, outcome)) as AccessGrant, outcome };
  }
  await endIfSignedOut(accesses, issued, signIn, now);
  const { token, accessId } = issued;
  const outcome: AcceptedOutcome = { status: 'ACCEPTED', username: user.username, token, apiEndpoint: deps.apiEndpoint(user.username, token) };
  const delivery = request.pinned ? randomToken() : undefined;
  const stored: AccessResult = {
    status: 'ACCEPTED',
    sealed: sealOutcome(outcome, grant.id, deliverySecret(request, key, delivery)!),
    tokenHash: hashToken(token),
    ...(delivery && signIn.session ? { redelivery: sealDelivery(delivery, grant.id, key.secret, signIn.session) } : {}),
  };
  let approved: AccessGrant;
  try {
    approved = (await ctx.engine.approve(grant.id, stored)) as AccessGrant;
  } catch (error) {
    // Lost: this accept's own token goes. Refused or expired meanwhile, the access must also be as
    // if this accept never happened, or the app's existing tokens would keep the permissions of a
    // request the user did not grant, and an access made for it would stay listed among the apps
    // that have access, with no token. Accepted meanwhile (a second press, another tab), the winner
    // granted these very permissions and the app holds its token on this access: they stay (a
    // created access holds the winner's token, so `discardIfUnused` keeps it).
    await withdraw(accesses, issued, now, !acceptedElsewhere(error));
    throw error;
  }
  await settleToken(deps, accessId, token, now);
  return { grant: approved, outcome, ...(delivery ? { delivery } : {}) };
}

/**
 * Withdraws what `issued` wrote: its token, the access it created (unless another accept's token
 * is on it now), and, with `restoring`, the access it changed in place put back as it was (left
 * alone when changed again since, or gone: a new password deleted it).
 */
async function withdraw(accesses: AppAccesses, issued: Issued, now: number, restoring: boolean): Promise<void> {
  await accesses.dropToken(issued.token);
  if (issued.changed && restoring) await accesses.restore(issued.changed, now);
  if (issued.created) await accesses.discardIfUnused(issued.created.id);
}

/**
 * `issue()`'s token; when it fails, `SignInEndedError` if the sign-in no longer stands: a failure
 * while a password change under way ends the sign-in's accesses is the change's doing, not the
 * server's. (On PostgreSQL a token added to an access that change is deleting waits for it and
 * then reads as `ended`, `addToken`: the accept looks again, and `endIfSignedOut` withdraws what it
 * made.)
 */
async function issuedUnlessSignedOut(signIn: AcceptingSignIn, issue: () => Promise<Issued | undefined>): Promise<Issued | undefined> {
  try {
    return await issue();
  } catch (error) {
    if (!(await signIn.stillSignedIn().catch(() => true))) throw new SignInEndedError();
    throw error;
  }
}

/**
 * Withdraws what `issued` wrote, and throws `SignInEndedError`, when the sign-in the accept was
 * made under no longer stands now that the token is written (`AcceptingSignIn`); withdraws it too
 * when that cannot be read (the error goes up), so no token outlives an answer that is not ACCEPTED.
 */
async function endIfSignedOut(accesses: AppAccesses, issued: Issued, signIn: AcceptingSignIn, now: number): Promise<void> {
  let stands: boolean;
  try {
    stands = await signIn.stillSignedIn();
  } catch (error) {
    await withdraw(accesses, issued, now, true);
    throw error;
  }
  if (stands) return;
  await withdraw(accesses, issued, now, true);
  throw new SignInEndedError();
}

/**
 * Settles the token of an accept that won (`AppAccesses.settle`): the access's oldest beyond its
 * cap are revoked now, never by an accept that lost. A failure is logged, not thrown: the decision
 * is recorded and the app reads its token, which works (left pending, outside the cap's count), so
 * the person's page must not say the accept failed.
 */
async function settleToken(deps: ConsentDeps, accessId: string, token: string, now: number): Promise<void> {
  try {
    await deps.accesses.settle(accessId, hashToken(token), now);
  } catch (error) {
    deps.ctx.logger.error({ err: error }, 'settling an accepted app token (its access\'s token cap) failed');
  }
}

/**
 * A pinned app's request this browser session accepted, decided as it was: the Accept form sent
 * again (pressed twice without JavaScript, or sent again from the history) finds its delivery code
 * and is sent to the return address again, where it was told "already answered" and the app, its
 * redirect lost, never got the token. Undefined for anything else: another session, another key, a
 * request not pinned, refused or not decided, a token revoked since.
 */
export async function acceptedAgain(deps: ConsentDeps, grant: AccessGrant, key: AccessKey, session: string | undefined): Promise<Decided | undefined> {
  const result = grant.result;
  if (!session || !grant.request.pinned || result?.status !== 'ACCEPTED' || !result.redelivery) return undefined;
  const delivery = openDelivery(result.redelivery, grant.id, key.secret, session);
  const outcome = delivery === undefined ? undefined : openOutcome(result.sealed, grant.id, deliverySecret(grant.request, key, delivery)!);
  // Revoked since (or ended): the app would be sent ACCEPTED with a token that opens nothing.
  if (!outcome || !delivery || !(await deps.accesses.findByToken(outcome.token, deps.ctx.clock.now()))) return undefined;
  return { grant, outcome, delivery };
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
export function returnRedirect({ grant, outcome, delivery }: Decided, key: AccessKey): string | undefined {
  const request = grant.request;
  if (!request.returnURL) return undefined;
  const returnURL = returnTarget(request.returnURL);
  // A pinned app's poll address carries the delivery code, without which a poll answers no token.
  const poll = delivery ? `${requestUrls(request, key).poll}?code=${encodeURIComponent(delivery)}` : requestUrls(request, key).poll;
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
