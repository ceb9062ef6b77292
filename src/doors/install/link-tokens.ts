import type { Clock } from '../../core/clock.js';
import { CodeFormat } from '../../core/codes.js';
import { isPairgateError, RateLimitedError } from '../../core/errors.js';
import type { Grant } from '../../core/grant.js';
import type { GrantEngine } from '../../engine/grant-engine.js';
import type { EphemeralStore } from '../../store/ports.js';
import { NumberedSlots } from '../shared/numbered-slots.js';

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
}

/** Which chat user spent it. */
export interface LinkTokenResult {
  externalUserId: string;
  installationId: string;
}

/** A link token grant. */
export type LinkTokenGrant = Grant<LinkTokenRequest, LinkTokenResult>;

/**
 * Why a token could not be spent: `gone` when its organization was deleted (the token stays
 * unspent and links nothing; it expires with its TTL).
 */
export type SpendOutcome =
  | { ok: true; grant: LinkTokenGrant }
  | { ok: false; reason: 'malformed'; message: string }
  | { ok: false; reason: 'unknown' | 'used' | 'gone' };

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

  constructor(
    private readonly engine: GrantEngine,
    ephemeral: EphemeralStore,
    private readonly clock: Clock,
    private readonly ttlMs: number,
    private readonly maxLive: number,
    /** Whether an organization still exists: a deleted one's tokens are grants still alive in the engine. */
    private readonly organizationExists: (orgId: string) => Promise<boolean>,
  ) {
    this.slots = new NumberedSlots(ephemeral, 'install|link-slot|', maxLive);
  }

  /**
   * Makes a token for `request`; returns it in clear (the only time) and when it expires. 429 when
   * `maxLive` tokens are alive, with the wait until the first of them expires.
   */
  async create(request: LinkTokenRequest): Promise<{ token: string; expiresAt: number }> {
    const now = this.clock.now();
    // The slot is taken before the grant exists, so it must not lapse first: it is given a second
    // more, then set to end with the grant.
    const taken = await this.slots.take('all', '1', this.ttlMs + 1000, now, { randomProbes: this.maxLive > LIST_FIRST_UP_TO ? RANDOM_PROBES : 0 });
    if (!taken.ok) {
      const firstFree = Math.min(...taken.held.map((slot) => slot.expiresAt));
      const wait = Math.max(1, Math.ceil((firstFree - now) / 1000));
      throw new RateLimitedError(wait, `Too many link tokens are waiting. Try again in ${wait} s.`);
    }
    let created;
    try {
      created = await this.engine.create({ kind: LINK_TOKEN_KIND, request, ttlMs: this.ttlMs, codeFormat: LINK_TOKEN_FORMAT });
    } catch (error) {
      // No token was made: its place goes back (a failure here is not worth masking the first).
      await this.slots.release(taken.key).catch(() => {});
      throw error;
    }
    const after = this.clock.now();
    await this.slots.renew(taken.key, created.grant.id, Math.max(1, created.grant.expiresAt - after), after);
    return { token: LINK_TOKEN_FORMAT.format(created.code!), expiresAt: created.grant.expiresAt };
  }

  /**
   * Spends `typed` for the chat user of `orgId` / `connector`. A token of another organization or
   * connector is `unknown` and left unspent: its owner may still use it where it belongs. A token
   * of an organization deleted since it was made is `gone`, also unspent: deleting an organization
   * does not hunt its tokens down in the grant store (Redis has no query by organization, and one
   * made while the deletion ran would be missed), it makes them useless here.
   */
  async spend(typed: string, orgId: string, connector: string, result: LinkTokenResult): Promise<SpendOutcome> {
    const parsed = LINK_TOKEN_FORMAT.parse(typed);
    if (!parsed.ok) return { ok: false, reason: 'malformed', message: parsed.message };
    const grant = await this.engine.findByCode<LinkTokenRequest, LinkTokenResult>(LINK_TOKEN_KIND, LINK_TOKEN_FORMAT, parsed.code);
    if (!grant || grant.request.orgId !== orgId || grant.request.connector !== connector) return { ok: false, reason: 'unknown' };
    if (!(await this.organizationExists(grant.request.orgId))) return { ok: false, reason: 'gone' };
    try {
      const approved = await this.engine.approve<LinkTokenResult>(grant.id, result);
      return { ok: true, grant: approved as LinkTokenGrant };
    } catch (error) {
      // Another call spent it first (409), or it expired in between (404/410).
      if (isPairgateError(error) && error.status === 409) return { ok: false, reason: 'used' };
      if (isPairgateError(error) && (error.status === 404 || error.status === 410)) return { ok: false, reason: 'unknown' };
      throw error;
    }
  }
}
