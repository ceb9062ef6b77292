import { hashToken, randomToken } from '../../core/ids.js';
import type { DurableDb } from '../../store/durable-schema.js';
import { deleteInBatches } from '../../store/sql/batched-delete.js';
import './account-rows.js';

/**
 * Password-reset tokens: 256-bit random, stored hashed, expiring, and spent by one conditional
 * UPDATE so that of concurrent uses exactly one succeeds.
 */
export class PasswordResets {
  constructor(private readonly db: DurableDb, private readonly ttlMs: number) {}

  /** Issues a token for `userId`; the clear token exists only in the mail. */
  async issue(userId: string, now: number): Promise<string> {
    const token = randomToken();
    await this.db.insertInto('password_resets').values({ token_hash: hashToken(token), user_id: userId, created_at: now, expires_at: now + this.ttlMs, used_at: null }).execute();
    return token;
  }

  /** True when `token` is live and unused (to show the form); does not spend it. */
  async isLive(token: string, now: number): Promise<boolean> {
    return (await this.liveUserId(token, now)) !== undefined;
  }

  /**
   * The user id of `token` when it is live and unused, else undefined; does not spend it. The form
   * names the account to password managers, which file the new password under it.
   */
  async liveUserId(token: string, now: number): Promise<string | undefined> {
    const row = await this.db.selectFrom('password_resets').select('user_id').where('token_hash', '=', hashToken(token)).where('used_at', 'is', null).where('expires_at', '>', now).executeTakeFirst();
    return row?.user_id;
  }

  /** Spends `token`: its user id if it was live and unused, else undefined. Works once. */
  async spend(token: string, now: number): Promise<string | undefined> {
    const tokenHash = hashToken(token);
    const result = await this.db.updateTable('password_resets').set({ used_at: now }).where('token_hash', '=', tokenHash).where('used_at', 'is', null).where('expires_at', '>', now).executeTakeFirst();
    if (Number(result.numUpdatedRows) !== 1) return undefined;
    const row = await this.db.selectFrom('password_resets').select('user_id').where('token_hash', '=', tokenHash).executeTakeFirst();
    return row?.user_id;
  }

  /**
   * Deletes every token of `userId`, used or not: once the password has changed, a link mailed
   * for the old one (perhaps to a mailbox someone else reads) must not set it again.
   */
  async endAll(userId: string, db: DurableDb = this.db): Promise<void> {
    await db.deleteFrom('password_resets').where('user_id', '=', userId).execute();
  }

  /**
   * Deletes expired tokens, used or not (a spent one goes at once with the others of its account:
   * `endAll`), a batch at a time (`deleteInBatches`).
   */
  async sweep(now: number): Promise<void> {
    await deleteInBatches(this.db, { table: 'password_resets', key: 'token_hash', where: (eb) => eb('expires_at', '<=', now) });
  }
}
