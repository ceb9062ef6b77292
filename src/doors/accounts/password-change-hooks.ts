import type { DurableDb } from '../../store/durable-schema.js';
import { translator, type Lang } from './i18n.js';

/**
 * What a door ended of an account when its password changed: how many (devices, app accesses),
 * and those words in a page's language ("3 devices", "2 apps"), worded by the door from its own
 * catalogue, so the accounts door says "We disconnected 3 devices and 2 apps" knowing nothing of
 * either.
 */
export interface Disconnected {
  count: number;
  words: (lang: Lang) => string;
}

/**
 * What another door does when an account gets a new password and whatever it connected is to end
 * with the old one (a reset by mailed link always, a change when the person asks): it ends what
 * it holds of account `userId` (tokens that open the account without its password) inside the
 * transaction `trx` that writes the new password, so both are written or neither is, and counts
 * what was connected at `now`.
 */
export type PasswordChangeHook = (trx: DurableDb, userId: string, now: number) => Promise<Disconnected>;

/**
 * The password-change hooks of one server, which other doors register into (so the accounts door
 * imports none of them), as `AccountDeletionGuards`. Run in the order added.
 */
export class PasswordChangeHooks {
  private readonly hooks: PasswordChangeHook[] = [];

  /** Adds `hook`, run at every password change of this server that disconnects, from now on. */
  add(hook: PasswordChangeHook): void {
    this.hooks.push(hook);
  }

  /** Runs every hook in `trx`; what each ended, in the order added. */
  async run(trx: DurableDb, userId: string, now: number): Promise<Disconnected[]> {
    const ended: Disconnected[] = [];
    for (const hook of this.hooks) ended.push(await hook(trx, userId, now));
    return ended;
  }
}

/**
 * What a page says of `disconnected` in `lang`: "We also disconnected 3 devices and 2 apps: …", the
 * doors' words joined as the language joins a list (`Intl.ListFormat`), those that ended nothing
 * left out; that nothing was connected when none ended anything; undefined when the person kept
 * their devices and apps (`disconnected` undefined).
 */
export function disconnectedText(disconnected: Disconnected[] | undefined, lang: Lang): string | undefined {
  if (disconnected === undefined) return undefined;
  const t = translator(lang);
  const ended = disconnected.filter((door) => door.count > 0).map((door) => door.words(lang));
  if (ended.length === 0) return t('password.disconnectedNone');
  return t('password.disconnected', { list: new Intl.ListFormat(lang, { type: 'conjunction' }).format(ended) });
}

/** `count` things in `lang`, as a door's catalogue words them under `key.one` and `key.other` ("1 device", "3 devices"). */
export function countWords(say: (key: string, params: Record<string, unknown>) => string, key: string, count: number, lang: Lang): string {
  return say(`${key}.${new Intl.PluralRules(lang).select(count) === 'one' ? 'one' : 'other'}`, { count });
}

/** The hooks of each running server, keyed by its `pairgate` services object (as `accountDeletionGuards`). */
const registry = new WeakMap<object, PasswordChangeHooks>();

/**
 * The password-change hooks of the server `services` belongs to (`app.pairgate`), made on first
 * use, so a door may register before or after the accounts door.
 */
export function passwordChangeHooks(services: object): PasswordChangeHooks {
  let hooks = registry.get(services);
  if (!hooks) registry.set(services, (hooks = new PasswordChangeHooks()));
  return hooks;
}
