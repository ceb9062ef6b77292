/** Row types of the accounts tables, merged into the durable schema. Times are ms since the epoch. */

/** A registered person. */
export interface UserRow {
  id: string;
  username: string;
  email: string;
  password_hash: string;
  created_at: number | string;
}

/** A sign-in session; the cookie holds the token, the row only its hash. */
export interface SessionRow {
  token_hash: string;
  user_id: string;
  created_at: number | string;
  expires_at: number | string;
  /**
   * When the session was last used, refreshed at most once a minute (`Sessions.current`); it ends
   * once unused for PAIRGATE_SESSION_IDLE_SECONDS. Null only in a row a node of an earlier version
   * wrote, read as `created_at`.
   */
  last_seen_at: number | string | null;
}

/** A password-reset link; single use (`used_at`), expiring, stored hashed. */
export interface PasswordResetRow {
  token_hash: string;
  user_id: string;
  created_at: number | string;
  expires_at: number | string;
  used_at: number | string | null;
}

declare module '../../store/durable-schema.js' {
  interface Database {
    users: UserRow;
    account_sessions: SessionRow;
    password_resets: PasswordResetRow;
  }
}
