import type { Clock } from '../../core/clock.js';
import { CodeFormat, type CodeProblem } from '../../core/codes.js';
import { isPairgateError, PairgateError, RateLimitedError } from '../../core/errors.js';
import { randomId } from '../../core/ids.js';
import type { Grant } from '../../core/grant.js';
import type { GrantEngine } from '../../engine/grant-engine.js';
import type { EphemeralStore } from '../../store/ports.js';
import { NumberedSlots, secondsUntilFirstFree, type HeldSlot, type TakeOptions } from '../shared/numbered-slots.js';

/** The grant kind of link tokens. */
export const LINK_TOKEN_KIND = 'install-link';

/**
 * Link tokens: 10 symbols of Crockford base32 (50 bits from the CSPRNG) and a check character,
 * shown as `xxxxx-xxxxx-x`: short enough to paste into a chat command or type, and read forgivingly
 * (case, dashes, o/0, i/l/1). A typo is told apart from a wrong token before any look-up.
 */
export const LINK_TOKEN_FORMAT = new CodeFormat({ alphabet: 'base32', length: 10, groupSize: 5, checkCharacter: true });

/** Who made a link token, and for what. */
export interface LinkTokenRequest {
  orgId: string;
  connector: string;
  userId: string;
  username: string;
  /**
   * The installation it was made for, installed then: the token is spent through that one only,
   * so one made before an uninstall or a new setup links nothing in what replaced it. Absent on
   * tokens made before it was recorded, which any installation of the organization and connector spends.
   */
  installationId?: string;
}

/** Which chat user spent it. */
export interface LinkTokenResult {
  externalUserId: string;
  installationId: string;
}

/** A link token grant. */
export type LinkTokenGrant = Grant<LinkTokenRequest, LinkTokenResult>;

/**
 * Why a token could not be spent: `gone` when its organization was deleted, `uninstalled` when the
 * installation it was made for is not the one spending it (uninstalled or replaced since). Either
 * way the token stays unspent and links nothing; it expires with its TTL.
 */
export type SpendOutcome =
  | { ok: true; grant: LinkTokenGrant }
  | MalformedLinkToken
  | { ok: false; reason: 'unknown' | 'used' | 'gone' | 'uninstalled' };

/** Why typed text cannot be a link token: the problem, its length as read, the character refused. */
export type MalformedLinkToken = { ok: false; reason: 'malformed'; problem: CodeProblem; length: number; character?: string };

/**
 * Reads `typed` as a link token, looking nothing up and changing nothing: its code, or why it
 * cannot be one (a typo told apart by the check character, a character or a length no token has).
 * The chat commands refuse a malformed token with it before a call is remembered as received.
 */
export function readLinkToken(typed: string): { ok: true; code: string } | MalformedLinkToken {
  const parsed = LINK_TOKEN_FORMAT.parse(typed);
  if (parsed.ok) return { ok: true, code: parsed.code };
  // What the person typed, as read (dashes and spaces dropped): its length in characters (an emoji
  // is one, not two halves of a pair) and the character refused.
  return { ok: false, reason: 'malformed', problem: parsed.problem, length: parsed.length, ...(parsed.character === undefined ? {} : { character: parsed.character }) };
}

/** 429: the account or the network asking already holds its share of the live link tokens. */
export class TooManyLinkTokensError extends PairgateError {
  constructor(
    /** Whose share is full (pages say it in their language). */
    readonly holder: 'account' | 'network',
    /** The share. */
    readonly max: number,
    retryAfterSeconds: number,
  ) {
    super('too_many_link_tokens', 429, `This ${holder} already holds ${max} live link tokens, the most it may. Use one, or try again in ${retryAfterSeconds} s.`, { retryAfterSeconds });
  }
}

/** 429 `rate_limited`: every place among the live link tokens is taken, by anyone. */
export class LinkTokensWaitingError extends RateLimitedError {
  constructor(retryAfterSeconds: number) {
    super(retryAfterSeconds, `Too many link tokens are waiting. Try again in ${retryAfterSeconds} s.`);
  }
}

/** The shares of the live cap: how many live tokens one account and one network may hold. */
export interface LinkTokenShares {
  perUser: number;
  perNetwork: number;
}

/** A place a token holds: the slot `key` of `scope` among `slots`. */
interface Place {
  slots: NumberedSlots;
  scope: string;
  key: string;
}

// Above this cap a creation first tries a few random slots, nearly always free, rather than list
// up to `maxLive` slots; at or below it the listing is short.
const LIST_FIRST_UP_TO = 64;
const RANDOM_PROBES = 4;

