import type { FastifyReply, FastifyRequest } from 'fastify';
import type { Clock } from '../../core/clock.js';
import { ForbiddenError, isPairgateError, UnauthorizedError, type PairgateError } from '../../core/errors.js';
import type { AfterAnswer } from './after-answer.js';
import type { AccountDeletionGuards } from './deletion-guards.js';
import type { DeviceAccount, DeviceCookies } from './device-cookies.js';
import { translator, type Lang } from './i18n.js';
import { waitWords } from '../../web/duration-words.js';
import type { Mailer } from './mailer.js';
import { hashRequesterOf, isPasswordHashClientGone, isPasswordHashingBusy, PASSWORD_HASHING_NETWORK_BUSY, type HashRequester, type PasswordHashing } from './password-hashing.js';
import type { Disconnected, PasswordChangeHooks } from './password-change-hooks.js';
import type { PasswordResets } from './password-resets.js';
import type { ResetMailBudget } from './reset-mail-budget.js';
import type { Sessions } from './sessions.js';
import { ATTEMPTS_LIMIT, type SignInLimits, type SpentBudget } from './sign-in-limits.js';
import { validatePassword, validateRegistration, type User, type UserStore } from './users.js';
import { localPath } from '../../web/local-path.js';

/** Everything accounts are made of, wired once per server. */
export interface AccountParts {
  users: UserStore;
  sessions: Sessions;
  /** The device cookies a sign-in gives, which let their browser past the account's spent failure budget. */
  devices: DeviceCookies;
  limits: SignInLimits;
  resets: PasswordResets;
  mailer: Mailer;
  /** Reset mails per account per hour. */
  resetMailBudget: ResetMailBudget;
  /** Where reset requests do their work, after their answer. */
  afterAnswer: AfterAnswer;
  clock: Clock;
  /** Every password hash and check goes through it: a bound on those running and waiting at once. */
  hashing: PasswordHashing;
  resetTtlMs: number;
  /** Whether anyone may register (`PAIRGATE_ACCOUNTS_REGISTRATION`): pages offer the link only then. */
  registration: boolean;
  /** What other doors check before an account goes (`accountDeletionGuards`). */
  deletionGuards: AccountDeletionGuards;
  /** What other doors end when a new password disconnects the account's devices and apps (`passwordChangeHooks`). */
  passwordChangeHooks: PasswordChangeHooks;
}

/**
 * A new password written: its hash, and what the other doors ended with the old one
 * (`PasswordChangeHooks`), or undefined when the person kept their devices and apps.
 */
export interface PasswordWritten {
  passwordHash: string;
  disconnected: Disconnected[] | undefined;
}

/** Writes the reset mail of `user` with the clear `token`, valid `lifetimeSeconds`. */
export type ComposeResetMail = (user: User, token: string, lifetimeSeconds: number) => { subject: string; text: string };

/** Where a reset request logs (the request's logger, still usable after the answer). */
export interface ResetLogger {
  info(obj: object, msg: string): void;
  warn(obj: object, msg: string): void;
}

/**
 * Accounts: registration, sign-in (username or e-mail) with failure budgets and no user
 * enumeration, and password reset by a mailed one-time link. The pages of this door and of every
 * other door use it; other doors reach it through `requireUser(request)`.
 */
export class Accounts {
  private dummy: Promise<string> | undefined;

  constructor(readonly parts: AccountParts) {}

  /**
   * Makes the dummy hash an unknown name is checked against (the accounts door starts this when
   * the server starts). Made at the first sign-in that needed it, it made that one cost two
   * scrypts, so the first unknown name after a start took twice a known one's time. A failure is
   * forgotten: the first sign-in that needs the hash makes it again.
   */
  async prepare(): Promise<string> {
    const made = (this.dummy ??= this.parts.hashing.dummy());
    try {
      return await made;
    } catch (error) {
      // Refused by a busy gate too (`PasswordHashingBusyError`): the next sign-in tries again.
      if (this.dummy === made) this.dummy = undefined;
      throw error;
    }
  }

  /**
   * Registers a person; 400 for bad input, 409 when the name or e-mail is taken. `from`: the
   * request's client network and signal (`hashRequesterOf`), for the password gate.
   */
  async register(input: { username: string; email: string; password: string }, from: HashRequester): Promise<User> {
    const { username, email } = validateRegistration(input);
    const passwordHash = await this.parts.hashing.hash(input.password, from);
    return this.parts.users.create({ username, email, passwordHash }, this.parts.clock.now());
  }

