/** Row types of the device door's tables, merged into the durable schema. Times are ms since the epoch. */

/** An access token issued through the device grant. Only its SHA-256 is kept. */
export interface DeviceAccessTokenRow {
  token_hash: string;
  client_id: string;
  user_id: string;
  /** Space-separated granted scope ('' for none). */
  scope: string;
  /** The device authorization it was issued for (for audit). */
  grant_id: string;
  /** The client's registration it was issued under (DeviceClientRow.registration_id); null for a configured client. */
  registration_id: string | null;
  created_at: number | string;
  expires_at: number | string;
}

/** A client registered through the admin API (configured clients are not stored). */
export interface DeviceClientRow {
  client_id: string;
  name: string;
  /** Space-separated scope tokens it may ask for ('' for none at all); null = any scope. */
  scopes: string | null;
  /** Random per registration: a client deleted and registered again gets a new one. */
  registration_id: string;
  created_at: number | string;
  updated_at: number | string;
}

declare module '../../store/durable-schema.js' {
  interface Database {
    device_access_tokens: DeviceAccessTokenRow;
    device_clients: DeviceClientRow;
  }
}