/**
 * Link tokens as grants of the engine: created pending with a human code (stored hashed), spent
 * by the one approval the engine's compare-and-set allows, so of any number of concurrent
 * `/pairgate link` calls with one token exactly one links. The approval also spends the code, and
 * an expired grant is never returned, so a token works once and not after its TTL.
 *
 * At most `maxLive` tokens live at once, exactly, across nodes: the brute-force budget is computed
 * with that figure, so a burst must not pass it. Each token holds a numbered slot in the ephemeral
 * store (`NumberedSlots`, taken with set-if-absent) that expires with it. The engine's live count,
 * cached for a second and then compared, let every request of a burst pass on one reading.
 */
export class LinkTokens {
  private readonly slots: NumberedSlots;
  /** Undefined when the share is not below the cap: it could never bind, so nothing is kept. */
  private readonly userSlots: NumberedSlots | undefined;
  private readonly networkSlots: NumberedSlots | undefined;

  constructor(
    private readonly engine: GrantEngine,
    private readonly ephemeral: EphemeralStore,
    private readonly clock: Clock,
    private readonly ttlMs: number,
    private readonly maxLive: number,
    /** Whether an organization still exists: a deleted one's tokens are grants still alive in the engine. */
    private readonly organizationExists: (orgId: string) => Promise<boolean>,
    private readonly shares: LinkTokenShares = { perUser: maxLive, perNetwork: maxLive },
  ) {
    this.slots = new NumberedSlots(ephemeral, 'install|link-slot|', maxLive);
    this.userSlots = shares.perUser < maxLive ? new NumberedSlots(ephemeral, 'install|link-user-slot|', shares.perUser) : undefined;
    this.networkSlots = shares.perNetwork < maxLive ? new NumberedSlots(ephemeral, 'install|link-net-slot|', shares.perNetwork) : undefined;
  }

  /**
   * The 429 for `slots` found full at `now` (`held`, their live slots): `too_many_link_tokens` for
   * the account's or the network's share, `rate_limited` for the server-wide cap; each with the
   * wait until a place frees up.
   */
  private refusal(slots: NumberedSlots, held: HeldSlot[], now: number): PairgateError {
    const wait = secondsUntilFirstFree(held, now);
    if (slots === this.userSlots) return new TooManyLinkTokensError('account', this.shares.perUser, wait);
    if (slots === this.networkSlots) return new TooManyLinkTokensError('network', this.shares.perNetwork, wait);
    return new LinkTokensWaitingError(wait);
  }

  /**
   * Makes a token for `request`, asked from `network` (the caller's, `request.clientNetwork`);
   * returns it in clear (the only time) and when it expires. 429 `too_many_link_tokens` when the
   * account or the network holds its share of live tokens, 429 `rate_limited` when `maxLive` are
   * alive, each with the wait until a place frees up.
   */
  async create(request: LinkTokenRequest, network: string): Promise<{ token: string; expiresAt: number }> {
    const now = this.clock.now();
    // Places are taken before the grant exists, so they must not lapse first: each is given a
    // second more, then set to end with the grant. The account's and the network's shares come
    // first: the server-wide cap is what everyone shares, and the brute-force budget is computed
    // with it, so without them one account (accounts are free) held every place for a token's
    // lifetime, over and over, and no other organization could link anyone.
    // Every place is held under a value of this creation's own, and renewed or given back only
    // while it still holds it: a creation that stalled past its places' lifetime must neither take
    // back nor free a place another token took meanwhile, or one more than the cap would live.
    const holder = randomId(9);
    const held: Place[] = [];
    const take = async (slots: NumberedSlots, scope: string, options?: TakeOptions): Promise<void> => {
      const taken = await slots.take(scope, holder, this.ttlMs + 1000, now, options);
      if (!taken.ok) throw this.refusal(slots, taken.held, now);
      held.push({ slots, scope, key: taken.key });
    };
    let created;
    try {
      if (this.userSlots) await take(this.userSlots, request.userId);
      if (this.networkSlots) await take(this.networkSlots, network);
      await take(this.slots, 'all', { randomProbes: this.maxLive > LIST_FIRST_UP_TO ? RANDOM_PROBES : 0 });
      created = await this.engine.create({ kind: LINK_TOKEN_KIND, request, ttlMs: this.ttlMs, codeFormat: LINK_TOKEN_FORMAT });
    } catch (error) {
      // No token was made: its places go back (a failure here is not worth masking the first).
      await Promise.all(held.map(({ slots, key }) => slots.releaseIfHeld(key, holder, now).catch(() => false)));
      throw error;
    }
    const after = this.clock.now();
    const left = Math.max(1, created.grant.expiresAt - after);
    const kept = await Promise.all(held.map((place) => this.keep(place, holder, left, after)));
    const refused = kept.find((outcome) => outcome !== true);
    if (refused !== undefined) {
      // A place lapsed while the grant was made (a stall of over a second) and its scope is full
      // now: the token would live uncounted, so it is withdrawn, refused as if asked now.
      await this.engine.remove(created.grant.id).catch(() => false);
      await Promise.all(held.map(({ slots, key }) => slots.releaseIfHeld(key, holder, after).catch(() => false)));
      throw refused;
    }
    return { token: LINK_TOKEN_FORMAT.format(created.code!), expiresAt: created.grant.expiresAt };
  }

