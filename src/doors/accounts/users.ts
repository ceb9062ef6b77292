import { ConflictError, InvalidRequestError } from '../../core/errors.js';
import { hashToken, randomId } from '../../core/ids.js';
import type { DurableDb } from '../../store/durable-schema.js';
import { supportsRowLocks } from '../../store/sql/advisory-lock.js';
import { hasUnshowableText, unshowableRule } from '../shared/shown-text.js';
import type { UserRow } from './account-rows.js';
import './account-rows.js';

/** A registered person, as the rest of pairgate sees it (never the password hash). */
export interface User {
  id: string;
  username: string;
  email: string;
  createdAt: number;
}

/** Usernames: lowercase letters, digits and hyphens, 5-60 characters, not starting or ending with `-`. */
export const USERNAME_PATTERN = /^[a-z0-9](?:[a-z0-9-]{3,58})[a-z0-9]$/;
/**
 * A pragmatic e-mail check: one @, a dot in the domain, and none of the characters that mail
 * headers read as syntax (`,` `;` `<` `>` `(` `)` `[` `]` `:` `"` `\`) nor spaces or control
 * characters. `a,victim@example.com` is one address to this page but a list to a mailer, which
 * would send the account's reset links to `victim@example.com`.
 */
const EMAIL_PATTERN = /^[^\s@,;<>()[\]:"\\\p{Cc}]{1,64}@[^\s@,;<>()[\]:"\\\p{Cc}]+\.[^\s@,;<>()[\]:"\\\p{Cc}]{2,}$/u;
/** Shortest accepted password. */
export const MIN_PASSWORD_LENGTH = 8;
/** Longest accepted password (scrypt takes any length; this bounds the work per request). */
export const MAX_PASSWORD_LENGTH = 200;

/**
 * Names that would collide with pairgate's own top-level paths: a user's API endpoint is
 * `<base>/<username>/`, so these can never be usernames (an account named `session` was answered
 * by the support origin). test/doors/accounts/reserved-usernames.test.ts checks every door's paths.
 */
const RESERVED = new Set([
  'access', 'account', 'accounts', 'static', 'service', 'docs', 'api', 'metrics', 'healthz', 'readyz', 'admin', 'oauth', 'device', 'register', 'reset', 'signin', 'login', 'users',
  'session', 'sessions', 'support', 'relay', 'pairing', 'agent', 'config', 'mattermost', 'webhook', 'integrations', 'organizations', 'boxes', 'ping',
]);

/**
 * An e-mail address (or a login that may be one) as it is stored and looked up: trimmed, lower
 * case, and in Unicode NFC, so that `josé@…` typed with a precomposed é (as most keyboards do) and
 * with e + a combining accent (as some systems and pastes do) are the one account, not two that
 * look alike. Usernames are ASCII, which NFC leaves as they are.
 */
export function normaliseLogin(login: string): string {
  return login.trim().toLowerCase().normalize('NFC');
}

function toUser(row: UserRow): User {
  return { id: row.id, username: row.username, email: row.email, createdAt: Number(row.created_at) };
}

/**
 * Checks registration input; throws a 400 naming the field at fault. Every field is checked, in
 * the form's order, so that a person fixes them in one go: the error is the first field's, and
 * `details.also` lists the others (`{field, error, message}`).
 */
export function validateRegistration(input: { username: string; email: string; password: string }): { username: string; email: string } {
  const username = input.username.trim().toLowerCase();
  const email = normaliseLogin(input.email);
  const problems: InvalidRequestError[] = [];
  const emailProblem = emailProblemOf(email);
  if (emailProblem) problems.push(emailProblem);
  if (!USERNAME_PATTERN.test(username) || RESERVED.has(username)) {
    problems.push(new InvalidRequestError('The username must be 5 to 60 characters of a-z, 0-9 and -, and not a reserved word.', { field: 'username' }, 'invalid_username'));
  }
  try {
    validatePassword(input.password);
  } catch (error) {
    problems.push(error as InvalidRequestError);
  }
  const [first, ...rest] = problems;
  if (!first) return { username, email };
  if (rest.length === 0) throw first;
  const also = rest.map((problem) => ({ field: problem.details?.field, error: problem.code, message: problem.message }));
  throw new InvalidRequestError(first.message, { ...first.details, also }, first.code);
}

/**
 * Why `email` (as `normaliseLogin` reads it) cannot be an account's address, if it cannot: a 400
 * `invalid_email` on the `email` field. An address holding a character that shows as nothing or
 * turns text around (a zero-width space, U+202E, any other format or control character:
 * shown-text.ts's strict rule, the one app ids follow) is refused with `reason: 'hidden_characters'`
 * and words that say so, since "not valid" of an address that looks right on the screen leaves the
 * person nowhere: `ali\u200bce@…` looks like `alice@…` on every page and in every mail client, and
 * `alice\u202e@…` shows its domain reversed, so the address read is not where the mail goes.
 */
function emailProblemOf(email: string): InvalidRequestError | undefined {
  if (hasUnshowableText(email, true)) {
    return new InvalidRequestError(`The e-mail address must not contain ${unshowableRule(true)}. Type it again rather than pasting it.`, { field: 'email', reason: 'hidden_characters' }, 'invalid_email');
  }
  if (email.length > 254 || !EMAIL_PATTERN.test(email)) return new InvalidRequestError('The e-mail address is not valid.', { field: 'email' }, 'invalid_email');
  return undefined;
}

/** Throws a 400 unless the password has an acceptable length. */
export function validatePassword(password: string): void {
  if (password.length < MIN_PASSWORD_LENGTH || password.length > MAX_PASSWORD_LENGTH) {
    throw new InvalidRequestError(`The password must have ${MIN_PASSWORD_LENGTH} to ${MAX_PASSWORD_LENGTH} characters.`, { field: 'password' }, 'invalid_password');
  }
}

/** The users table. */
export class UserStore {
  constructor(private readonly db: DurableDb) {}

  /** Creates a user; a taken username or e-mail is one 409 that does not say which. */
  async create(input: { username: string; email: string; passwordHash: string }, now: number): Promise<User> {
    const row: UserRow = { id: randomId(), username: input.username, email: input.email, password_hash: input.passwordHash, created_at: now };
    try {
      await this.db.insertInto('users').values(row).execute();
    } catch (error) {
      if (/unique|duplicate/i.test(String((error as Error).message))) {
        throw new ConflictError('This username or e-mail address is already registered.', 'account_exists');
      }
      throw error;
    }
    return toUser(row);
  }

  /** The user by username, or by e-mail when `login` contains `@` (the seed turns e-mail into username first). */
  async findByLogin(login: string): Promise<(User & { passwordHash: string }) | undefined> {
    const value = normaliseLogin(login);
    if (!value || value.length > 254) return undefined;
    const row = await this.db.selectFrom('users').selectAll().where(value.includes('@') ? 'email' : 'username', '=', value).executeTakeFirst();
    return row ? { ...toUser(row), passwordHash: row.password_hash } : undefined;
  }

  /** The user with this id. */
  async findById(id: string): Promise<User | undefined> {
    const row = await this.db.selectFrom('users').selectAll().where('id', '=', id).executeTakeFirst();
    return row ? toUser(row) : undefined;
  }

  /**
   * Deletes a user. Their sessions, reset links, app accesses and access tokens go with them
   * (foreign keys ON DELETE CASCADE). With `guard`, in one transaction: the user's row is locked
   * first (PostgreSQL: `FOR UPDATE`, so no row naming the user, such as a new membership, can be
   * written until it ends; SQLite's transaction is serial), then `guard` runs (it may throw to keep
   * the user), then the delete. True when the user existed.
   */
  async delete(id: string, guard?: (trx: DurableDb) => Promise<void>): Promise<boolean> {
    if (!guard) return this.deleteIn(this.db, id);
    return this.db.transaction().execute(async (trx) => {
      if (supportsRowLocks(this.db)) await trx.selectFrom('users').select('id').where('id', '=', id).forUpdate().execute();
      await guard(trx);
      return this.deleteIn(trx, id);
    });
  }

  /** The delete itself, on `db` or inside a transaction. */
  private async deleteIn(db: DurableDb, id: string): Promise<boolean> {
    const result = await db.deleteFrom('users').where('id', '=', id).executeTakeFirst();
    return Number(result.numDeletedRows) > 0;
  }

  /**
   * Replaces a user's password hash with `fresh` only while it is still `stored` (a rehash at a new
   * cost must not undo a password changed meanwhile). True when it did.
   */
  async rehash(id: string, stored: string, fresh: string): Promise<boolean> {
    const result = await this.db.updateTable('users').set({ password_hash: fresh }).where('id', '=', id).where('password_hash', '=', stored).executeTakeFirst();
    return Number(result.numUpdatedRows) === 1;
  }

  /** The password hash of the user with this id, undefined when there is none. */
  async passwordHashOf(id: string): Promise<string | undefined> {
    const row = await this.db.selectFrom('users').select('password_hash').where('id', '=', id).executeTakeFirst();
    return row?.password_hash;
  }

  /**
   * The stamp of the user's password now: the SHA-256 of its hash (salt included), which changes
   * with every new password and tells nothing of it. A door that records it when the person
   * approves something, and compares it when that is used, refuses an approval the password
   * outlived. `settled`: on PostgreSQL, waits for a password change under way (its transaction
   * holds the row) and reads what it wrote, so a reader that wrote its tokens first either has them
   * deleted by the change or sees the new stamp. Undefined when there is no such user.
   */
  async passwordStampOf(id: string, settled = false): Promise<string | undefined> {
    let query = this.db.selectFrom('users').select('password_hash').where('id', '=', id);
    if (settled && supportsRowLocks(this.db)) query = query.forShare();
    const row = await query.executeTakeFirst();
    return row === undefined ? undefined : hashToken(row.password_hash);
  }

  /**
   * Replaces a user's password hash and, in the same transaction, runs `also` (the account's
   * sessions and reset links ended, and other doors ending what the old password let connect:
   * `PasswordChangeHooks`), so the new password is never
   * written without it, nor it without the password, whatever stops the process. The update comes
   * first: on PostgreSQL it holds the user's row until the commit. Undefined (nothing written, `also`
   * not run) when there is no such user (deleted while its new password was being checked or
   * hashed): nothing was written, and nothing is to be called done.
   */
  async setPasswordHashAnd<T>(id: string, passwordHash: string, also: (trx: DurableDb) => Promise<T>): Promise<{ also: T } | undefined> {
    return this.db.transaction().execute(async (trx) => {
      const result = await trx.updateTable('users').set({ password_hash: passwordHash }).where('id', '=', id).executeTakeFirst();
      if (Number(result.numUpdatedRows) !== 1) return undefined;
      return { also: await also(trx) };
    });
  }
}
