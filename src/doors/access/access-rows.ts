/** Row types of the app-access tables, merged into the durable schema. Times are ms since the epoch. */

/** An app's access to a user's account. */
export interface AppAccessRow {
  id: string;
  user_id: string;
  app_id: string;
  /** '' when the request named no device (so the unique index treats it as a value). */
  device_name: string;
  /** JSON array of permissions. */
  permissions: string;
  created_at: number | string;
  updated_at: number | string;
  expires_at: number | string | null;
}

/**
 * A token of an access; several when the same app signs in again or from several places, at most
 * `MAX_TOKENS_PER_ACCESS` settled ones (its newest: `AppAccesses.settle`). Hash only.
 */
export interface AppAccessTokenRow {
  token_hash: string;
  access_id: string;
  created_at: number | string;
  /**
   * 1 while the accept that wrote it may still lose (not recorded yet), 0 once it won: the cap
   * counts and revokes settled tokens only (`AppAccesses.settle`).
   */
  pending: number;
}

declare module '../../store/durable-schema.js' {
  interface Database {
    app_accesses: AppAccessRow;
    app_access_tokens: AppAccessTokenRow;
  }
}
