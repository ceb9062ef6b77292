import { ConflictError } from '../../core/errors.js';
import type { DurableDb } from '../../store/durable-schema.js';
import type { Lang } from './i18n.js';

/**
 * Why an account may not be deleted now, as a door that holds something of it says: a 409 with
 * the door's stable machine code, an English message (logs, programs), and the sentence a page
 * shows, in the page's language (the door words it from its own catalogue: the accounts door
 * knows nothing of what it guards). `link` is the page where the person can lift the refusal.
 */
export class AccountDeletionRefused extends ConflictError {
  constructor(
    code: string,
    readonly text: (lang: Lang) => string,
    readonly link?: { href: string; text: (lang: Lang) => string },
    details?: Record<string, unknown>,
  ) {
    super(text('en'), code, details);
  }
}

/**
 * A check another door makes before an account is deleted: it throws `AccountDeletionRefused` to
 * keep the account. It runs inside the transaction that deletes the account (`trx`), after the
 * account's row is locked (on PostgreSQL; SQLite's transaction is serial), so it may lock its own
 * rows and read under them: nothing it read can change before the deletion commits.
 */
export type AccountDeletionGuard = (trx: DurableDb, userId: string) => Promise<void>;

/**
 * The account-deletion guards of one server, which other doors register into (so the accounts
 * door imports none of them). Run in the order added.
 */
export class AccountDeletionGuards {
  private readonly guards: AccountDeletionGuard[] = [];

  /** Adds `guard`, run before every account deletion of this server from now on. */
  add(guard: AccountDeletionGuard): void {
    this.guards.push(guard);
  }

  /** Runs every guard in `trx`; throws the first refusal. */
  async check(trx: DurableDb, userId: string): Promise<void> {
    for (const guard of this.guards) await guard(trx, userId);
  }
}

/** The guards of each running server, keyed by its `pairgate` services object (as `registerAccounts`). */
const registry = new WeakMap<object, AccountDeletionGuards>();

/**
 * The account-deletion guards of the server `services` belongs to (`app.pairgate`), made on first
 * use, so a door may register before or after the accounts door.
 */
export function accountDeletionGuards(services: object): AccountDeletionGuards {
  let guards = registry.get(services);
  if (!guards) registry.set(services, (guards = new AccountDeletionGuards()));
  return guards;
}