  /**
   * Sets `place` to end `left` from `after`, with the grant it counts; a place that lapsed
   * meanwhile (taken by another token, or free) is taken again in its scope. True when the token
   * holds a place there; the 429 of that scope when every place is taken.
   */
  private async keep(place: Place, holder: string, left: number, after: number): Promise<true | PairgateError> {
    if (await place.slots.renewIfHeld(place.key, holder, left, after)) return true;
    const again = await place.slots.take(place.scope, holder, left, after);
    if (!again.ok) return this.refusal(place.slots, again.held, after);
    place.key = again.key;
    return true;
  }

  /**
   * Spends `typed` for the chat user of `orgId` / `connector`, through installation
   * `result.installationId`. A token of another organization or connector is `unknown` and left
   * unspent: its owner may still use it where it belongs; one made for another installation of
   * them (uninstalled or replaced since) is `uninstalled`, also unspent. A token
   * of an organization deleted since it was made is `gone`, also unspent: deleting an organization
   * does not hunt its tokens down in the grant store (Redis has no query by organization, and one
   * made while the deletion ran would be missed), it makes them useless here.
   */
  async spend(typed: string, orgId: string, connector: string, result: LinkTokenResult): Promise<SpendOutcome> {
    const parsed = readLinkToken(typed);
    if (!parsed.ok) return parsed;
    const grant = await this.engine.findByCode<LinkTokenRequest, LinkTokenResult>(LINK_TOKEN_KIND, LINK_TOKEN_FORMAT, parsed.code);
    // Another organization's (or connector's) live token is told as one found nowhere, after the
    // same work (the spent note read, which says nothing of it here): answered sooner, the time
    // alone said "someone's live token", and guesses through installations of one's own (free to
    // make, each with its own budget) could search the others' tokens.
    if (!grant || grant.request.orgId !== orgId || grant.request.connector !== connector) {
      return { ok: false, reason: (await this.wasSpent(parsed.code, orgId, connector)) ? 'used' : 'unknown' };
    }
    if (!(await this.organizationExists(grant.request.orgId))) return { ok: false, reason: 'gone' };
    if (grant.request.installationId !== undefined && grant.request.installationId !== result.installationId) return { ok: false, reason: 'uninstalled' };
    try {
      const approved = await this.engine.approve<LinkTokenResult>(grant.id, result);
      await this.noteSpent(parsed.code, grant);
      return { ok: true, grant: approved as LinkTokenGrant };
    } catch (error) {
      // Another call spent it first (409), or it expired in between (404/410).
      if (isPairgateError(error) && error.status === 409) return { ok: false, reason: 'used' };
      if (isPairgateError(error) && (error.status === 404 || error.status === 410)) return { ok: false, reason: 'unknown' };
      throw error;
    }
  }

  /** Where the note that the token `code` was spent is kept (by the code's keyed hash, as the grant holds it). */
  private spentKey(code: string): string {
    return `install|link-spent|${this.engine.codeHash(LINK_TOKEN_KIND, code)}`;
  }

  /**
   * Notes, for the rest of the token's life, that it was spent and where: the approval takes the
   * code from its grant, so a second use found nothing and was told "unknown" (and counted as a
   * wrong guess), where the person had typed it right. Best effort: the link is made already.
   */
  private async noteSpent(code: string, grant: LinkTokenGrant): Promise<void> {
    const now = this.clock.now();
    await this.ephemeral.set(this.spentKey(code), `${grant.request.orgId}|${grant.request.connector}`, Math.max(1_000, grant.expiresAt - now), now).catch(() => undefined);
  }

  /** Whether `code` was spent by a link in `orgId` / `connector` (another's token stays "unknown" there). */
  private async wasSpent(code: string, orgId: string, connector: string): Promise<boolean> {
    return (await this.ephemeral.get(this.spentKey(code), this.clock.now())) === `${orgId}|${connector}`;
  }
}
