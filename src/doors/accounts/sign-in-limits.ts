import { createHmac } from 'node:crypto';
import { PairgateError } from '../../core/errors.js';
import { latestWindowEnd, type Clock } from '../../core/clock.js';
import type { GrantEngine } from '../../engine/grant-engine.js';
import type { EphemeralStore } from '../../store/ports.js';
import { FailureBudget, type BudgetCounter } from '../../engine/failure-budget.js';
import { normaliseLogin } from './users.js';

/** The failure counter of an existing account. */
function accountKey(accountId: string): string {
  return `signin:user:${accountId}`;
}

/** Prefix of the per-network counters. */
const NETWORK_PREFIX = 'signin:ip:';

/** Prefix of the per-network counters of every sign-in attempt, right or wrong (`SignInLimits.admit`). */
const ATTEMPTS_PREFIX = 'signin:attempts:';

/** The window of the per-network attempt limit. */
const ATTEMPTS_WINDOW_MS = 60_000;

/** Prefix of the counters of trusted devices (by `DeviceCookies.deviceOf`'s id, a hash of the cookie's nonce). */
const DEVICE_PREFIX = 'signin:device:';

/**
 * What an attempt on a trusted device's counters came to: the check ran (`proved`: what it proved,
 * undefined when wrong), or the device's counter is spent and the check did not run, so the attempt
 * is to be tried again as any other browser's (`SignInLimits.check`).
 */
type DeviceAttempt<T> = { outcome: 'checked'; proved: T | undefined } | { outcome: 'deviceSpent' };

/**
 * The refusal `FailureBudget` throws for a spent device counter (it refuses by throwing what its
 * `Refusal` makes). One object, never an answer: `SignInLimits.onDevice` turns it into a
 * `DeviceAttempt` at the budget's edge, so it goes no further as an exception.
 */
const DEVICE_SPENT = new Error('the trusted device\'s failure budget is spent');

/**
 * What the names' key is derived under from the server's code key: a kind no door's grants have,
 * and a "code" with spaces, which no canonical code holds, so the derived key is never a code's
 * stored hash.
 */
const NAME_KEY_KIND = 'signin-name-key';
const NAME_KEY_LABEL = 'counters of names that name no account';

/**
 * The key under which `SignInLimits` counts the names that name no account: HMAC-SHA-256 of a label
 * under the server's code key (`code-hash-key.ts`, reached through `GrantEngine.codeHash`), so the
 * same on every node and kept out of the store the counters live in when the code key is, yet
 * never used for anything the code hashes are (another kind, another use). A new code key only
 * starts those counters again.
 */
export function signInNameKey(codes: Pick<GrantEngine, 'codeHash'>): Buffer {
  return Buffer.from(codes.codeHash(NAME_KEY_KIND, NAME_KEY_LABEL), 'base64url');
}

/**
 * Which budget a refused sign-in spent: the name's (an account's, or a name that names none: the
 * same words, so a refusal still tells nothing of existence) or the network's. Only the first is
 * lifted by a password reset, so only it may point the person there.
 */
export type SpentBudget = 'account' | 'network';

/** The `details.limit` of the refusal of a network's sign-ins beyond `SignInLimitOptions.attemptsPerMinute`. */
export const ATTEMPTS_LIMIT = 'attempts';

/** Limits of sign-ins: of every attempt per network, and of failed ones. */
export interface SignInLimitOptions {
  /**
   * Sign-in attempts, right or wrong, one client network may make per minute: each costs a password
   * hash, and a right password spends no failure budget.
   */
  attemptsPerMinute: number;
  perAccount: number;
  perIp: number;
  /** Failures of one trusted device (a browser with a device cookie good for the account) per window. */
  perDevice: number;
  windowMs: number;
}

/**
 * Whom a sign-in attempt counts against: an existing account by its id, whichever of its names
 * (username or e-mail, in any case) was typed, or a login that names no account, as the look-up
 * reads it (`normaliseLogin`).
 * `device`: the trusted device the attempt comes from, when its device cookie is good for that
 * very account (`DeviceCookies.deviceOf`).
 */
export type SignInSubject = { accountId: string; device?: string } | { unknownLogin: string };

/**
 * Failed sign-in budgets, per account and per client IP, in the ephemeral store (so every node
 * shares them; a FailureBudget keeps them exact under guesses sent at once), and a limit of every
 * attempt per client network, right or wrong (`admit`).
 *
 * An existing account has one counter, keyed by its id: keyed by the name typed, its username and
 * its e-mail would each get a budget, doubling the guesses allowed. A login that names no account
 * is counted by the name typed as the look-up reads it, with the same limit, so a refusal (429)
 * never tells an attacker that an account exists; the name is kept only as a keyed hash (`signInNameKey`), since a plain one
 * of a guessable name, or of a password typed in the name's field, gives it up to a dictionary
 * run over a copy of the store. What a shared counter does tell: once one of an account's names is
 * spent, its other name is refused too, so someone who spends a username's budget can learn which
 * e-mail belongs to it. That is the price of one budget per account (the spec's "per account").
 *
 * A trusted device (a browser that signed in to the account before and holds its device cookie,
 * `DeviceCookies`) is counted on a budget of its own instead of the account's, and is not refused
 * when the account's is spent: otherwise anyone could keep the owner out for good with about ten
 * guesses per window, sent from any networks (OWASP's device cookies). Once its own budget is spent,
 * the device is treated as untrusted for the rest of the window: counted on, and refused by, the
 * account's. The network's budget holds for everyone.
 */
export class SignInLimits {
  private readonly budget: FailureBudget;
  private readonly nameKey: Buffer;

