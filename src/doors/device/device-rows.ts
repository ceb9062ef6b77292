/** Row types of the device door's table, merged into the durable schema. Times are ms since the epoch. */

/** An access token issued through the device grant. Only its SHA-256 is kept. */
export interface DeviceAccessTokenRow {
  token_hash: string;
  client_id: string;
  user_id: string;
  /** Space-separated granted scope ('' for none). */
  scope: string;
  /** The device authorization it was issued for (for audit). */
  grant_id: string;
  created_at: number | string;
  expires_at: number | string;
}

declare module '../../store/durable-schema.js' {
  interface Database {
    device_access_tokens: DeviceAccessTokenRow;
  }
}