  /**
   * Checks a sign-in. An unknown name costs one scrypt of a dummy hash, like a wrong password,
   * and both get the same 401; failures count against the account (by id, whichever of its names
   * was typed) or, for a name that names none, against the name typed; and against the client IP.
   * Every attempt, right or wrong, counts against the network's attempts per minute first
   * (`SignInLimits.admit`: 429), and its password check waits for a place among the server's
   * password hashes (`PasswordHashing`: 503 `password_hashing_busy` when none is to be had soon, or
   * when the network already holds its share of the waiting places). `from`: the request's client
   * network (the key of every per-network count here) and the signal of its client leaving
   * (`hashRequesterOf`).
   */
  async signIn(login: string, password: string, from: HashRequester): Promise<User> {
    return (await this.authenticate(login, password, from)).user;
  }

  /**
   * `signIn`, with the password hash the password was proved against, for `Sessions.start` to
   * check that the password did not change meanwhile. A hash made at another cost than the
   * configured one is made again at it (`needsRehash`) while the password is at hand.
   * `deviceOf`: the trusted device the attempt comes from for an account (its id and its password
   * hash now), if any (the request's device cookie checked against the account the login names:
   * `DeviceCookies.deviceOf`).
   */
  async authenticate(login: string, password: string, from: HashRequester, deviceOf?: (account: DeviceAccount) => string | undefined): Promise<{ user: User; passwordHash: string }> {
    // Looked up before the budget, which is keyed by the account. Known or not, this is the same
    // one indexed read, so the order reveals nothing; a spent budget still refuses before scrypt.
    // The look-up reads the name as it is stored (`normaliseLogin`: trimmed, lower case, NFC), and
    // a name that names none is counted under that same reading (`SignInLimits`): else another
    // spelling of a spent name was refused when it named an account and tried when it did not.
    // Before anything else: a refused attempt costs one counter, not a look-up and a hash.
    await this.parts.limits.admit(from.network);
    const found = await this.parts.users.findByLogin(login);
    const device = found ? deviceOf?.({ id: found.id, passwordHash: found.passwordHash }) : undefined;
    const proved = await this.parts.limits.check(found ? { accountId: found.id, ...(device !== undefined ? { device } : {}) } : { unknownLogin: login }, from.network, async () => {
      const matches = await this.parts.hashing.verify(password.slice(0, 1024), found?.passwordHash ?? (await this.prepare()), from);
      return found && matches && password.length <= 1024 ? found : undefined;
    });
    if (!proved) throw new UnauthorizedError('Wrong username or password.', 'signin_failed');
    const { passwordHash, ...user } = proved;
    return { user, passwordHash: await this.rehashed(user.id, passwordHash, password, from) };
  }

  /**
   * The hash of `password` at the configured cost: `stored` when it is at it, else a new one,
   * written only while `stored` is still the account's (a password changed meanwhile wins; then
   * `stored` is answered, which `Sessions.start` finds out of date). When the server is too busy
   * hashing (`PasswordHashing`), or its client left while the rehash waited, `stored` is answered
   * too: the sign-in is proved, and the rehash waits for the account's next one rather than
   * refusing this one.
   */
  private async rehashed(userId: string, stored: string, password: string, from: HashRequester): Promise<string> {
    if (!this.parts.hashing.needsRehash(stored)) return stored;
    let fresh: string;
    try {
      fresh = await this.parts.hashing.hash(password, from);
    } catch (error) {
      if (isPasswordHashingBusy(error) || isPasswordHashClientGone(error)) return stored;
      throw error;
    }
    return (await this.parts.users.rehash(userId, stored, fresh)) ? fresh : stored;
  }

  /**
   * Mails a reset link when `login` names an account, within the account's hourly budget of reset
   * mails. Nothing is done before the answer on `reply` has gone out: the look-up, the budget, the
   * token and the mail all run after it (`AfterAnswer`), so the answer, its status and the work
   * done before it are the same whether the account exists, and whether its budget is spent.
   * Doing equal work either way was the other choice, but a mail cannot be imitated for a name
   * that has no address, and every later change would have to keep the two paths level.
   */
  requestReset(reply: FastifyReply, login: string, compose: ComposeResetMail, logger: ResetLogger): void {
    this.parts.afterAnswer.afterReply(reply, () => this.mailResetLink(login, compose, logger));
  }