  /** `nameKey`: the key of the names' hashes, `signInNameKey` (32 bytes, the same on every node). */
  constructor(
    private readonly ephemeral: EphemeralStore,
    private readonly clock: Clock,
    private readonly options: SignInLimitOptions,
    nameKey: Buffer,
  ) {
    if (nameKey.length !== 32) throw new Error('a sign-in name key has 32 bytes');
    this.budget = new FailureBudget(ephemeral, clock, options.windowMs);
    this.nameKey = Buffer.from(nameKey);
  }

  /**
   * The counter of a login that names no account, by the name as the look-up reads it
   * (`normaliseLogin`: any case, spaces around, either Unicode form), so that every spelling that
   * would name one account shares one counter, as an existing account's do.
   */
  private nameKeyOf(login: string): string {
    // Keyed: the store never holds names people typed (they may be passwords), nor a hash of one a
    // dictionary could undo.
    return `signin:name:${createHmac('sha256', this.nameKey).update(normaliseLogin(login)).digest('base64url')}`;
  }

  private counters(subject: SignInSubject, ip: string): BudgetCounter[] {
    const account = 'accountId' in subject ? accountKey(subject.accountId) : this.nameKeyOf(subject.unknownLogin);
    return [
      { key: account, limit: this.options.perAccount },
      { key: `${NETWORK_PREFIX}${ip}`, limit: this.options.perIp },
    ];
  }

  /** The counters of an attempt from trusted `device`: the device's own in place of the account's. */
  private deviceCounters(device: string, ip: string): BudgetCounter[] {
    return [
      { key: `${DEVICE_PREFIX}${device}`, limit: this.options.perDevice },
      { key: `${NETWORK_PREFIX}${ip}`, limit: this.options.perIp },
    ];
  }

  /**
   * Counts a sign-in attempt of network `ip`, right or wrong, and refuses it (429 `rate_limited`,
   * `details.limit` `attempts`) beyond `attemptsPerMinute` in the minute's window. Called before the
   * look-up and the password check, so a refused attempt costs one counter and no hash. The failure
   * budgets below bound guesses; this bounds hashes: whoever knows one password (registration is
   * open) could otherwise make the server hash as fast as they can send, each sign-in right. Counted
   * in the ephemeral store, so every node shares the count (an atomic increment: a burst sent at once
   * gets one count each, and at most the limit pass).
   */
  async admit(ip: string): Promise<void> {
    const now = this.clock.now();
    const { count, resetAt } = await this.ephemeral.increment(`${ATTEMPTS_PREFIX}${ip}`, ATTEMPTS_WINDOW_MS, now, latestWindowEnd(now, ATTEMPTS_WINDOW_MS));
    if (count <= this.options.attemptsPerMinute) return;
    const retryAfterSeconds = Math.max(1, Math.ceil((resetAt - now) / 1000));
    throw new PairgateError('rate_limited', 429, 'Too many sign-ins from this network. Try again later.', { retryAfterSeconds, limit: ATTEMPTS_LIMIT });
  }

  /**
   * Forgets the failed sign-ins counted against an account, once its password has been reset: they
   * were guesses at a password that no longer exists, and the person who proved they read the
   * account's mail must be able to sign in with the new one at once, not be told to wait out a
   * lock someone else's guesses may have caused. The budgets of networks stay as they are.
   */
  async forgetAccount(accountId: string): Promise<void> {
    await this.ephemeral.delete(accountKey(accountId));
  }

  /**
   * Runs `check` (a password check: what it proves, undefined when wrong) unless the subject's
   * counter or the IP's has spent its failures (429), and counts a failure against both when it
   * fails. Look the account up before: the counter depends on whether it exists. An attempt from a
   * trusted device (`subject.device`) is counted on the device's counter instead of the account's,
   * and, that one spent, as an untrusted one's; the refusals' words are the same either way, so
   * they tell nothing more of the account.
   */
  async check<T>(subject: SignInSubject, ip: string, check: () => Promise<T | undefined>): Promise<T | undefined> {
    if ('accountId' in subject && subject.device !== undefined) {
      const attempt = await this.onDevice(subject.device, ip, check);
      if (attempt.outcome === 'checked') return attempt.proved;
      // Spent (not merely busy): this device is trusted no more this window.
    }
    return this.run(this.counters(subject, ip), check);
  }

  /**
   * `check` on trusted `device`'s counters: what it proved, or that the device's counter is spent
   * (then `check` did not run). A busy device counter, or the network's spent, is a refusal (429).
   */
  private async onDevice<T>(device: string, ip: string, check: () => Promise<T | undefined>): Promise<DeviceAttempt<T>> {
    try {
      return { outcome: 'checked', proved: await this.run(this.deviceCounters(device, ip), check) };
    } catch (error) {
      if (error === DEVICE_SPENT) return { outcome: 'deviceSpent' };
      throw error;
    }
  }

  private run<T>(counters: BudgetCounter[], check: () => Promise<T | undefined>): Promise<T | undefined> {
    return this.budget.run(counters, check, (proved) => proved === undefined, (retryAfter, spent, busy) => {
      if (spent.key.startsWith(DEVICE_PREFIX) && !busy) return DEVICE_SPENT;
      // A device's budget is refused like the account's (only when busy: try again in a second).
      const budget: SpentBudget = spent.key.startsWith(NETWORK_PREFIX) ? 'network' : 'account';
      return new PairgateError('rate_limited', 429, 'Too many failed sign-ins. Try again later.', { retryAfterSeconds: retryAfter, budget });
    });
  }
}