  /** The work of a reset request, done after its answer (see `requestReset`). */
  private async mailResetLink(login: string, compose: ComposeResetMail, logger: ResetLogger): Promise<void> {
    const user = await this.parts.users.findByLogin(login);
    if (!user) return;
    if (!(await this.parts.resetMailBudget.take(user.id))) {
      // No login, address or id in the line: a log reader learns only that someone was refused.
      logger.info({}, 'password reset mail not sent: the account has had its reset mails for this hour');
      return;
    }
    const token = await this.parts.resets.issue(user.id, this.parts.clock.now());
    // Seconds, for the page to say in words (`lifetimeWords`): whole minutes said "1 minutes" and
    // rounded 90 s up to "2 minutes", more time than the link has.
    const mail = compose(user, token, Math.floor(this.parts.resetTtlMs / 1000));
    this.parts.afterAnswer.track(this.parts.mailer.send({ to: user.email, ...mail }).catch((error: unknown) => logger.warn({ err: { message: (error as Error).message } }, 'password reset mail could not be sent')));
  }

  /**
   * Changes the password of signed-in `user` after checking `current`, which counts against the
   * same failure budgets as a sign-in (a stolen session must not become a way to guess the
   * password). Ends every session and reset link of the account; the caller starts a new session
   * for this browser, with the new hash this returns (see `Sessions.start`). `from`: as
   * `signIn`'s. `device`: the trusted
   * device the request comes from (`DeviceCookies.deviceOf` for `user`), counted as a sign-in's.
   * An account deleted while this runs (another tab, another device) is a 401
   * `current_password_wrong`, as when it is gone before the check: nothing is changed.
   * `disconnect`: end the devices and apps connected to the account too (`writePassword`).
   */
  async changePassword(user: User, current: string, next: string, from: HashRequester, device?: string, disconnect = false): Promise<PasswordWritten> {
    await this.confirmPassword(user, current, from, device);
    validatePassword(next);
    const passwordHash = await this.parts.hashing.hash(next, from);
    const written = await this.writePassword(user.id, passwordHash, disconnect);
    if (!written) throw currentPasswordWrong();
    return written;
  }

  /**
   * Writes `passwordHash` as the account's password and, in the same transaction, ends every
   * session and reset link of the account (so none still passes once the new password is written:
   * an accept or a device approval checked in between was made under the old one) and, with
   * `disconnect`, what every other door connected to it (`PasswordChangeHooks`: the device door's
   * token families, the access door's app accesses), since whoever knew the old password may have
   * connected a device or an app of their own with it, which would outlive the new password.
   * Undefined when the account is gone.
   */
  private async writePassword(userId: string, passwordHash: string, disconnect: boolean): Promise<PasswordWritten | undefined> {
    const now = this.parts.clock.now();
    const written = await this.parts.users.setPasswordHashAnd(userId, passwordHash, async (trx) => {
      await this.parts.sessions.endAll(userId, trx);
      await this.parts.resets.endAll(userId, trx);
      return disconnect ? this.parts.passwordChangeHooks.run(trx, userId, now) : undefined;
    });
    return written && { passwordHash, disconnected: written.also };
  }

  /**
   * Deletes the account of signed-in `user` after checking its password (budgeted like a
   * sign-in): with it go its sessions, reset links, app accesses and their tokens. Other doors'
   * guards run in the deleting transaction (`AccountDeletionGuards`): one may refuse with
   * `AccountDeletionRefused` (409), and then nothing is deleted. `from` and `device`: as `changePassword`'s.
   */
  async deleteAccount(user: User, password: string, from: HashRequester, device?: string): Promise<void> {
    await this.confirmPassword(user, password, from, device);
    await this.parts.users.delete(user.id, (trx) => this.parts.deletionGuards.check(trx, user.id));
  }

  /**
   * Throws 401 `current_password_wrong` (counted as a failed sign-in) unless `password` is the user's.
   * From a trusted `device` it is counted on the device's budget, as its sign-ins are (`SignInLimits`):
   * else whoever spends the account's from elsewhere keeps its signed-in owner from changing the
   * password, the way out of their guessing, or deleting the account.
   */
  private async confirmPassword(user: User, password: string, from: HashRequester, device?: string): Promise<void> {
    const confirmed = await this.parts.limits.check({ accountId: user.id, ...(device !== undefined ? { device } : {}) }, from.network, async () => {
      // By id: by name, an account deleted meanwhile and another registered under its name would
      // have had the newcomer's password checked.
      const stored = await this.parts.users.passwordHashOf(user.id);
      return stored !== undefined && password.length <= 1024 && (await this.parts.hashing.verify(password, stored, from)) ? stored : undefined;
    });
    if (!confirmed) throw currentPasswordWrong();
  }

  /**
   * Sets a new password with a reset token (once); ends every session and every other reset link
   * of the account, and every device and app connected to it (`writePassword`: a reset is what a
   * person does who fears their password is known), and forgets its failed sign-ins (see
   * `SignInLimits.forgetAccount`). What the other doors ended, or false for
   * a token that is unknown, spent or expired, and for one whose account was deleted meanwhile
   * (while the new password was hashed, or after the token was spent): a link to no account is dead.
   * `from`: as `register`'s.
   */
  async resetPassword(token: string, password: string, from: HashRequester): Promise<Disconnected[] | false> {
    validatePassword(password);
    // Hashed before the token is spent, so a hash refused for a busy server (503) leaves the link
    // working; and only for a live token, so a dead one costs no hash.
    if ((await this.parts.resets.liveUserId(token, this.parts.clock.now())) === undefined) return false;
    const passwordHash = await this.parts.hashing.hash(password, from);
    const userId = await this.parts.resets.spend(token, this.parts.clock.now());
    if (!userId) return false;
    const written = await this.writePassword(userId, passwordHash, true);
    if (!written) return false;
    await this.parts.limits.forgetAccount(userId);
    return written.disconnected ?? [];
  }
}

/** A current password that is not the account's, or an account that is gone: 401, as one answer. */
function currentPasswordWrong(): UnauthorizedError {
  return new UnauthorizedError('The current password is wrong.', 'current_password_wrong');
}

/**
 * The accounts of each running server, keyed by the server's `pairgate` services object, which
 * every encapsulated door plugin shares: this is how `requireUser(request)` needs nothing else.
 */
const registry = new WeakMap<object, Accounts>();

/** Records the accounts of the server `services` belongs to (done by the accounts door). */
export function registerAccounts(services: object, accounts: Accounts): void {
  registry.set(services, accounts);
}

/** The accounts of the server that received `request` (or of `{ server }`, for tests and tools). */
export function accountsOf(request: Pick<FastifyRequest, 'server'>): Accounts {
  const accounts = registry.get(request.server.pairgate);
  if (!accounts) throw new Error('the accounts door is not enabled on this server');
  return accounts;
}

/** The signed-in user of `request`, if any. */
export async function currentUser(request: FastifyRequest): Promise<User | undefined> {
  const accounts = accountsOf(request);
  return accounts.parts.sessions.current(request, accounts.parts.clock.now());
}

/**
 * The token of this request's sign-in session (see `Sessions.token`): with `currentUser` saying it
 * is live, a secret only this browser holds.
 */
export function sessionToken(request: FastifyRequest): string | undefined {
  return accountsOf(request).parts.sessions.token(request);
}

/** A sign-in that a form refused: its status, machine code and the message key the form shows. */
export interface SignInRefusal {
  status: 401 | 429 | 503;
  /** `signin_failed`, `rate_limited` (a budget or the network's attempts), `password_hashing_busy` or `password_hashing_network_busy`. */
  code: string;
  messageKey: 'signin.failed' | 'signin.limited' | 'signin.tooMany' | 'error.password_hashing_busy' | 'error.password_hashing_network_busy';
  /** For a 429 or 503: how long until this sign-in may be tried again. */
  retryAfterSeconds?: number;
  /** For a 429 of a failure budget: whether the name's budget or the network's is spent. */
  budget?: SpentBudget;
}

/** What a form says of a hash the gate refused at once: the server busy, or the person's network. */
export function busyMessageKey(error: PairgateError): 'error.password_hashing_busy' | 'error.password_hashing_network_busy' {
  return error.code === PASSWORD_HASHING_NETWORK_BUSY ? 'error.password_hashing_network_busy' : 'error.password_hashing_busy';
}

/**
 * What a sign-in form says of `refusal`, in `lang`: for a spent budget or the network's attempts,
 * when to try again ("Try again in 15 minutes."), since "later" leaves a person guessing and failing again.
 */
export function signInRefusalText(refusal: SignInRefusal, lang: Lang): string {
  const t = translator(lang);
  if (refusal.status !== 429 || refusal.retryAfterSeconds === undefined) return t(refusal.messageKey);
  const wait = waitWords(refusal.retryAfterSeconds, lang);
  if (refusal.messageKey === 'signin.tooMany') return t('signin.tooMany', { wait });
  // A reset lifts the name's budget (SignInLimits.forgetAccount), not the network's.
  return t(refusal.budget === 'account' ? 'signin.limitedAccount' : 'signin.limitedWait', { wait });
}

/**
 * Signs in from a form (any door's sign-in form) and starts the session on `reply`. A wrong password,
 * a spent sign-in budget, too many sign-ins from the network or a server too busy hashing passwords
 * is a refusal for the form to show (429 and 503 also set Retry-After), not an
 * error; anything else throws. Undefined when signed in. A browser with a device cookie of the
 * account is counted as that trusted device (`SignInLimits`); a sign-in gives the browser a fresh
 * one (`DeviceCookies.issue`). Every sign-in form posts to one of `SIGN_IN_PATHS`, among the cookie's paths.
 */
export async function signInFromForm(request: FastifyRequest, reply: FastifyReply, login: string, password: string): Promise<SignInRefusal | undefined> {
  const accounts = accountsOf(request);
  const { clock, devices, sessions } = accounts.parts;
  try {
    const { user, passwordHash } = await accounts.authenticate(login, password, hashRequesterOf(request), (account) => devices.deviceOf(request, account, clock.now()));
    // The password changed while it was checked: it is no longer the account's (see Sessions.start).
    if (!(await sessions.start(request, reply, user.id, clock.now(), passwordHash))) throw new UnauthorizedError('Wrong username or password.', 'signin_failed');
    devices.issue(reply, { id: user.id, passwordHash }, clock.now());
    return undefined;
  } catch (error) {
    if (!isPairgateError(error)) throw error;
    if (error.status === 401) return { status: 401, code: error.code, messageKey: 'signin.failed' };
    const retryAfterSeconds = Number(error.details?.retryAfterSeconds ?? 60);
    if (isPasswordHashingBusy(error)) {
      reply.header('retry-after', String(retryAfterSeconds));
      return { status: 503, code: error.code, messageKey: busyMessageKey(error), retryAfterSeconds };
    }
    if (error.status !== 429) throw error;
    reply.header('retry-after', String(retryAfterSeconds));
    if (error.details?.limit === ATTEMPTS_LIMIT) return { status: 429, code: error.code, messageKey: 'signin.tooMany', retryAfterSeconds };
    const budget = error.details?.budget === 'account' || error.details?.budget === 'network' ? error.details.budget : undefined;
    return { status: 429, code: error.code, messageKey: 'signin.limited', retryAfterSeconds, ...(budget ? { budget } : {}) };
  }
}

/** Methods that change nothing, which any site may cause a browser to send. */
const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);

/**
 * Throws 403 `csrf_failed` when a browser says that a state-changing request does not come from
 * this origin (another site, or a sibling subdomain of the same site). The session cookie is SameSite=Lax and no CORS is granted, so such a request should never
 * carry it; this checks the browser's own word as well (Fetch Metadata, then Origin), after OWASP's
 * CSRF cheat sheet. Programs that send neither header (curl, the SDK) are not affected.
 */
export function assertSameOrigin(request: FastifyRequest): void {
  if (SAFE_METHODS.has(request.method)) return;
  const site = request.headers['sec-fetch-site'];
  const origin = request.headers.origin;
  let foreign: boolean;
  if (typeof site === 'string') foreign = site !== 'same-origin' && site !== 'none';
  else if (typeof origin === 'string') foreign = origin === 'null' || !URL.canParse(origin) || new URL(origin).host !== request.host;
  else foreign = false;
  if (foreign) throw new ForbiddenError('This request came from another site. Use pairgate\'s own pages to change your account.', 'csrf_failed');
}

/**
 * For other doors: the signed-in user of `request`, or a 401 `sign_in_required`; for requests that
 * change something, a 403 `csrf_failed` when a browser says they come from another site. Pages
 * that want to send the person to the sign-in page instead use `currentUser` and `signInUrl`.
 */
export async function requireUser(request: FastifyRequest): Promise<User> {
  assertSameOrigin(request);
  const user = await currentUser(request);
  if (!user) throw new UnauthorizedError('Sign in first.', 'sign_in_required');
  return user;
}

/**
 * The sign-in page that comes back to `next` (a local path) afterwards; with `lang` (the language the
 * person asked for by `?lang=`), both pages keep it, rather than falling back to Accept-Language.
 */
export function signInUrl(next: string, lang?: Lang): string {
  if (!lang) return `/account/signin?next=${encodeURIComponent(next)}`;
  return `/account/signin?next=${encodeURIComponent(`${next}${next.includes('?') ? '&' : '?'}lang=${lang}`)}&lang=${lang}`;
}

/** `next` when it is a path on this server, else `fallback`: sign-in never redirects elsewhere. */
export function safeNext(next: unknown, fallback = '/account/accesses'): string {
  return localPath(next) ?? fallback;
}
